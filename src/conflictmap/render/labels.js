/* conflictmap context labels: country, lake, district and town names. Our own code (MIT).
 *
 * Candidates arrive in priority order (countries, lakes, districts, towns by population), each
 * [text, lat, lon, class, minZoom]. After every move and every redraw of the events, they are
 * placed greedily in screen space: a label is skipped when its box meets a label already placed
 * or an event mark, so names never hide events or each other. Text is set with textContent.
 */
(function () {
  "use strict";

  var FONT = {country: "700 14px system-ui, sans-serif", lake: "italic 600 12px system-ui, sans-serif",
              district: "italic 11px system-ui, sans-serif", town: "12px system-ui, sans-serif"};
  var LINE = {country: 17, lake: 15, district: 14, town: 15};
  var PAD = 2, DOT = 3;  // px kept clear around a label; a town dot's radius

  function meets(a, b) {
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  }
  function grown(b, d) { return {x: b.x - d, y: b.y - d, w: b.w + 2 * d, h: b.h + 2 * d}; }

  function init(map, D) {
    var cm = window.conflictmap;  // the event layer's hook: its marks' boxes, its layer control
    function marks() { return (cm && cm.marks && cm.marks()) || []; }
    var ctx = document.createElement("canvas").getContext("2d"), widths = {};
    function width(text, cls) {
      var key = cls + "\n" + text;
      if (!(key in widths)) { ctx.font = FONT[cls]; widths[key] = Math.ceil(ctx.measureText(text).width); }
      return widths[key];
    }
    function controls() {  // a name under the panel or the legend is a name nobody reads
      var c = map.getContainer(), o = c.getBoundingClientRect();
      return Array.prototype.map.call(c.querySelectorAll(".leaflet-control"), function (k) {
        var r = k.getBoundingClientRect();
        return {x: r.left - o.left, y: r.top - o.top, w: r.width, h: r.height};
      });
    }
    var pane = map.getPane("cmLabels") || map.createPane("cmLabels");
    var placed = [];

    // where a label may go: centred on an area's label point; beside a town's dot
    function spots(cls, p, w, h) {
      if (cls !== "town") return [{x: p.x - w / 2, y: p.y - h / 2, w: w, h: h}];
      var g = DOT + 2;
      return [{x: p.x + g, y: p.y - h / 2, w: w, h: h}, {x: p.x - g - w, y: p.y - h / 2, w: w, h: h},
              {x: p.x - w / 2, y: p.y - g - h, w: w, h: h}, {x: p.x - w / 2, y: p.y + g, w: w, h: h}];
    }

    var Labels = L.Layer.extend({
      onAdd: function () {
        this._box = L.DomUtil.create("div", "cm-labels", pane);
        map.on("moveend zoomend resize viewreset cm:drawn", this.place, this);
        this.place();
      },
      onRemove: function () {
        L.DomUtil.remove(this._box);
        map.off("moveend zoomend resize viewreset cm:drawn", this.place, this);
        placed = [];
      },
      place: function () {
        var z = map.getZoom(), size = map.getSize(), view = {x: 0, y: 0, w: size.x, h: size.y};
        // density hexagons: country and lake names may lie over them, smaller names may not
        var all = marks(), bins = all.filter(function (b) { return b.kind === "bin"; });
        var taken = all.filter(function (b) { return b.kind !== "bin"; }).concat(controls())
          .map(function (b) { return grown(b, PAD); });
        function free(b, cls) {
          return !taken.some(function (t) { return meets(b, t); }) &&
            (cls === "country" || cls === "lake" || !bins.some(function (t) { return meets(b, t); }));
        }
        var out = [];
        var frag = document.createDocumentFragment();
        D.items.forEach(function (it) {
          var text = it[0], cls = it[3];
          if (it[4] > z) return;
          var p = map.latLngToContainerPoint([it[1], it[2]]);
          if (p.x < 0 || p.y < 0 || p.x > size.x || p.y > size.y) return;
          var label = cls === "country" ? text.toUpperCase() : text;
          var w = width(label, cls), h = LINE[cls];
          var dot = cls === "town" ? {x: p.x - DOT, y: p.y - DOT, w: 2 * DOT, h: 2 * DOT} : null;
          if (dot && !free(dot, cls)) return;
          var at = spots(cls, p, w, h).filter(function (b) {
            return b.x >= 0 && b.y >= 0 && b.x + b.w <= view.w && b.y + b.h <= view.h && free(b, cls);
          })[0];
          if (!at) return;
          taken.push(grown(at, PAD));
          if (dot) taken.push(dot);
          var lp = map.containerPointToLayerPoint([at.x, at.y]);
          var div = L.DomUtil.create("div", "cm-label cm-label-" + cls);
          div.textContent = label;
          div.style.font = FONT[cls]; div.style.lineHeight = h + "px";
          div.style.left = lp.x + "px"; div.style.top = lp.y + "px";
          frag.appendChild(div);
          if (dot) {
            var lq = map.containerPointToLayerPoint([dot.x, dot.y]);
            var d = L.DomUtil.create("div", "cm-town-dot");
            d.style.left = lq.x + "px"; d.style.top = lq.y + "px";
            frag.appendChild(d);
          }
          out.push({text: label, kind: cls, x: at.x, y: at.y, w: at.w, h: at.h});
        });
        this._box.textContent = "";
        this._box.appendChild(frag);
        placed = out;
      }
    });
    var layer = new Labels().addTo(map);
    if (cm && cm.layersControl) cm.layersControl.addOverlay(layer, "Place names");
    if (map.attributionControl && D.attribution) map.attributionControl.addAttribution(D.attribution);
    if (cm) cm.labels = function () { return placed.slice(); };
    return layer;
  }

  window.conflictmapLabels = init;
})();
