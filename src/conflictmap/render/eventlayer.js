/* conflictmap event layer, timeline and panels. Our own code (MIT, conflictmap).
 *
 * Reads the events once from compact columnar data and draws them onto one canvas: no Leaflet
 * object per event, so it scales to 100k. User text never goes through innerHTML: every label,
 * popup and list row is built with createElement + textContent.
 */
(function () {
  "use strict";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function escapeHtml(s) {  // only for Leaflet's layer control, which sets names as HTML
    return String(s).replace(/[&<>"'`]/g, function (c) {
      return "&#" + c.charCodeAt(0) + ";";
    });
  }
  function isHttp(url) { return typeof url === "string" && /^https?:\/\//i.test(url); }
  function link(url, text) {
    if (!isHttp(url)) return el("span", null, text);
    var a = el("a", null, text);
    a.href = url; a.target = "_blank"; a.rel = "noopener noreferrer";
    return a;
  }
  // One outline a type (set in map.py's TYPE_SHAPES), about the same ink as a circle of radius r
  function glyph(ctx, shape, x, y, r) {
    ctx.beginPath();
    var k, a, pts;
    if (shape === "square") {
      ctx.rect(x - 0.9 * r, y - 0.9 * r, 1.8 * r, 1.8 * r);
      return;
    }
    if (shape === "star") {
      for (k = 0; k < 10; k++) {
        a = -Math.PI / 2 + k * Math.PI / 5;
        var rr = k % 2 ? 0.6 * r : 1.4 * r;
        ctx[k ? "lineTo" : "moveTo"](x + rr * Math.cos(a), y + rr * Math.sin(a));
      }
      ctx.closePath();
      return;
    }
    pts = {diamond: [[0, -1.3], [1.3, 0], [0, 1.3], [-1.3, 0]],
           triangle: [[0, -1.35], [1.2, 0.8], [-1.2, 0.8]],
           "triangle-down": [[0, 1.35], [1.2, -0.8], [-1.2, -0.8]]}[shape];
    if (!pts) { ctx.arc(x, y, r, 0, 2 * Math.PI); return; }
    pts.forEach(function (p, i) { ctx[i ? "lineTo" : "moveTo"](x + p[0] * r, y + p[1] * r); });
    ctx.closePath();
  }
  function glyphKey(shape, color) {  // the legend's and filters' swatch: the map's own symbol
    var c = el("canvas", "cm-glyph"), dpr = window.devicePixelRatio || 1;
    c.width = c.height = Math.round(16 * dpr);
    c.setAttribute("data-shape", shape);
    var ctx = c.getContext("2d");
    ctx.scale(dpr, dpr);
    glyph(ctx, shape, 8, 8, 5);
    ctx.fillStyle = color; ctx.fill();
    ctx.lineWidth = 1; ctx.strokeStyle = "#333"; ctx.stroke();
    return c;
  }
  function addDays(iso, n) {
    var d = new Date(iso + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }
  function dayIndex(start, iso) {
    return Math.round((Date.parse(iso + "T00:00:00Z") - Date.parse(start + "T00:00:00Z")) / 864e5);
  }

  // Popup text is ~95% of the bytes: it ships gzip+base64 in chunks, decoded on first use.
  function decodeChunk(b64) {
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var k = 0; k < bin.length; k++) bytes[k] = bin.charCodeAt(k);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(JSON.parse);
  }

  // a ring on screen, large enough to mean something, not so large it veils the whole view
  function ringShown(x, y, r, size) {
    return r > 8 && r < 0.5 * Math.min(size.x, size.y) &&
      x + r > 0 && y + r > 0 && x - r < size.x && y - r < size.y;
  }
  var PREC_RADIUS_KM = {"site": 0, "settlement": 2, "near-settlement": 5, "district": 15,
                        "province": 40, "country": 0, "unspecified": 0};

  function init(map, D) {
    var E = D.events, N = E.id.length;
    var chunks = {}, blobLines = null;
    function blobLine(k) {  // the compressed parts sit one a line in a block that never runs
      if (!blobLines) blobLines = document.getElementById(D.blob_id).textContent.split("\n");
      return blobLines[k];
    }
    function popupData(i) {
      var k = Math.floor(i / D.popup_chunk);
      if (!chunks[k]) chunks[k] = decodeChunk(blobLine(k));
      return chunks[k].then(function (cols) {
        var j = i % D.popup_chunk, out = {};
        for (var name in cols) out[name] = cols[name][j];
        return out;
      });
    }
    var allTitles = null;
    function titleOf(i) {  // a promise: titles of large sets arrive compressed, decoded once
      if (E.title) return Promise.resolve(E.title[i]);
      if (!allTitles) allTitles = decodeChunk(blobLine(D.titles_line));
      return allTitles.then(function (t) { return t.title[i]; });
    }
    // positions in Web Mercator units (0..1), computed once; a redraw is then arithmetic
    var MX = new Float64Array(N), MY = new Float64Array(N);
    for (var q = 0; q < N; q++) {
      var sn = Math.sin(E.lat[q] * Math.PI / 180);
      MX[q] = (E.lon[q] + 180) / 360;
      MY[q] = 0.5 - Math.log((1 + sn) / (1 - sn)) / (4 * Math.PI);
    }
    var DAY = Int32Array.from(E.day), TYPE = Uint8Array.from(E.type);
    var STATUS = Uint8Array.from(E.status), VISIBLE = new Uint8Array(N);
    var state = {day: D.days - 1, windowDays: 0, selected: null,
                 types: {}, statuses: {}, hits: []};
    D.types.forEach(function (t) { state.types[t] = true; });
    D.statuses.forEach(function (s) { state.statuses[s] = true; });

    // ---------------------------------------------------------------- base and boundary layers
    var bases = {}, overlays = {};
    bases[D.basemaps.none.name] = L.layerGroup();
    Object.keys(D.basemaps).forEach(function (k) {
      var b = D.basemaps[k];
      if (k !== "none") bases[b.name] = L.tileLayer(b.url, {attribution: b.attribution,
                                                            maxZoom: b.max_zoom || 18});
    });
    bases[D.basemaps[D.initial_basemap].name].addTo(map);

    D.layers.forEach(function (lyr) {
      var s = lyr.style || {};
      var g = L.geoJSON(lyr.geojson, {
        style: function () {
          return {color: s.color || "#666", weight: s.weight || 1, dashArray: s.dash_array || null,
                  fillOpacity: s.fill_opacity !== undefined ? s.fill_opacity : 0,
                  fillColor: s.fill_color || s.color || "#666"};
        },
        onEachFeature: function (f, layer) {
          layer.bindTooltip(function () { return el("span", null, f.properties.name); },
                            {sticky: true});
        }
      }).addTo(map);
      g.eachLayer(function (l) {
        var p = l.getElement && l.getElement();
        if (p) { p.setAttribute("data-layer", lyr.name); p.setAttribute("data-kind", lyr.kind); }
      });
      var key = escapeHtml(lyr.title);  // equal titles must not hide one another
      if (overlays[key]) key += " [" + escapeHtml(lyr.name) + "]";
      overlays[key] = g;
    });

    // handed-over districts, filled by controller as of the selected date
    function controllerOn(area, day) {  // null: nothing known of that day
      var c = area.initial;
      for (var i = 0; i < area.changes.length; i++) {
        if (area.changes[i][0] <= day) c = area.changes[i][1];
      }
      return c;
    }
    var areaByName = {};
    D.areas.forEach(function (a) { areaByName[a.name] = a; });
    function areaStyle(f) {
      var c = controllerOn(areaByName[f.properties.name], state.day);
      return {color: "#333", weight: 1.5, fillOpacity: 0.3,  // light: symbols keep 3:1 on it
              fillColor: c === null ? D.controller_colors._unknown
                : D.controller_colors[c] || D.controller_colors._other};
    }
    var areas = L.geoJSON(D.area_geojson, {
      style: areaStyle,
      onEachFeature: function (f, layer) {
        layer.bindTooltip(function () {
          var a = areaByName[f.properties.name];
          var c = controllerOn(a, state.day);
          return el("span", null, f.properties.name + ": " + (c === null ? "controller unknown" : c) +
                    " (" + addDays(D.start, state.day) + ")");
        }, {sticky: true});
      }
    }).addTo(map);
    areas.eachLayer(function (l) {
      var p = l.getElement && l.getElement();
      if (p) p.setAttribute("data-area", l.feature.properties.name);
    });
    overlays[escapeHtml(D.area_title)] = areas;

    // ---------------------------------------------------------------- the event canvas
    var EventCanvas = L.Layer.extend({
      onAdd: function (m) {
        this._canvas = L.DomUtil.create("canvas", "cm-events");  // own pane, above the overlays
        (m.getPane("cmEvents") || m.createPane("cmEvents")).appendChild(this._canvas);
        m.on("moveend zoomend resize viewreset", this._reset, this);
        m.on("click", this._click, this);
        m.on("mousemove", this._hover, this);
        this._reset();
      },
      onRemove: function (m) {
        L.DomUtil.remove(this._canvas);
        m.off("moveend zoomend resize viewreset", this._reset, this);
        m.off("click", this._click, this);
        m.off("mousemove", this._hover, this);
        VISIBLE.fill(0); state.hits = [];
        m.fire("cm:drawn");
      },
      _reset: function () {
        var size = map.getSize(), dpr = window.devicePixelRatio || 1;
        L.DomUtil.setPosition(this._canvas, map.containerPointToLayerPoint([0, 0]));
        this._canvas.width = size.x * dpr; this._canvas.height = size.y * dpr;
        this._canvas.style.width = size.x + "px"; this._canvas.style.height = size.y + "px";
        this.redraw();
      },
      redraw: function () {
        var ctx = this._canvas.getContext("2d"), dpr = window.devicePixelRatio || 1;
        ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
        ctx.clearRect(0, 0, this._canvas.width, this._canvas.height);
        var size = map.getSize(), cell = D.cluster_px, margin = 2 * cell;
        var scale = 256 * Math.pow(2, map.getZoom()), po = map.getPixelOrigin();
        var tl = map.containerPointToLayerPoint([0, 0]);
        var ox = po.x + tl.x, oy = po.y + tl.y;
        var cols = Math.ceil((size.x + 2 * margin) / cell) + 1;
        var rows = Math.ceil((size.y + 2 * margin) / cell) + 1;
        var count = new Int32Array(cols * rows), first = new Int32Array(cols * rows);
        var sx = new Float64Array(cols * rows), sy = new Float64Array(cols * rows);
        var lo = state.windowDays > 0 ? state.day - state.windowDays + 1 : -2147483648;
        var typeOn = D.types.map(function (t) { return state.types[t] ? 1 : 0; });
        var statusOn = D.statuses.map(function (t) { return state.statuses[t] ? 1 : 0; });
        var used = [];
        VISIBLE.fill(0);
        for (var i = 0; i < N; i++) {
          var d = DAY[i];
          if (d > state.day || d < lo || !typeOn[TYPE[i]] || !statusOn[STATUS[i]]) continue;
          var x = MX[i] * scale - ox, y = MY[i] * scale - oy;
          if (x < -margin || y < -margin || x > size.x + margin || y > size.y + margin) continue;
          VISIBLE[i] = 1;
          var b = Math.floor((y + margin) / cell) * cols + Math.floor((x + margin) / cell);
          if (count[b] === 0) { first[b] = i; used.push(b); }
          count[b]++; sx[b] += x; sy[b] += y;
        }
        var hits = [], mpp = this._metresPerPixel(), drawn = 0;
        for (var u = 0; u < used.length; u++) {
          var bin = used[u], n = count[bin], bx = sx[bin] / n, by = sy[bin] / n;
          drawn += n;
          if (n > 1) {
            var r = 10 + Math.min(14, Math.log(n) * 3);
            ctx.beginPath(); ctx.arc(bx, by, r, 0, 2 * Math.PI);
            ctx.fillStyle = "rgba(40,40,40,0.78)"; ctx.fill();
            ctx.lineWidth = 2; ctx.strokeStyle = "#fff"; ctx.stroke();
            ctx.fillStyle = "#fff"; ctx.font = "bold 12px sans-serif";
            ctx.textAlign = "center"; ctx.textBaseline = "middle";
            ctx.fillText(n > 9999 ? Math.round(n / 1000) + "k" : String(n), bx, by);
            hits.push({x: bx, y: by, r: r, bin: bin, n: n});
            continue;
          }
          var j = first[bin], color = D.type_colors[TYPE[j]];
          var ring = PREC_RADIUS_KM[D.precisions[E.prec[j]]] * 1000 / mpp;
          if (ringShown(bx, by, ring, size)) {  // imprecise: the area it may be in, lightly
            ctx.beginPath(); ctx.arc(bx, by, ring, 0, 2 * Math.PI);
            ctx.fillStyle = color + "0d"; ctx.fill();
            ctx.setLineDash([4, 3]); ctx.lineWidth = 1; ctx.strokeStyle = color + "80"; ctx.stroke();
            ctx.setLineDash([]);
          }
          if (E.side[j]) {  // side of the border uncertain: a dashed red halo
            ctx.beginPath(); ctx.arc(bx, by, 11, 0, 2 * Math.PI);
            ctx.setLineDash([3, 2]); ctx.lineWidth = 2; ctx.strokeStyle = "#d7191c"; ctx.stroke();
            ctx.setLineDash([]);
          }
          glyph(ctx, D.type_shapes[TYPE[j]], bx, by, 6.5);
          ctx.fillStyle = color; ctx.fill();
          ctx.lineWidth = state.selected === j ? 3 : 1.5;
          ctx.strokeStyle = state.selected === j ? "#000" : "#fff"; ctx.stroke();
          hits.push({x: bx, y: by, r: 9, bin: bin, n: 1, only: j});
        }
        this._geom = {cell: cell, margin: margin, cols: cols, ox: ox, oy: oy, scale: scale};
        state.hits = hits;
        document.body.setAttribute("data-cm-drawn", String(drawn));
        map.fire("cm:drawn");  // labels move out of the marks' way
      },
      members: function (bin) {  // the events of one bin, found again only when clicked
        var g = this._geom, out = [];
        for (var i = 0; i < N; i++) {
          if (!VISIBLE[i]) continue;
          var x = MX[i] * g.scale - g.ox, y = MY[i] * g.scale - g.oy;
          if (Math.floor((y + g.margin) / g.cell) * g.cols + Math.floor((x + g.margin) / g.cell) === bin) out.push(i);
        }
        return out;
      },
      _metresPerPixel: function () {
        var c = map.getSize().divideBy(2);
        return map.containerPointToLatLng(c).distanceTo(map.containerPointToLatLng(c.add([1, 0])));
      },
      _hit: function (pt) {
        for (var k = state.hits.length - 1; k >= 0; k--) {
          var h = state.hits[k], dx = h.x - pt.x, dy = h.y - pt.y;
          if (dx * dx + dy * dy <= h.r * h.r) return h;
        }
        return null;
      },
      _hover: function (e) {
        map.getContainer().style.cursor = this._hit(e.containerPoint) ? "pointer" : "";
      },
      _click: function (e) {
        var h = this._hit(e.containerPoint);
        if (!h) return;
        if (h.n === 1) { openEvent(h.only, false); return; }
        var members = this.members(h.bin);
        var bounds = L.latLngBounds(members.map(function (i) { return [E.lat[i], E.lon[i]]; }));
        if (map.getZoom() >= map.getMaxZoom() - 1 || bounds.getNorthEast().equals(bounds.getSouthWest())) {
          clusterList(members).then(function (node) {
            L.popup().setLatLng(e.latlng).setContent(node).openOn(map);
          });
        } else {
          map.fitBounds(bounds.pad(0.5), {maxZoom: map.getMaxZoom()});
        }
      }
    });
    if (D.bounds) {  // before drawing, without animation: the first frame is the right one
      map.fitBounds(D.bounds, {animate: false, maxZoom: D.focus_zoom,
                               paddingTopLeft: [40, 20], paddingBottomRight: [330, 20]});
    }
    var events = new EventCanvas();
    events.addTo(map);
    overlays[escapeHtml(D.events_title)] = events;
    var layersControl = L.control.layers(bases, overlays, {collapsed: true}).addTo(map);

    // ---------------------------------------------------------------- popups
    function row(dl, label, value) {
      if (value === null || value === undefined || value === "") return;
      dl.appendChild(el("dt", null, label));
      var dd = el("dd");
      if (value instanceof Node) dd.appendChild(value); else dd.textContent = String(value);
      dl.appendChild(dd);
    }
    function parsed(text, empty) {  // nested parts arrive as JSON text
      var v = typeof text === "string" ? JSON.parse(text) : text;
      return v === null || v === undefined ? empty : v;
    }
    function popupNode(i, P) {  // title first, badges, the facts, the text, the sources
      var box = el("div", "cm-popup");
      box.appendChild(el("h3", "cm-popup-title", P.title));
      box.appendChild(badges(i, P));
      box.appendChild(facts(i, P));
      if (P.description) box.appendChild(collapsible(P.description));
      box.appendChild(sourceList(parsed(P.sources, [])));
      box.setAttribute("data-event", E.id[i]);
      return box;
    }
    function badges(i, P) {
      var head = el("div", "cm-popup-head");
      head.appendChild(el("span", "cm-badge cm-status-" + D.statuses[E.status[i]],
                          D.statuses[E.status[i]]));
      if (E.side[i]) head.appendChild(el("span", "cm-badge cm-side", "side of border uncertain"));
      if (P.admin1_uncertain) head.appendChild(el("span", "cm-badge cm-side", "district uncertain"));
      return head;
    }
    function facts(i, P) {  // a two-column table in small type
      var dl = el("dl");
      // the facts as Python wrote them (map.py popup_columns), in the order of D.popup_facts
      D.popup_facts.forEach(function (fact) { row(dl, fact[1], P[fact[0]]); });
      return dl;
    }
    function collapsible(text) {  // a few lines, the rest one click away
      var wrap = el("div", "cm-desc-wrap"), p = el("p", "cm-desc cm-collapsed", text);
      wrap.appendChild(p);
      if (String(text).length > 160) {
        var more = el("button", "cm-more", "more"); more.type = "button";
        more.addEventListener("click", function () {
          var open = p.classList.toggle("cm-collapsed") === false;
          more.textContent = open ? "less" : "more";
          popup.update();
        });
        wrap.appendChild(more);
      } else p.classList.remove("cm-collapsed");
      return wrap;
    }
    function sourceList(sources) {  // publisher (linked), date; quote and provenance in small
      var wrap = el("div", "cm-sources-box"), src = el("ul", "cm-sources");
      wrap.appendChild(el("div", "cm-sources-title", "Sources"));
      sources.forEach(function (s) {
        var li = el("li");
        li.appendChild(link(s.url, s.publisher));
        li.appendChild(el("span", "cm-source-date", " · " + s.published));
        if (isHttp(s.archive_url)) {
          li.appendChild(document.createTextNode(" "));
          li.appendChild(link(s.archive_url, "(archive)"));
        }
        if (s.quote) li.appendChild(el("q", null, s.quote));
        if (s.provenance) li.appendChild(el("div", "cm-provenance", "cites: " + s.provenance));
        src.appendChild(li);
      });
      wrap.appendChild(src);
      return wrap;
    }
    function clusterList(members) {
      var box = el("div", "cm-popup"), ul = el("ul");
      box.appendChild(el("h3", null, members.length + " events here"));
      var shown = members.slice(0, 200);
      if (members.length > 200) box.appendChild(el("p", null, "... and " + (members.length - 200) + " more: zoom in"));
      box.appendChild(ul);
      return Promise.all(shown.map(titleOf)).then(function (titles) {
        shown.forEach(function (i, k) {
          var li = el("li"), a = el("a", null, addDays(D.start, DAY[i]) + " " + titles[k]);
          a.href = "#"; a.addEventListener("click", function (ev) { ev.preventDefault(); openEvent(i, false); });
          li.appendChild(a); ul.appendChild(li);
        });
        return box;
      });
    }
    var popup = L.popup({maxWidth: 340, minWidth: 260, maxHeight: 440, autoPanPadding: [20, 20]});
    function corner(sel) {  // the box around one corner's controls, in container pixels
      var c = map.getContainer(), o = c.getBoundingClientRect(), box = null;
      var node = c.querySelector(sel);
      Array.prototype.forEach.call(node ? node.children : [], function (k) {
        var r = k.getBoundingClientRect();
        if (!r.width || !r.height) return;
        box = box ? {l: Math.min(box.l, r.left), t: Math.min(box.t, r.top), r: Math.max(box.r, r.right),
                     b: Math.max(box.b, r.bottom)} : {l: r.left, t: r.top, r: r.right, b: r.bottom};
      });
      return box && {l: box.l - o.left, t: box.t - o.top, r: box.r - o.left, b: box.b - o.top};
    }
    function clearOfControls() {  // autopan keeps the popup off every control; it scrolls to fit
      var size = map.getSize(), gap = 8;
      var tl = corner(".leaflet-top.leaflet-left"), tr = corner(".leaflet-top.leaflet-right");
      var bl = corner(".leaflet-bottom.leaflet-left"), br = corner(".leaflet-bottom.leaflet-right");
      var left = tl ? tl.r + gap : gap, right = tr ? size.x - tr.l + gap : gap;
      var bottom = Math.max(bl ? size.y - bl.t : 0, br ? size.y - br.t : 0) + gap;
      popup.options.autoPanPaddingTopLeft = L.point(left, gap);
      popup.options.autoPanPaddingBottomRight = L.point(right, bottom);
      popup.options.maxHeight = Math.max(160, size.y - gap - bottom - 60);  // tip and close button
      popup.options.maxWidth = Math.max(200, Math.min(340, size.x - left - right - 40));
    }
    function openEvent(i, fly) {
      state.selected = i;
      if (E.day[i] > state.day) setDay(E.day[i]);
      var ll = L.latLng(E.lat[i], E.lon[i]);
      var show = function () {
        Promise.all([popupData(i), titleOf(i)]).then(function (got) {
          if (state.selected !== i) return;  // another event was chosen meanwhile
          got[0].title = got[1];
          clearOfControls();
          popup.setLatLng(ll).setContent(popupNode(i, got[0])).openOn(map);
          document.body.setAttribute("data-cm-popup", E.id[i]);
        });
        events.redraw(); writeHash(); highlightList();
      };
      if (fly) { map.once("moveend", show); map.flyTo(ll, Math.max(map.getZoom(), D.focus_zoom), {duration: 0.6}); }
      else show();
    }
    map.on("popupclose", function () { state.selected = null; events.redraw(); writeHash(); highlightList(); });

    // ---------------------------------------------------------------- timeline, filters, list
    var panel = L.control({position: "topright"});
    var slider, label, listBox;
    panel.onAdd = function () {
      var box = el("div", "cm-panel");
      L.DomEvent.disableClickPropagation(box); L.DomEvent.disableScrollPropagation(box);
      label = el("div", "cm-date");
      slider = el("input", "cm-slider"); slider.type = "range";
      slider.min = "0"; slider.max = String(D.days - 1); slider.step = "1";
      slider.setAttribute("aria-label", "date");
      slider.addEventListener("input", function () { setDay(+slider.value); });
      var controls = el("div", "cm-controls");
      var play = el("button", "cm-play", "Play"); play.type = "button";
      var timer = null;
      play.addEventListener("click", function () {
        if (timer) { clearInterval(timer); timer = null; play.textContent = "Play"; return; }
        if (state.day >= D.days - 1) setDay(0);
        play.textContent = "Pause";
        timer = setInterval(function () {
          if (state.day >= D.days - 1) { clearInterval(timer); timer = null; play.textContent = "Play"; return; }
          setDay(state.day + 1);
        }, 600);
      });
      var win = el("select", "cm-window");
      [[0, "all events up to the date"], [1, "that day only"], [7, "the last 7 days"]].forEach(function (o) {
        var opt = el("option", null, o[1]); opt.value = String(o[0]); win.appendChild(opt);
      });
      win.addEventListener("change", function () { state.windowDays = +win.value; events.redraw(); highlightList(); });
      controls.appendChild(play); controls.appendChild(win);
      box.appendChild(label); box.appendChild(slider); box.appendChild(controls);
      box.appendChild(filterBox("Event types", D.types, state.types, true));
      box.appendChild(filterBox("Status", D.statuses, state.statuses, null));
      listBox = el("ol", "cm-list");
      box.appendChild(el("div", "cm-list-title", "Events"));
      box.appendChild(listBox);
      buildList();
      return box;
    };
    function filterBox(title, names, flags, withGlyphs) {
      var fs = el("fieldset", "cm-filter"); fs.appendChild(el("legend", null, title));
      names.forEach(function (n, k) {
        var lab = el("label"), cb = el("input"); cb.type = "checkbox"; cb.checked = true;
        cb.setAttribute("data-filter", n);
        cb.addEventListener("change", function () { flags[n] = cb.checked; events.redraw(); highlightList(); });
        lab.appendChild(cb);
        if (withGlyphs) lab.appendChild(glyphKey(D.type_shapes[k], D.type_colors[k]));
        lab.appendChild(document.createTextNode(" " + n));
        fs.appendChild(lab);
      });
      return fs;
    }
    function buildList() {
      // few events: all of them, the day's highlighted; many: only the selected day's
      var order = [], all = N <= D.list_limit;
      listBox.textContent = "";
      for (var i = 0; i < N; i++) {
        if (all || DAY[i] === state.day) order.push(i);
        if (order.length >= D.list_limit) break;
      }
      order.sort(function (a, b) { return DAY[a] - DAY[b]; });
      var token = (listBox._token = (listBox._token || 0) + 1);
      Promise.all(order.map(titleOf)).then(function (titles) {
        if (token !== listBox._token) return;  // the date moved on meanwhile
        order.forEach(function (i, k) { listRow(i, titles[k]); });
        highlightList();
      });
    }
    function listRow(i, title) {
      var li = el("li"), a = el("a", null, addDays(D.start, DAY[i]) + "  " + title);
      a.href = "#"; li.setAttribute("data-event", E.id[i]); li.setAttribute("data-i", String(i));
      a.addEventListener("click", function (ev) { ev.preventDefault(); openEvent(i, true); });
      li.appendChild(a); listBox.appendChild(li);
    }
    function highlightList() {
      if (!listBox) return;
      var items = listBox.children;
      for (var k = 0; k < items.length; k++) {
        var i = +items[k].getAttribute("data-i");
        items[k].classList.toggle("cm-today", E.day[i] === state.day);
        items[k].classList.toggle("cm-future", E.day[i] > state.day);
        items[k].classList.toggle("cm-selected", state.selected === i);
      }
    }
    function setDay(day) {
      state.day = Math.max(0, Math.min(D.days - 1, day));
      if (slider) slider.value = String(state.day);
      if (label) label.textContent = addDays(D.start, state.day);
      if (listBox && N > D.list_limit) buildList();
      areas.setStyle(areaStyle);
      events.redraw(); highlightList(); writeHash();
    }

    // ---------------------------------------------------------------- legend
    var legend = L.control({position: "bottomleft"});
    legend.onAdd = function () {
      var box = el("div", "cm-legend");
      box.appendChild(el("b", null, "Event types"));
      D.types.forEach(function (t, k) {
        var r = el("div");
        r.setAttribute("data-type", t);
        r.appendChild(glyphKey(D.type_shapes[k], D.type_colors[k]));
        r.appendChild(document.createTextNode(" " + t)); box.appendChild(r);
      });
      box.appendChild(el("b", null, "Controller of handed-over districts"));
      Object.keys(D.controller_colors).forEach(function (c) {
        if (c === "_other") return;
        var r = el("div"), sw = el("span", "cm-swatch"); sw.style.background = D.controller_colors[c];
        r.appendChild(sw);
        r.appendChild(document.createTextNode(" " + (c === "_unknown" ? "unknown (before the first known state)" : c)));
        box.appendChild(r);
      });
      box.appendChild(el("b", null, "Symbols"));
      box.appendChild(el("div", null, "dashed ring: location known only to a settlement, district or province"));
      box.appendChild(el("div", "cm-side-key", "dashed red halo: closer to the border than its accuracy, side uncertain"));
      box.appendChild(el("div", null, "dark circle with a number: events grouped at this zoom"));
      return box;
    };
    legend.addTo(map);

    // ---------------------------------------------------------------- URL hash: citable views
    var byId = null;
    function indexOfId(id) {  // ids are unique regardless of case: ARM4949 = arm4949
      if (!byId) {
        byId = new Map();
        for (var k = 0; k < N; k++) byId.set(String(E.id[k]).toLowerCase(), k);
      }
      var i = byId.get(String(id).toLowerCase());
      return i === undefined ? -1 : i;
    }
    var hashLock = false;
    function writeHash() {
      if (hashLock) return;
      var h = "#date=" + addDays(D.start, state.day);
      if (state.selected !== null) h += "&event=" + encodeURIComponent(E.id[state.selected]);
      if (location.hash !== h) history.replaceState(null, "", h);
    }
    function decoded(text) {  // a hand-edited or truncated link ("%E0%A4%A") is taken as typed
      try { return decodeURIComponent(text); } catch (e) { return text; }
    }
    function readHash() {
      var q = {};
      location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
        var p = kv.split("=");
        if (p[0]) q[decoded(p[0])] = decoded(p[1] || "");
      });
      return q;
    }
    function applyHash(q) {
      hashLock = true;
      var day = /^\d{4}-\d{2}-\d{2}$/.test(q.date || "") ? dayIndex(D.start, q.date) : NaN;
      if (isFinite(day)) setDay(Math.max(0, Math.min(D.days - 1, day)));  // 9999-99-99: ignored
      hashLock = false;
      if (q.event) {
        var i = indexOfId(q.event);
        if (i >= 0) { if (!q.date) setDay(E.day[i]); openEvent(i, false); }
      }
      writeHash();
    }
    window.addEventListener("hashchange", function () { applyHash(readHash()); });

    var initial = readHash();  // before anything below rewrites the hash
    hashLock = true;
    panel.addTo(map);
    setDay(state.day);
    hashLock = false;
    applyHash(initial);
    window.conflictmap = {
      map: map,
      setDate: function (iso) { setDay(dayIndex(D.start, iso)); },
      date: function () { return addDays(D.start, state.day); },
      drawn: function () {
        var out = [];
        for (var i = 0; i < N; i++) if (VISIBLE[i]) out.push(E.id[i]);
        return out;
      },
      openEvent: function (id) { var i = indexOfId(id); if (i >= 0) openEvent(i, false); return i >= 0; },
      controller: function (area) { return controllerOn(areaByName[area], state.day); },
      layersControl: layersControl,
      marks: function () {  // screen boxes of the drawn event and group marks
        return state.hits.map(function (h) {
          var r = h.n === 1 && E.side[h.only] ? 12 : h.r;  // a side-uncertain halo is wider
          return {x: h.x - r, y: h.y - r, w: 2 * r, h: 2 * r};
        });
      }
    };
    document.body.setAttribute("data-cm-ready", "1");
  }

  window.conflictmapInit = init;
})();
