/* conflictmap filters: which events pass type, status, actor, district, fatalities and text.
 * Our own code (MIT, conflictmap). The result is one Uint8Array mask; every test walks typed
 * arrays (codes built in filterdata.py), so filtering 100k events makes no object per event.
 * Actors and the searchable text arrive compressed and are decoded when first needed.
 */
(function () {
  "use strict";

  function el(tag, cls, text) {  // an element with text, never HTML (the page's other scripts use it)
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function fold(s) {  // case- and accent-blind matching ("Kəlbəcər" ~ "kelbecer" is not tried)
    return String(s || "").toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "");
  }

  /* io: {decodeChunk(b64) -> promise, blobLine(k) -> b64, titles() -> promise of all titles} */
  function create(D, io) {
    var E = D.events, N = E.id.length, ADMIN1_NAMES = D.admin1_names;
    var TYPE = Uint8Array.from(E.type), STATUS = Uint8Array.from(E.status);
    var columns = null;  // {admin1: Int32Array, fatal: Int32Array, admin1Counts}; -1: unknown
    function loadColumns() {
      if (!columns) {
        columns = io.decodeChunk(io.blobLine(D.filters_line)).then(function (c) {
          var unknown = function (v) { return v === null ? -1 : v; };
          var admin1 = Int32Array.from(c.admin1, unknown), counts = new Int32Array(ADMIN1_NAMES.length);
          for (var i = 0; i < N; i++) if (admin1[i] >= 0) counts[admin1[i]]++;
          return {admin1: admin1, fatal: Int32Array.from(c.fatal, unknown), admin1Counts: counts};
        });
      }
      return columns;
    }
    function allChunks() {  // every popup chunk, decoded afresh (not kept: they are large)
      var parts = [];
      for (var k = 0; k < D.popup_lines; k++) parts.push(io.decodeChunk(io.blobLine(k)));
      return Promise.all(parts);
    }
    var st = {types: {}, statuses: {}, actors: new Set(), admin1: new Set(),
              fatMin: null, fatMax: null, fatUnknown: true, text: ""};
    D.types.forEach(function (t) { st.types[t] = true; });
    D.statuses.forEach(function (s) { st.statuses[s] = true; });
    var PASS = new Uint8Array(N).fill(1), TEXT = null, ACTOR = null;

    /* Actors indexed from the popup chunks once: names by how many events name them, and
     * each event's actors as codes in compressed-row layout (ptr: Int32Array(N+1), ids). */
    var actors = null;
    function loadActors() {
      if (!actors) {
        actors = allChunks().then(function (chunks) {
          var byName = new Map(), names = [], counts = [], raw = [], ptr = new Int32Array(N + 1);
          chunks.forEach(function (cols, c) {
            cols.actors.forEach(function (list, j) {
              var i = c * D.popup_chunk + j, from = raw.length;
              (list || []).forEach(function (a) {
                var name = Array.isArray(a) ? a[0] : a;  // [name, role] as map.py ships it
                if (typeof name !== "string" || !name) return;
                var code = byName.get(name);
                if (code === undefined) { code = names.length; byName.set(name, code); names.push(name); counts.push(0); }
                if (raw.indexOf(code, from) >= 0) return;  // named twice in one event
                raw.push(code); counts[code]++;
              });
              ptr[i + 1] = raw.length;
            });
          });
          var order = names.map(function (n, k) { return k; });
          order.sort(function (a, b) { return counts[b] - counts[a] || (names[a] < names[b] ? -1 : 1); });
          var rank = new Int32Array(names.length), sorted = [];
          order.forEach(function (k, r) { rank[k] = r; sorted.push(names[k]); byName.set(names[k], r); });
          actorNames = sorted;
          return {names: sorted, counts: order.map(function (k) { return counts[k]; }), ptr: ptr,
                  ids: Int32Array.from(raw, function (k) { return rank[k]; }), byName: byName};
        });
      }
      return actors;
    }
    // the popup's place fact is "NAME (PRECISION precision, via GEOCODER)": search the name
    function placeName(fact) {
      return typeof fact === "string" ? fact.replace(/ \([^()]* precision, via [^()]*\)$/, "") : fact;
    }
    // free text: per popup chunk, one folded string of its events' title, place, description,
    // and where each event starts in it; a search is indexOf over ~100 strings, not 100k
    var haystacks = null;
    function loadText() {
      if (!haystacks) {
        haystacks = Promise.all([allChunks(), io.titles()]).then(function (got) {
          var titles = got[1];
          return got[0].map(function (cols, c) {
            var base = c * D.popup_chunk, starts = [], text = "";
            for (var j = 0; j < cols._place.length; j++) {
              starts.push(text.length);
              text += fold(titles[base + j]) + "\u0001" + fold(placeName(cols._place[j])) + "\u0001" +
                      fold(cols.description[j]) + "\u0002";
            }
            return {base: base, starts: Int32Array.from(starts), text: text};
          });
        });
      }
      return haystacks;
    }
    function textMask(q) {
      return loadText().then(function (hs) {
        var m = new Uint8Array(N), needle = fold(q);
        hs.forEach(function (h) {
          var at = h.text.indexOf(needle), lo = 0;
          while (at >= 0) {
            var hi = h.starts.length - 1;  // the event whose text holds position `at`
            while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (h.starts[mid] <= at) lo = mid; else hi = mid - 1; }
            m[h.base + lo] = 1;
            var next = lo + 1 < h.starts.length ? h.starts[lo + 1] : h.text.length;
            at = h.text.indexOf(needle, next);  // one hit an event is enough
          }
        });
        return m;
      });
    }
    function actorMask() {
      return loadActors().then(function (a) {
        var sel = new Uint8Array(a.names.length), m = new Uint8Array(N);
        st.actors.forEach(function (k) { sel[k] = 1; });
        for (var i = 0; i < N; i++) {
          for (var p = a.ptr[i]; p < a.ptr[i + 1]; p++) if (sel[a.ids[p]]) { m[i] = 1; break; }
        }
        return m;
      });
    }
    /* Recompute the mask; a promise, since actors and text may need decoding first. Only the
     * latest call writes the mask, so typing fast cannot leave an older result behind. */
    var token = 0;
    function apply() {
      var mine = ++token;
      var ranged = st.fatMin !== null || st.fatMax !== null;
      var waits = [st.text ? textMask(st.text) : Promise.resolve(null),
                   st.actors.size ? actorMask() : Promise.resolve(null),
                   st.admin1.size || ranged ? loadColumns() : Promise.resolve(null)];
      return Promise.all(waits).then(function (got) {
        if (mine !== token) return false;
        TEXT = got[0]; ACTOR = got[1];
        var ADMIN1 = got[2] && got[2].admin1, FATAL = got[2] && got[2].fatal;
        var typeOn = D.types.map(function (t) { return st.types[t] ? 1 : 0; });
        var statusOn = D.statuses.map(function (s) { return st.statuses[s] ? 1 : 0; });
        var adm = null;
        if (st.admin1.size) {
          adm = new Uint8Array(ADMIN1_NAMES.length);
          st.admin1.forEach(function (k) { adm[k] = 1; });
        }
        var lo = st.fatMin === null ? -Infinity : st.fatMin;
        var hi = st.fatMax === null ? Infinity : st.fatMax;
        for (var i = 0; i < N; i++) {
          var f = ranged ? FATAL[i] : 0;
          PASS[i] = typeOn[TYPE[i]] && statusOn[STATUS[i]] && (!adm || (ADMIN1[i] >= 0 && adm[ADMIN1[i]])) &&
            (!ranged || (f < 0 ? st.fatUnknown : f >= lo && f <= hi)) &&
            (!TEXT || TEXT[i]) && (!ACTOR || ACTOR[i]) ? 1 : 0;
        }
        return true;
      });
    }

    // ---------------------------------------------------------------- URL hash
    function list(values) { return values.map(encodeURIComponent).join(","); }
    function decoded(v) {  // a hand-edited link ("%E0%A4%A") is taken as typed
      try { return decodeURIComponent(v); } catch (e) { return v; }
    }
    function unlist(raw) { return raw.split(",").filter(Boolean).map(decoded); }
    /* The filters as hash parts (raw, already encoded); only those that narrow the view. */
    function toHash() {
      var out = [], off;
      off = D.types.filter(function (t) { return !st.types[t]; });
      if (off.length) out.push("type=" + list(D.types.filter(function (t) { return st.types[t]; })));
      off = D.statuses.filter(function (s) { return !st.statuses[s]; });
      if (off.length) out.push("status=" + list(D.statuses.filter(function (s) { return st.statuses[s]; })));
      if (st.actors.size && actorNames) out.push("actor=" + list(Array.from(st.actors).sort().map(function (k) { return actorNames[k]; })));
      else if (pendingActors) out.push("actor=" + list(pendingActors));
      if (st.admin1.size) out.push("admin1=" + list(Array.from(st.admin1).sort().map(function (k) { return ADMIN1_NAMES[k]; })));
      if (st.fatMin !== null || st.fatMax !== null) {
        out.push("fatalities=" + (st.fatMin === null ? "" : st.fatMin) + "-" +
                 (st.fatMax === null ? "" : st.fatMax) + (st.fatUnknown ? "" : "-known"));
      }
      if (st.text) out.push("q=" + encodeURIComponent(st.text));
      return out;
    }
    var actorNames = null, pendingActors = null;  // names known once the index is decoded
    /* Set the filters from raw hash values (a missing key: that filter off). A promise. */
    function fromHash(raw) {
      function names(key, all) {
        if (raw[key] === undefined) return null;
        return unlist(raw[key]).filter(function (v) { return all.indexOf(v) >= 0; });
      }
      var on = names("type", D.types);
      D.types.forEach(function (t) { st.types[t] = !on || on.indexOf(t) >= 0; });
      on = names("status", D.statuses);
      D.statuses.forEach(function (s) { st.statuses[s] = !on || on.indexOf(s) >= 0; });
      st.admin1.clear();  // the same sets the panel's lists hold
      (names("admin1", ADMIN1_NAMES) || []).forEach(function (n) { st.admin1.add(ADMIN1_NAMES.indexOf(n)); });
      var fat = /^(\d*)-(\d*)(-known)?$/.exec(raw.fatalities || "");
      st.fatMin = fat && fat[1] !== "" ? +fat[1] : null;
      st.fatMax = fat && fat[2] !== "" ? +fat[2] : null;
      st.fatUnknown = !(fat && fat[3]);
      st.text = raw.q ? decoded(raw.q).trim() : "";
      st.actors.clear();
      pendingActors = raw.actor ? unlist(raw.actor) : null;
      if (!pendingActors) return Promise.resolve();
      return loadActors().then(function (a) {
        actorNames = a.names;
        pendingActors.forEach(function (n) { if (a.byName.has(n)) st.actors.add(a.byName.get(n)); });
        pendingActors = null;
      });
    }

    // ---------------------------------------------------------------- panel parts
    /* A searchable checkbox list (actors, districts): the `limit` best matches by count. */
    function pickList(title, cls, source, selected, changed) {
      var box = el("details", "cm-pick " + cls), sum = el("summary", null, title);
      var search = el("input", "cm-pick-search"), ul = el("div", "cm-pick-list");
      search.type = "search"; search.placeholder = "find";
      search.setAttribute("aria-label", title + ": find");
      box.appendChild(sum); box.appendChild(search); box.appendChild(ul);
      function render() {
        source().then(function (src) {
          var q = fold(search.value), shown = 0;
          ul.textContent = "";
          var order = Array.from(selected);  // chosen ones first, then matches by count
          for (var k = 0; k < src.names.length && shown < 40; k++) {
            if (!selected.has(k) && (!q || fold(src.names[k]).indexOf(q) >= 0)) { order.push(k); shown++; }
          }
          order.forEach(function (k) {
            var lab = el("label"), cb = el("input");
            cb.type = "checkbox"; cb.checked = selected.has(k);
            cb.setAttribute("data-value", src.names[k]);
            cb.addEventListener("change", function () {
              if (cb.checked) selected.add(k); else selected.delete(k);
              changed();
            });
            lab.appendChild(cb);
            lab.appendChild(document.createTextNode(" " + src.names[k] + " "));
            lab.appendChild(el("span", "cm-count", String(src.counts[k]).replace(/\B(?=(\d{3})+(?!\d))/g, ",")));
            ul.appendChild(lab);
          });
          sum.textContent = title + (selected.size ? " (" + selected.size + ")" : "");
        });
      }
      search.addEventListener("input", render);
      box.addEventListener("toggle", function () { if (box.open) render(); });
      box.refresh = function () {  // a closed list with nothing chosen need not load anything
        if (box.open || selected.size) render();
        else sum.textContent = title;
      };
      return box;
    }
    function panel(changed) {
      var box = el("div", "cm-filters");
      var text = el("input", "cm-search"); text.type = "search";
      text.placeholder = "search title, place, description";
      text.setAttribute("aria-label", "search");
      var timer = null;
      text.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () { st.text = text.value.trim(); changed(); }, 250);
      });
      box.appendChild(text);
      var actorBox = pickList("Actors", "cm-actors", loadActors, st.actors, changed);
      var admBox = pickList("Province / district", "cm-admin1", function () {
        return loadColumns().then(function (c) { return {names: ADMIN1_NAMES, counts: c.admin1Counts}; });
      }, st.admin1, changed);
      box.appendChild(actorBox); box.appendChild(admBox);
      var fat = el("div", "cm-fatal"), lo = el("input"), hi = el("input"), unk = el("input");
      [lo, hi].forEach(function (x, k) {
        x.type = "number"; x.min = "0"; x.step = "1"; x.className = k ? "cm-fat-max" : "cm-fat-min";
        x.placeholder = k ? "max" : "min";
        x.setAttribute("aria-label", "fatalities " + (k ? "at most" : "at least"));
      });
      unk.type = "checkbox"; unk.checked = true; unk.className = "cm-fat-unknown";
      function fatChanged() {
        st.fatMin = lo.value === "" ? null : Math.max(0, Math.floor(+lo.value));
        st.fatMax = hi.value === "" ? null : Math.max(0, Math.floor(+hi.value));
        st.fatUnknown = unk.checked; changed();
      }
      [lo, hi, unk].forEach(function (x) { x.addEventListener("change", fatChanged); });
      fat.appendChild(document.createTextNode("Fatalities "));
      fat.appendChild(lo); fat.appendChild(document.createTextNode(" to ")); fat.appendChild(hi);
      var ul = el("label"); ul.appendChild(unk); ul.appendChild(document.createTextNode(" and not reported"));
      fat.appendChild(ul);
      box.appendChild(fat);
      box.sync = function () {  // the controls show the state (after a hash was applied)
        text.value = st.text;
        lo.value = st.fatMin === null ? "" : String(st.fatMin);
        hi.value = st.fatMax === null ? "" : String(st.fatMax);
        unk.checked = st.fatUnknown;
        actorBox.refresh(); admBox.refresh();
      };
      return box;
    }

    return {state: st, pass: PASS, apply: apply, toHash: toHash, fromHash: fromHash,
            panel: panel, loadActors: loadActors};
  }

  window.cmFilters = {create: create, fold: fold, el: el};
})();
