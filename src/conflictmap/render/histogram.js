/* conflictmap timeline histogram: events per day (per week over long spans) under the slider,
 * handover dates marked, drag to choose a window. Our own code (MIT, conflictmap).
 */
(function () {
  "use strict";

  var HEIGHT = 54, TICK = 6;

  /* opts: {days, label(day) -> text, marks: [[day, text]], pick(lo, hi), day(d), unit?}
   * unit: days a bar (default: 1, or 7 over spans longer than 200 days) */
  function create(opts) {
    var unit = opts.unit || (opts.days > 200 ? 7 : 1), nb = Math.ceil(opts.days / unit);
    var canvas = document.createElement("canvas");
    canvas.className = "cm-histogram";
    canvas.setAttribute("role", "img");
    var bars = new Int32Array(nb), view = {lo: 0, hi: opts.days - 1, day: opts.days - 1};
    var drag = null;

    var pending = false;
    function later() {  // paint once a frame: reading the width then forces no extra layout
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () { pending = false; draw(); });
    }
    function width() { return canvas.clientWidth || 270; }
    function dayAt(ev) {
      var r = canvas.getBoundingClientRect();
      var b = Math.floor((ev.clientX - r.left) / r.width * nb);
      return Math.max(0, Math.min(opts.days - 1, Math.max(0, Math.min(nb - 1, b)) * unit));
    }
    function draw() {
      var w = width(), dpr = window.devicePixelRatio || 1;
      if (canvas.width !== Math.round(w * dpr)) {
        canvas.width = Math.round(w * dpr); canvas.height = Math.round(HEIGHT * dpr);
      }
      var ctx = canvas.getContext("2d");
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, w, HEIGHT);
      var max = 1, bw = w / nb, lo = view.lo, hi = view.hi;
      if (drag) { lo = Math.min(drag.a, drag.b); hi = Math.max(drag.a, drag.b); }
      for (var b = 0; b < nb; b++) max = Math.max(max, bars[b]);
      var plot = HEIGHT - TICK - 2;
      for (b = 0; b < nb; b++) {
        if (!bars[b]) continue;
        var h = Math.max(1, bars[b] / max * (plot - 2)), d0 = b * unit;
        var inside = d0 + unit - 1 >= lo && d0 <= hi;
        ctx.fillStyle = inside ? "#3a3a3a" : "#c4c4c4";
        ctx.fillRect(b * bw + (bw > 3 ? 0.5 : 0), plot - h, Math.max(1, bw - (bw > 3 ? 1 : 0)), h);
      }
      ctx.fillStyle = "rgba(255, 208, 0, 0.3)";  // the window, when it is one
      if (lo > 0 || drag) ctx.fillRect(Math.floor(lo / unit) * bw, 0, (Math.floor(hi / unit) - Math.floor(lo / unit) + 1) * bw, plot);
      ctx.fillStyle = "#000";  // the "as of" day
      ctx.fillRect(Math.floor(view.day / unit) * bw + bw / 2 - 1, 0, 2, plot);
      ctx.fillStyle = "#c0392b";  // handovers: a triangle under the axis
      opts.marks.forEach(function (m) {
        var x = Math.floor(m[0] / unit) * bw + bw / 2;
        ctx.beginPath(); ctx.moveTo(x, plot + 1); ctx.lineTo(x + 4, HEIGHT); ctx.lineTo(x - 4, HEIGHT);
        ctx.closePath(); ctx.fill();
      });
      ctx.fillStyle = "#888"; ctx.fillRect(0, plot, w, 1);
    }
    function tip(ev) {
      var d = dayAt(ev), b = Math.floor(d / unit);
      var text = opts.label(b * unit) + (unit > 1 ? " (week)" : "") + ": " + bars[b] + " events";
      opts.marks.forEach(function (m) { if (Math.floor(m[0] / unit) === b) text += "\n" + m[1]; });
      canvas.title = text;
    }
    canvas.addEventListener("pointerdown", function (ev) {
      drag = {a: dayAt(ev), b: dayAt(ev), moved: false};
      canvas.setPointerCapture(ev.pointerId);
      ev.preventDefault();
    });
    canvas.addEventListener("pointermove", function (ev) {
      tip(ev);
      if (!drag) return;
      var d = dayAt(ev);
      if (Math.floor(d / unit) !== Math.floor(drag.a / unit)) drag.moved = true;
      drag.b = d; later();
    });
    function end(ev) {
      if (!drag) return;
      var g = drag; drag = null;
      if (ev.type === "pointercancel") { later(); return; }
      if (g.moved) {
        var lo = Math.min(g.a, g.b), hi = Math.min(opts.days - 1, Math.max(g.a, g.b) + unit - 1);
        opts.pick(lo, hi);
      } else {
        opts.day(Math.min(opts.days - 1, g.a + unit - 1));
      }
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);

    return {
      node: canvas, unit: unit,
      /* counts: events per day passing the filters; lo..hi the window; day the "as of" day */
      update: function (counts, lo, hi, day) {
        bars.fill(0);
        for (var d = 0; d < counts.length; d++) bars[Math.floor(d / unit)] += counts[d];
        view.lo = lo; view.hi = hi; view.day = day;
        later();
      },
      moveTo: function (lo, hi, day) { view.lo = lo; view.hi = hi; view.day = day; later(); },
      bars: function () { return Array.from(bars); }
    };
  }

  window.cmHistogram = {create: create};
})();
