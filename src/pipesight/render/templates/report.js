(function () {
  "use strict";
  // sortable tables: numbers sort as numbers (data-v), blanks always last
  function key(td) {
    var v = td.getAttribute("data-v");
    if (v === "") return null;
    if (v !== null) {
      var n = parseFloat(v);
      if (!isNaN(n)) return n;
    }
    var t = td.textContent.trim().toLowerCase();
    return t === "" || t === "-" ? null : t;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, col) {
      th.setAttribute("tabindex", "0");
      function sort() {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var dir = th.getAttribute("aria-sort") === "descending" ? 1 : -1;
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
        rows.sort(function (a, b) {
          var x = key(a.cells[col]), y = key(b.cells[col]);
          if (x === null || y === null) return (x === null) - (y === null);
          if (typeof x !== typeof y) return typeof x === "number" ? -1 : 1;
          return (x < y ? -1 : x > y ? 1 : 0) * dir;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sort(); });
    });
  });
  // the pipeline graph opens fitted to its box; where fitting would shrink its labels below
  // 5 px, it opens with them at 7 px, centred on the bottleneck. Drag moves it, Ctrl+wheel
  // (or a pinch) and the buttons zoom, a click on a table row shows its element
  var FIT_MIN = 0.5;  // px per point: the graph's 10 pt labels at 5 px
  var LEGIBLE = 0.7;  // ... at 7 px
  var ACTUAL = 96 / 72;  // px per point at 1:1 (Graphviz draws in points)
  var viewers = {};
  function Viewer(box) {
    var svg = box.querySelector("svg.pipeline-graph");
    var vb = svg.viewBox.baseVal;
    var full = {x: vb.x, y: vb.y, w: vb.width, h: vb.height};
    var self = this, v = {x: 0, y: 0, s: 1}, W = 0, H = 0;
    function userCentre(node) {  // a node's centre in the SVG's own coordinates
      var bb = node.getBBox();
      var m = node.parentNode.transform && node.parentNode.transform.baseVal.consolidate();
      var p = svg.createSVGPoint();
      p.x = bb.x + bb.width / 2;
      p.y = bb.y + bb.height / 2;
      return m ? p.matrixTransform(m.matrix) : p;
    }
    function apply() {
      svg.setAttribute("width", W);
      svg.setAttribute("height", H);
      svg.setAttribute("viewBox", [v.x, v.y, W / v.s, H / v.s].join(" "));
      box.setAttribute("data-scale", v.s.toFixed(4));
    }
    function centreOn(c, s) {
      v.s = s;
      var w = W / s, h = H / s;
      // stay on the drawing: clamp where it is larger than the box, centre where smaller
      v.x = w >= full.w ? full.x - (w - full.w) / 2
        : Math.min(Math.max(c.x - w / 2, full.x), full.x + full.w - w);
      v.y = h >= full.h ? full.y - (h - full.h) / 2
        : Math.min(Math.max(c.y - h / 2, full.y), full.y + full.h - h);
      apply();
    }
    this.fitScale = function () { return Math.min(W / full.w, self.maxH / full.h, ACTUAL); };
    this.open = function () {
      W = box.clientWidth || 800;
      self.maxH = Math.max(240, Math.round(window.innerHeight * 0.7));
      var fit = self.fitScale();
      var s = fit >= FIT_MIN ? fit : LEGIBLE;
      H = Math.round(Math.max(120, Math.min(self.maxH, full.h * s)));
      var b = svg.querySelector("g.node.bottleneck");
      centreOn(b && s > fit ? userCentre(b) : {x: full.x + full.w / 2, y: full.y + full.h / 2},
               s);
    };
    this.zoom = function (f, px, py) {
      var s = Math.min(Math.max(v.s * f, Math.min(self.fitScale(), FIT_MIN) / 2), 4 * ACTUAL);
      px = px === undefined ? W / 2 : px;
      py = py === undefined ? H / 2 : py;
      centreOn({x: v.x + px / v.s + (W / 2 - px) / s, y: v.y + py / v.s + (H / 2 - py) / s}, s);
    };
    this.fit = function () {
      centreOn({x: full.x + full.w / 2, y: full.y + full.h / 2}, self.fitScale());
    };
    this.actual = function () {
      var b = svg.querySelector("g.node.bottleneck");
      centreOn(b ? userCentre(b) : {x: v.x + W / 2 / v.s, y: v.y + H / 2 / v.s}, ACTUAL);
    };
    this.show = function (node) {
      centreOn(userCentre(node), Math.max(v.s, LEGIBLE));
    };
    var drag = null;
    box.addEventListener("pointerdown", function (e) {
      drag = {x: e.clientX, y: e.clientY, vx: v.x, vy: v.y};
      box.classList.add("dragging");
      if (box.setPointerCapture) box.setPointerCapture(e.pointerId);
    });
    box.addEventListener("pointermove", function (e) {
      if (!drag) return;
      v.x = drag.vx - (e.clientX - drag.x) / v.s;
      v.y = drag.vy - (e.clientY - drag.y) / v.s;
      apply();
    });
    function end() { drag = null; box.classList.remove("dragging"); }
    box.addEventListener("pointerup", end);
    box.addEventListener("pointercancel", end);
    box.addEventListener("wheel", function (e) {
      if (!e.ctrlKey && !e.metaKey) return;  // a plain wheel scrolls the page
      e.preventDefault();
      var r = box.getBoundingClientRect();
      self.zoom(Math.exp(-e.deltaY / 300), e.clientX - r.left, e.clientY - r.top);
    }, {passive: false});
    this.open();
  }
  document.querySelectorAll(".graphbox").forEach(function (box) {
    if (box.querySelector("svg.pipeline-graph")) viewers[box.id] = new Viewer(box);
  });
  document.querySelectorAll("button[data-zoom]").forEach(function (b) {
    b.addEventListener("click", function () {
      var g = viewers[b.getAttribute("data-target")];
      var what = b.getAttribute("data-zoom");
      if (!g) return;
      if (what === "in") g.zoom(1.5);
      else if (what === "out") g.zoom(1 / 1.5);
      else if (what === "fit") g.fit();
      else if (what === "actual") g.actual();
    });
  });
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      Object.keys(viewers).forEach(function (k) { viewers[k].open(); });
    }, 150);
  });
  // a table row lights up its element in the graph; a click brings it into view
  document.querySelectorAll("tr[data-node]").forEach(function (tr) {
    var node = document.getElementById(tr.getAttribute("data-node"));
    if (!node) return;
    tr.addEventListener("mouseenter", function () { node.classList.add("hl"); });
    tr.addEventListener("mouseleave", function () { node.classList.remove("hl"); });
    tr.addEventListener("click", function () {
      var box = node.closest(".graphbox");
      var g = box && viewers[box.id];
      if (g) g.show(node);
    });
  });
})();
