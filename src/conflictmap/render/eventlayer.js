/* conflictmap event layer, timeline and panels. Our own code (MIT, conflictmap).
 *
 * Reads the events once from compact columnar data and draws them onto one canvas: no Leaflet
 * object per event, so it scales to 100k. User text never goes through innerHTML: every label,
 * popup and list row is built with createElement + textContent.
 */
(function () {
  "use strict";

  var el = window.cmFilters.el;  // filters.js comes first (map.SCRIPTS)
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
  function thousands(n) {  // 12,345: toLocaleString would build an ICU formatter (~30 ms)
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
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
  // events per bin, few to many: viridis (perceptually even, readable with colour-vision
  // deficiencies), from its light end so that one event is the faintest
  var HEX_COLORS = ["#fde725", "#7ad151", "#22a884", "#2a788e", "#414487", "#440154"];

  function init(map, D) {
    var E = D.events, N = E.id.length;
    var PREC_RADIUS_KM = D.prec_radius_km;  // map.py's, shared with the static figure
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
    var DAY = Int32Array.from(E.day), TYPE = Uint8Array.from(E.type), VISIBLE = new Uint8Array(N);
    // more events than the page holds: every event counted per (cell, step, type), drawn as
    // weighted bins; the detail arrays above hold only the window the build chose
    var A = D.density, AN = A ? A.n.length : 0;
    var AX = new Float64Array(AN), AY = new Float64Array(AN), AW = Float64Array.from(A ? A.n : []);
    var ADAY = Int32Array.from(A ? A.day : []), ATYPE = Uint8Array.from(A ? A.type : []);
    for (q = 0; q < AN; q++) {
      var an = Math.sin(A.lat[q] * Math.PI / 180);
      AX[q] = (A.lon[q] + 180) / 360;
      AY[q] = 0.5 - Math.log((1 + an) / (1 - an)) / (4 * Math.PI);
    }
    var ASX = new Float64Array(AN), ASY = new Float64Array(AN), ASW = new Float64Array(AN);
    var filters = window.cmFilters.create(D, {
      decodeChunk: decodeChunk, blobLine: blobLine,
      titles: function () {
        if (E.title) return Promise.resolve(E.title);
        titleOf(0);
        return allTitles.then(function (t) { return t.title; });
      }
    });
    var PASS = filters.pass;
    // windowDays 0: every event up to the date; n: the n days ending on it (the date stays
    // the "as of" day of the control areas)
    var state = {day: D.days - 1, windowDays: 0, selected: null, hits: [], marks: [],
                 types: filters.state.types, statuses: filters.state.statuses, mode: "symbols",
                 view: "auto"};  // auto: hexagon bins past the density threshold
    var SX = new Float64Array(N), SY = new Float64Array(N), SI = new Int32Array(N);

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
        if (!state.ready) return;  // init draws once, when the date and filters are set
        var ctx = this._canvas.getContext("2d"), dpr = window.devicePixelRatio || 1;
        ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
        ctx.clearRect(0, 0, this._canvas.width, this._canvas.height);
        var size = map.getSize(), margin = 2 * D.cluster_px;
        var scale = 256 * Math.pow(2, map.getZoom()), po = map.getPixelOrigin();
        var tl = map.containerPointToLayerPoint([0, 0]);
        var ox = po.x + tl.x, oy = po.y + tl.y;
        var lo = windowStart(), n = 0, onScreen = 0;
        VISIBLE.fill(0);
        for (var i = 0; i < N; i++) {
          var d = DAY[i];
          if (d > state.day || d < lo || !PASS[i]) continue;
          var x = MX[i] * scale - ox, y = MY[i] * scale - oy;
          if (x < -margin || y < -margin || x > size.x + margin || y > size.y + margin) continue;
          VISIBLE[i] = 1; SX[n] = x; SY[n] = y; SI[n] = i; n++;
          if (x >= 0 && y >= 0 && x <= size.x && y <= size.y) onScreen++;
        }
        var an = 0, counted = 0;
        if (A) {  // every event, counted: a step is shown when it overlaps the days shown
          var typeOn = D.types.map(function (t) { return state.types[t] ? 1 : 0; });
          for (var k = 0; k < AN; k++) {
            var s0 = ADAY[k];
            if (s0 > state.day || s0 + A.step_days - 1 < lo || !typeOn[ATYPE[k]]) continue;
            var ax = AX[k] * scale - ox, ay = AY[k] * scale - oy;
            if (ax < -margin || ay < -margin || ax > size.x + margin || ay > size.y + margin) continue;
            ASX[an] = ax; ASY[an] = ay; ASW[an] = AW[k]; an++;
            if (ax >= 0 && ay >= 0 && ax <= size.x && ay <= size.y) counted += AW[k];
          }
          onScreen = Math.max(onScreen, counted);
        }
        // dense: hexagon bins coloured by count, until zooming in thins the view out
        var dense = state.view === "bins" || (state.view === "auto" &&
          onScreen > D.aggregate_per_mpx * size.x * size.y / 1e6 && map.getZoom() < map.getMaxZoom() - 2);
        state.mode = dense ? "bins" : "symbols";
        if (dense && A) this._bins(ctx, an, ox, oy, ASX, ASY, ASW);
        else if (dense) this._bins(ctx, n, ox, oy, SX, SY, null);
        else this._symbols(ctx, n, size);
        document.body.setAttribute("data-cm-drawn", String(n));
        state.counted = counted;
        document.body.setAttribute("data-cm-counted", String(counted));
        document.body.setAttribute("data-cm-mode", state.mode);
        densityKey();
        map.fire("cm:drawn");  // labels move out of the marks' way
      },
      _bins: function (ctx, n, ox, oy, xs, ys, ws) {
        var size = map.getSize(), C = window.cmDensity, s = D.hex_px;
        var got = C.hexbin(xs, ys, n, s, ox, oy, size.x, size.y, 2 * D.cluster_px, ws);
        var marks = [], hits = [];
        var bks = C.breaks(got.bins.map(function (b) { return b.n; }), HEX_COLORS.length);
        got.bins.forEach(function (b, k) {
          C.hexPath(ctx, b.x, b.y, s - 0.5);
          ctx.globalAlpha = 0.82;  // the districts' fill still shows through
          ctx.fillStyle = HEX_COLORS[C.classOf(b.n, bks)]; ctx.fill();
          ctx.globalAlpha = 1;
          ctx.lineWidth = 0.6; ctx.strokeStyle = "rgba(255,255,255,0.9)"; ctx.stroke();
          var w = C.SQRT3 * s;
          marks.push({text: String(b.n), x: b.x - w / 2, y: b.y - s, w: w, h: 2 * s,
                      kind: "bin", n: b.n});
          hits.push({x: b.x, y: b.y, r: s * 0.9, group: k, n: b.n, bin: true});
        });
        this._last = {of: got.of, n: n};
        state.breaks = bks; state.marks = marks; state.hits = hits;
      },
      _symbols: function (ctx, n, size) {
        var C = window.cmDensity, got = C.groups(SX, SY, n, D.cluster_px, size.x, size.y);
        var hits = [], marks = [], mpp = this._metresPerPixel();
        got.marks.forEach(function (g, k) {  // shaded rings first: marks go on top of them
          if (g.n !== 1) return;
          var j = SI[g.first], color = D.type_colors[TYPE[j]];
          var ring = PREC_RADIUS_KM[D.precisions[E.prec[j]]] * 1000 / mpp;
          if (ringShown(g.x, g.y, ring, size)) {  // imprecise: the area it may be in, lightly
            ctx.beginPath(); ctx.arc(g.x, g.y, ring, 0, 2 * Math.PI);
            ctx.fillStyle = color + "0d"; ctx.fill();
            ctx.setLineDash([4, 3]); ctx.lineWidth = 1; ctx.strokeStyle = color + "80"; ctx.stroke();
            ctx.setLineDash([]);
          }
        });
        got.marks.forEach(function (g, k) {
          var box = {x: g.x - g.r, y: g.y - g.r, w: 2 * g.r, h: 2 * g.r};
          if (g.n > 1) {
            ctx.beginPath(); ctx.arc(g.x, g.y, g.r, 0, 2 * Math.PI);
            ctx.fillStyle = "rgba(40,40,40,0.85)"; ctx.fill();
            ctx.lineWidth = 2; ctx.strokeStyle = "#fff"; ctx.stroke();
            ctx.fillStyle = "#fff"; ctx.font = "bold 12px sans-serif";
            ctx.textAlign = "center"; ctx.textBaseline = "middle";
            var text = g.n > 9999 ? Math.round(g.n / 1000) + "k" : String(g.n);
            ctx.fillText(text, g.x, g.y);
            hits.push({x: g.x, y: g.y, r: g.r, group: k, n: g.n});
            marks.push({text: text, x: box.x, y: box.y, w: box.w, h: box.h, kind: "cluster", n: g.n});
            return;
          }
          var j = SI[g.first], color = D.type_colors[TYPE[j]];
          if (E.side[j]) {  // side of the border uncertain: a dashed red halo
            ctx.beginPath(); ctx.arc(g.x, g.y, 11, 0, 2 * Math.PI);
            ctx.setLineDash([3, 2]); ctx.lineWidth = 2; ctx.strokeStyle = D.side_color; ctx.stroke();
            ctx.setLineDash([]);
          }
          glyph(ctx, D.type_shapes[TYPE[j]], g.x, g.y, 6.5);
          if (D.statuses[E.status[j]] === "draft") {  // a draft awaits review: hollow, dashed
            ctx.fillStyle = "#fff"; ctx.fill();
            ctx.setLineDash([3, 2]); ctx.lineWidth = state.selected === j ? 3.5 : 2.5;
            ctx.strokeStyle = state.selected === j ? "#000" : color; ctx.stroke();
            ctx.setLineDash([]);
          } else {
            ctx.fillStyle = color; ctx.fill();
            ctx.lineWidth = state.selected === j ? 3 : 1.5;
            ctx.strokeStyle = state.selected === j ? "#000" : "#fff"; ctx.stroke();
          }
          hits.push({x: g.x, y: g.y, r: 9, group: k, n: 1, only: j});
          marks.push({text: "", x: box.x, y: box.y, w: box.w, h: box.h, kind: "event", n: 1,
                      id: E.id[j]});
        });
        this._last = {of: got.of, n: n};
        state.marks = marks; state.hits = hits;
      },
      members: function (group) {  // the events of one mark of the last drawing
        var out = [], last = this._last;
        for (var k = 0; k < last.n; k++) if (last.of[k] === group) out.push(SI[k]);
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
        if (h.only !== undefined) { openEvent(h.only, false); return; }
        if (h.bin) {  // a density bin: zoom in on it, towards symbols
          map.setView(e.latlng, Math.min(map.getMaxZoom(), map.getZoom() + 2));
          return;
        }
        var members = this.members(h.group);
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
      if (Array.isArray(value)) {  // [text, qualifier] pairs (actors with their roles)
        value = value.map(function (v) {
          return Array.isArray(v) ? v[0] + (v[1] ? " (" + v[1] + ")" : "") : v;
        }).join("; ");
      }
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
      if (E.day[i] < windowStart()) setWindow(0);  // an event before the window: show it
      if (E.day[i] > state.day || E.day[i] < windowStart()) setDay(E.day[i]);
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
    function windowStart() { return state.windowDays > 0 ? state.day - state.windowDays + 1 : 0; }
    var DAYCOUNT = new Int32Array(D.days);  // events a day passing the filters (not the date)
    function countDays() {
      DAYCOUNT.fill(0);
      if (A) {  // every event, by type (the other filters reach only the detail)
        for (var k = 0; k < AN; k++) if (state.types[D.types[ATYPE[k]]]) DAYCOUNT[ADAY[k]] += AW[k];
        return;
      }
      for (var i = 0; i < N; i++) if (PASS[i]) DAYCOUNT[DAY[i]]++;
    }
    var handovers = [];
    D.areas.forEach(function (a) {
      a.changes.forEach(function (c) {
        if (c[0] >= 0 && c[0] < D.days) handovers.push([c[0], a.name + ": " + c[1]]);
      });
    });
    var hist = window.cmHistogram.create({
      days: D.days, marks: handovers, label: function (d) { return addDays(D.start, d); },
      unit: A ? Math.max(A.step_days, D.days > 200 ? 7 : 1) : 0,
      pick: function (lo, hi) { setWindow(hi - lo + 1); setDay(hi); },
      day: function (d) { setDay(d); scrollListToDay(); }
    });
    var panel = L.control({position: "topright"});
    var slider, label, listBox, winSelect, viewSelect, filterPanel;
    function setView(v) {
      state.view = ["auto", "symbols", "bins"].indexOf(v) >= 0 ? v : "auto";
      if (viewSelect) viewSelect.value = state.view;
      events.redraw(); writeHash();
    }
    panel.onAdd = function () {
      var box = el("div", "cm-panel");
      L.DomEvent.disableClickPropagation(box); L.DomEvent.disableScrollPropagation(box);
      if (A) {  // the page says what it holds in detail and what only as counts
        box.appendChild(el("div", "cm-scope", A.note));
      }
      label = el("div", "cm-date");
      slider = el("input", "cm-slider"); slider.type = "range";
      slider.min = "0"; slider.max = String(D.days - 1); slider.step = "1";
      slider.setAttribute("aria-label", "date");
      slider.addEventListener("input", function () { setDay(+slider.value); scrollListToDay(); });
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
      winSelect = el("select", "cm-window");
      winSelect.setAttribute("aria-label", "events shown");
      [[0, "all up to the date"], [1, "that day only"], [7, "7 days to the date"]].forEach(function (o) {
        var opt = el("option", null, o[1]); opt.value = String(o[0]); winSelect.appendChild(opt);
      });
      winSelect.addEventListener("change", function () {
        setWindow(+winSelect.value); events.redraw(); hist.moveTo(windowStart(), state.day, state.day);
        highlightList(); writeHash();
      });
      viewSelect = el("select", "cm-view");
      viewSelect.setAttribute("aria-label", "view");
      [["auto", "auto"], ["symbols", "symbols"], ["bins", "density"]].forEach(function (o) {
        var opt = el("option", null, o[1]); opt.value = o[0]; viewSelect.appendChild(opt);
      });
      viewSelect.addEventListener("change", function () { setView(viewSelect.value); });
      controls.appendChild(play); controls.appendChild(winSelect); controls.appendChild(viewSelect);
      box.appendChild(label); box.appendChild(slider);
      box.appendChild(hist.node);
      box.appendChild(el("div", "cm-hist-note", "Events per " + ({1: "day", 7: "week"}[hist.unit] || hist.unit + " days") +
                         " for the filters; drag to choose a window; red marks: handovers"));
      box.appendChild(controls);
      box.appendChild(filterBox("Event types", D.types, state.types, true));
      var statusBox = filterBox("Status", D.statuses, state.statuses, null);
      statusBox.classList.add("cm-filter-inline");
      box.appendChild(statusBox);
      filterPanel = filters.panel(filtersChanged);
      box.appendChild(filterPanel);
      box.appendChild(el("div", "cm-list-title", "Events"));
      listBox = el("ol", "cm-list");
      box.appendChild(listBox);
      buildList();
      return box;
    };
    function setWindow(days) {  // a window the select lacks gets its own option
      state.windowDays = Math.max(0, Math.min(D.days, days));
      if (!winSelect) return;
      var v = String(state.windowDays), found = false;
      Array.from(winSelect.options).forEach(function (o) {
        if (o.value === v) found = true;
        if (o.className === "cm-custom" && o.value !== v) o.remove();
      });
      if (!found) {
        var opt = el("option", "cm-custom", v + " days to the date");
        opt.value = v; winSelect.appendChild(opt);
      }
      winSelect.value = v;
    }
    var filterWork = Promise.resolve();
    function filtersChanged() {
      filterWork = filters.apply().then(function (latest) {
        if (!latest) return;
        countDays(); events.redraw(); hist.update(DAYCOUNT, windowStart(), state.day, state.day);
        if (N > D.list_limit) buildList(); else highlightList();
        writeHash();
      });
      return filterWork;
    }
    function filterBox(title, names, flags, withGlyphs) {
      var fs = el("fieldset", "cm-filter"); fs.appendChild(el("legend", null, title));
      names.forEach(function (n, k) {
        var lab = el("label"), cb = el("input"); cb.type = "checkbox"; cb.checked = true;
        cb.setAttribute("data-filter", n);
        cb.addEventListener("change", function () { flags[n] = cb.checked; filtersChanged(); });
        lab.appendChild(cb);
        if (withGlyphs) lab.appendChild(glyphKey(D.type_shapes[k], D.type_colors[k]));
        lab.appendChild(document.createTextNode(" " + n));
        fs.appendChild(lab);
      });
      return fs;
    }
    function syncControls() {  // checkboxes and fields show the state a hash brought
      if (!filterPanel) return;
      document.querySelectorAll(".cm-filter input[data-filter]").forEach(function (cb) {
        var n = cb.getAttribute("data-filter");
        cb.checked = n in state.types ? state.types[n] : state.statuses[n];
      });
      filterPanel.sync();
    }
    function buildList() {
      // few events: all of them, the day's highlighted; many: the selected day's that pass
      var order = [], all = N <= D.list_limit;
      listBox.textContent = "";
      for (var i = 0; i < N; i++) {
        if (all || (DAY[i] === state.day && PASS[i])) order.push(i);
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
      var items = listBox.children, lo = windowStart();
      for (var k = 0; k < items.length; k++) {
        var i = +items[k].getAttribute("data-i");
        items[k].classList.toggle("cm-today", E.day[i] === state.day);
        items[k].classList.toggle("cm-future", E.day[i] > state.day || E.day[i] < lo);
        items[k].classList.toggle("cm-filtered", !PASS[i]);
        items[k].classList.toggle("cm-selected", state.selected === i);
      }
    }
    function scrollListToDay() {  // the list (its own scroll box) shows the day's first event
      var first = listBox && listBox.querySelector("li.cm-today");
      if (first) listBox.scrollTop = first.offsetTop - 4;  // the list is the offset parent
      else if (listBox) listBox.scrollTop = 0;
    }
    function setDay(day) {
      state.day = Math.max(0, Math.min(D.days - 1, day));
      if (slider) slider.value = String(state.day);
      if (label) {
        label.textContent = addDays(D.start, state.day) + (state.windowDays > 1
          ? "  (from " + addDays(D.start, windowStart()) + ")" : "");
      }
      if (listBox && N > D.list_limit) buildList();
      areas.setStyle(areaStyle);
      events.redraw(); highlightList(); writeHash();
      hist.moveTo(windowStart(), state.day, state.day);
    }

    // ---------------------------------------------------------------- legend
    var densityBox = null, densityShown = "";
    function densityKey() {
      if (!densityBox) return;
      var bks = state.breaks || [], key = state.mode + bks.join(",");
      if (key === densityShown) return;
      densityShown = key;
      densityBox.textContent = "";
      densityBox.style.display = state.mode === "bins" ? "" : "none";
      if (state.mode !== "bins") return;
      var km = D.hex_px * Math.sqrt(3) * events._metresPerPixel() / 1000;
      densityBox.appendChild(el("b", null, "Events per hexagon (" +
                                (km < 10 ? km.toFixed(1) : Math.round(km)) + " km across)"));
      var row = el("div", "cm-density-row");
      bks.forEach(function (b, k) {
        var top = k + 1 < bks.length ? bks[k + 1] - 1 : null;
        var item = el("span", "cm-density-item"), sw = el("span", "cm-swatch cm-hex");
        sw.style.background = HEX_COLORS[k];
        item.appendChild(sw);
        item.appendChild(document.createTextNode(
          " " + thousands(b) + (top === null ? "+" : top > b ? "-" + thousands(top) : "")));
        row.appendChild(item);
      });
      densityBox.appendChild(row);
      densityBox.appendChild(el("div", null, "dense view: zoom in (or click a hexagon) for single events"));
    }
    var legend = L.control({position: "bottomleft"});
    legend.onAdd = function () {
      // folds away on a small screen: at 1366x768 the open legend covers a fifth of the map
      var outer = el("div", "cm-legend"), box = document.createElement("details");
      box.open = true;
      box.appendChild(el("summary", null, "Legend"));
      outer.appendChild(box);
      L.DomEvent.disableClickPropagation(outer); L.DomEvent.disableScrollPropagation(outer);
      densityBox = el("div", "cm-density-key");
      box.appendChild(densityBox);
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
      return outer;
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
      if (state.windowDays > 0) h += "&from=" + addDays(D.start, windowStart());
      if (state.view !== "auto") h += "&view=" + state.view;
      filters.toHash().forEach(function (part) { h += "&" + part; });
      if (state.selected !== null) h += "&event=" + encodeURIComponent(E.id[state.selected]);
      if (location.hash !== h) history.replaceState(null, "", h);
    }
    function decoded(text) {  // a hand-edited or truncated link ("%E0%A4%A") is taken as typed
      try { return decodeURIComponent(text); } catch (e) { return text; }
    }
    function readHash() {  // decoded values, and raw ones for the lists that filters split
      var q = {}, raw = {};
      // no hash in the address: the state the page was made with (`explore(date=...)`)
      (location.hash || D.initial_hash || "").replace(/^#/, "").split("&").forEach(function (kv) {
        var p = kv.split("="), k = decoded(p[0]);
        if (p[0]) { q[k] = decoded(p[1] || ""); raw[k] = p[1] || ""; }
      });
      q._raw = raw;
      return q;
    }
    function dayOf(iso) {  // a day index, or NaN for a malformed date
      return /^\d{4}-\d{2}-\d{2}$/.test(iso || "") ? dayIndex(D.start, iso) : NaN;
    }
    function applyHash(q) {
      hashLock = true;
      var day = dayOf(q.date), from = dayOf(q.from);
      if (isFinite(day)) day = Math.max(0, Math.min(D.days - 1, day));  // 9999-99-99: ignored
      setWindow(isFinite(from) && (isFinite(day) ? day : state.day) >= from
        ? (isFinite(day) ? day : state.day) - Math.max(0, from) + 1 : 0);
      if (isFinite(day)) setDay(day);
      setView(q.view);
      var before = filters.toHash().join("&");
      var done = filters.fromHash(q._raw || {}).then(function () {
        if (filters.toHash().join("&") === before) return null;  // as they were: no work
        syncControls();
        return filtersChanged();
      });
      hashLock = false;
      if (q.event) {
        var i = indexOfId(q.event);
        if (i >= 0) { if (!q.date) setDay(E.day[i]); openEvent(i, false); }
      }
      writeHash();
      return done;
    }
    window.addEventListener("hashchange", function () { applyHash(readHash()); });

    var initial = readHash();  // before anything below rewrites the hash
    hashLock = true;
    panel.addTo(map);
    countDays();
    state.ready = true;
    setDay(state.day);
    hist.update(DAYCOUNT, windowStart(), state.day, state.day);
    hashLock = false;
    var settled = applyHash(initial);
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
      /* Screen boxes of what is drawn, for the place names to keep clear of: discs and
       * symbols (a side-uncertain halo is wider), and density hexagons as kind "bin". */
      marks: function () {
        return state.hits.map(function (h) {
          if (h.bin) return {x: h.x - h.r, y: h.y - h.r, w: 2 * h.r, h: 2 * h.r, kind: "bin"};
          var r = h.n === 1 && E.side[h.only] ? 12 : h.r;
          return {x: h.x - r, y: h.y - r, w: 2 * r, h: 2 * r, kind: "mark"};
        });
      },
      /* The marks drawn now, in container px: {text, x, y, w, h} boxes plus `kind` ("cluster":
       * a disc with a count, "event": one symbol, "bin": a density hexagon) and `n` events.
       * Discs and symbols never intersect one another; a label layer can keep clear of them. */
      groups: function () {
        return state.marks.map(function (m) {
          var o = {}; for (var k in m) o[k] = m[k]; return o;
        });
      },
      mode: function () { return state.mode; },
      /* With a density layer: the events it counts on screen now (type filter and dates). */
      counted: function () { return state.counted || 0; },
      /* The timeline's bars (events per day or week passing the filters, at any date), and the
       * window as dates. */
      histogram: function () {
        return {unit: hist.unit, bars: hist.bars(), from: addDays(D.start, windowStart()),
                to: addDays(D.start, state.day)};
      },
      /* Count of events passing the filters (any date). */
      passing: function () { var c = 0; for (var i = 0; i < N; i++) c += PASS[i]; return c; },
      /* Resolves when filters set so far (typed, clicked or from the hash) are applied. */
      idle: function () { return settled.then(function () { return filterWork; }); },
      setWindow: function (fromIso, toIso) {
        var lo = dayOf(fromIso), hi = dayOf(toIso);
        setWindow(hi - lo + 1); setDay(hi);
      }
    };
    document.body.setAttribute("data-cm-ready", "1");
  }

  window.conflictmapInit = init;
})();
