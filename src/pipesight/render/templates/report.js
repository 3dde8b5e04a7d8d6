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
  // a table row lights up its element in the graph
  document.querySelectorAll("tr[data-node]").forEach(function (tr) {
    var node = document.getElementById(tr.getAttribute("data-node"));
    if (!node) return;
    tr.addEventListener("mouseenter", function () { node.classList.add("hl"); });
    tr.addEventListener("mouseleave", function () { node.classList.remove("hl"); });
  });
  // a graph fits the page width, or shows at full size
  document.querySelectorAll("button.fit").forEach(function (b) {
    b.addEventListener("click", function () {
      var box = document.getElementById(b.getAttribute("data-target"));
      if (box) box.classList.toggle("fitted");
    });
  });
})();
