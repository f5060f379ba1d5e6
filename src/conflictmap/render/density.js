/* conflictmap density: screen-space groups that never overlap, and hexagon bins. Our own code
 * (MIT, conflictmap). Pure functions over typed arrays of screen points, so a redraw of 100k
 * events is arithmetic, not objects.
 */
(function () {
  "use strict";

  var GAP = 2;  // px kept clear between two marks
  function radius(n) { return n > 1 ? 10 + Math.min(14, Math.log(n) * 3) : 9; }

  /* Group the points xs/ys[0..n) (screen px) into marks whose discs never intersect.
   * First a grid of `cell` px gathers points, then any two marks whose discs come closer than
   * GAP merge (weighted centre, radius by count) until none do: supercluster's result without
   * its tree, since a screen holds at most a few thousand cells. Returns the marks (x, y, n, r)
   * and, for each point, the index of the mark it went into. */
  function groups(xs, ys, n, cell, width, height) {
    var margin = 2 * cell;
    var cols = Math.ceil((width + 2 * margin) / cell) + 1;
    var rows = Math.ceil((height + 2 * margin) / cell) + 1;
    var binOf = new Int32Array(cols * rows).fill(-1), of = new Int32Array(n);
    var gx = [], gy = [], gn = [];
    for (var i = 0; i < n; i++) {
      var b = Math.floor((ys[i] + margin) / cell) * cols + Math.floor((xs[i] + margin) / cell);
      var g = binOf[b];
      if (g < 0) { g = binOf[b] = gn.length; gx.push(0); gy.push(0); gn.push(0); }
      gx[g] += xs[i]; gy[g] += ys[i]; gn[g]++; of[i] = g;
    }
    var K = gn.length, parent = new Int32Array(K), alive = new Uint8Array(K).fill(1);
    for (var k = 0; k < K; k++) { parent[k] = k; gx[k] /= gn[k]; gy[k] /= gn[k]; }
    var reach = 2 * radius(1e9) + GAP, merged = true;
    while (merged) {  // every pass with a merge removes a mark, so this ends
      merged = false;
      var hash = new Map();
      for (k = 0; k < K; k++) {
        if (!alive[k]) continue;
        var key = Math.floor(gx[k] / reach) + "," + Math.floor(gy[k] / reach);
        var list = hash.get(key);
        if (list) list.push(k); else hash.set(key, [k]);
      }
      for (k = 0; k < K; k++) {
        if (!alive[k]) continue;
        var hx = Math.floor(gx[k] / reach), hy = Math.floor(gy[k] / reach);
        for (var dx = -1; dx <= 1; dx++) {
          for (var dy = -1; dy <= 1; dy++) {
            var near = hash.get((hx + dx) + "," + (hy + dy));
            if (!near) continue;
            for (var t = 0; t < near.length; t++) {
              var o = near[t];
              if (o === k || !alive[o] || !alive[k]) continue;
              var ex = gx[k] - gx[o], ey = gy[k] - gy[o], lim = radius(gn[k]) + radius(gn[o]) + GAP;
              if (ex * ex + ey * ey >= lim * lim) continue;
              var a = gn[k] >= gn[o] ? k : o, z = a === k ? o : k, sum = gn[a] + gn[z];
              gx[a] = (gx[a] * gn[a] + gx[z] * gn[z]) / sum;
              gy[a] = (gy[a] * gn[a] + gy[z] * gn[z]) / sum;
              gn[a] = sum; alive[z] = 0; parent[z] = a; merged = true;
            }
          }
        }
      }
    }
    function root(k) { while (parent[k] !== k) k = parent[k] = parent[parent[k]]; return k; }
    var index = new Int32Array(K).fill(-1), marks = [];
    for (k = 0; k < K; k++) {
      if (!alive[k]) continue;
      index[k] = marks.length;
      marks.push({x: gx[k], y: gy[k], n: gn[k], r: radius(gn[k]), first: -1});
    }
    for (i = 0; i < n; i++) {
      var m = index[root(of[i])];
      of[i] = m;
      if (marks[m].first < 0) marks[m].first = i;
    }
    return {marks: marks, of: of};
  }

  var SQRT3 = Math.sqrt(3);
  /* Pointy-top hexagons of `size` px (centre to corner) anchored to the map's own pixel grid
   * (ox, oy: the world pixel of the view's top-left corner), so bins stay put when the map
   * pans. Points lie within `margin` px of a width x height view, so the bins fit one typed
   * grid (no hashing). Returns the occupied bins (x, y: centre on screen; n: points, or the
   * sum of their weights `ws` when given), and each point's bin. */
  function hexbin(xs, ys, n, size, ox, oy, width, height, margin, ws) {
    var r0 = Math.floor((oy - margin) / (1.5 * size)) - 2;
    var c0 = Math.floor((ox - margin) / (SQRT3 * size)) - 2;
    var R = Math.ceil((height + 2 * margin) / (1.5 * size)) + 5;
    var C = Math.ceil((width + 2 * margin) / (SQRT3 * size)) + 5;
    var slot = new Int32Array(R * C).fill(-1), bins = [], of = new Int32Array(n);
    for (var i = 0; i < n; i++) {
      var wx = xs[i] + ox, wy = ys[i] + oy;
      var q = (SQRT3 / 3 * wx - wy / 3) / size, r = (2 / 3 * wy) / size, s = -q - r;
      var rq = Math.round(q), rr = Math.round(r), rs = Math.round(s);
      var dq = Math.abs(rq - q), dr = Math.abs(rr - r), ds = Math.abs(rs - s);
      if (dq > dr && dq > ds) rq = -rr - rs; else if (dr > ds) rr = -rq - rs;
      var k = (rr - r0) * C + (rq + Math.floor(rr / 2) - c0);  // offset row and column
      var b = slot[k];
      if (b < 0) {
        b = slot[k] = bins.length;
        bins.push({x: size * SQRT3 * (rq + rr / 2) - ox, y: size * 1.5 * rr - oy, n: 0});
      }
      bins[b].n += ws ? ws[i] : 1; of[i] = b;
    }
    return {bins: bins, of: of};
  }
  function hexPath(ctx, x, y, size) {
    ctx.beginPath();
    for (var k = 0; k < 6; k++) {
      var a = Math.PI / 180 * (60 * k - 30);
      ctx[k ? "lineTo" : "moveTo"](x + size * Math.cos(a), y + size * Math.sin(a));
    }
    ctx.closePath();
  }

  /* Class breaks for the bins' counts: at most `classes` lower bounds from 1, evenly spaced on
   * a log scale up to the largest count (event counts are skewed: a few places hold most),
   * rounded to two significant digits so the legend reads "1", "2-4", "5-10", ... */
  function round2(v) {
    var m = Math.pow(10, Math.max(0, Math.floor(Math.log10(v)) - 1));
    return Math.round(v / m) * m;
  }
  function breaks(counts, classes) {
    var max = 1, out = [1];
    for (var i = 0; i < counts.length; i++) if (counts[i] > max) max = counts[i];
    for (var k = 1; k < classes; k++) {
      var b = round2(Math.pow(max, k / classes));
      if (b > out[out.length - 1]) out.push(b);
    }
    return out;
  }
  function classOf(n, bks) {
    var c = 0;
    while (c + 1 < bks.length && n >= bks[c + 1]) c++;
    return c;
  }

  window.cmDensity = {groups: groups, radius: radius, hexbin: hexbin, hexPath: hexPath,
                      breaks: breaks, classOf: classOf, SQRT3: SQRT3};
})();
