// Draws a case's path on its version's diagrams (the replay page, the case page): the
// viewer marks the path taken and where the case is; this script adds the loop counts
// and the missed deadlines, and links the diagram to the table of steps. Without the
// viewer bundle the page's tables still say everything.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";

  function svg(name, attributes) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    return node;
  }

  function graphics(canvas, id) {
    try { return canvas.getGraphics(id) || null; } catch (e) { return null; }
  }

  function mark(canvas, id, marker) {
    if (graphics(canvas, id)) { canvas.addMarker(id, marker); }
  }

  // A badge at the element's top right corner, inside its graphics group so that it
  // moves and zooms with the diagram.
  function loopBadge(canvas, id, count, label) {
    var gfx = graphics(canvas, id);
    if (!gfx) { return; }
    var box = gfx.getBBox();
    var badge = svg("g", { "class": "rp-loop", "data-loops": String(count),
      transform: "translate(" + (box.x + box.width - 6) + "," + (box.y - 10) + ")" });
    var title = svg("title");
    title.textContent = "×" + count + " " + label;
    badge.appendChild(title);
    badge.appendChild(svg("rect", { x: "-4", y: "-2", width: "30", height: "20", rx: "10", ry: "10" }));
    var text = svg("text", { x: "11", y: "12", "text-anchor": "middle" });
    text.textContent = "×" + count;
    badge.appendChild(text);
    gfx.appendChild(badge);
  }

  function rowsOf(file, id) {
    return Array.prototype.filter.call(document.querySelectorAll("tr[data-element]"), function (row) {
      return row.getAttribute("data-element") === id && (!file || row.getAttribute("data-file") === file);
    });
  }

  function choose(file, id) {
    document.querySelectorAll("tr.is-selected").forEach(function (row) { row.classList.remove("is-selected"); });
    var rows = rowsOf(file, id);
    rows.forEach(function (row) { row.classList.add("is-selected"); });
    if (rows.length) {
      var table = document.getElementById("replay-steps");
      if (table) { table.classList.remove("is-steps-only"); }
      var all = document.getElementById("replay-all-elements");
      if (all) { all.checked = true; }
      rows[0].scrollIntoView({ block: "center" });
    }
  }

  function draw(canvasEl) {
    var source = document.getElementById(canvasEl.getAttribute("data-replay"));
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    var figure = canvasEl.closest("[data-file]");
    var file = figure ? figure.getAttribute("data-file") : "";
    canvasEl.classList.add("is-drawing");
    window.Workbench.viewer(canvasEl, data.xml, data.marks || {}).then(function (view) {
      var canvas = view.canvas;
      (data.breached || []).forEach(function (id) { mark(canvas, id, "rp-breached"); });
      Object.keys(data.loops || {}).forEach(function (id) {
        loopBadge(canvas, id, data.loops[id], (data.labels || {}).passes || "");
      });
      canvasEl.addEventListener("click", function (event) {
        var element = event.target.closest && event.target.closest("[data-element-id]");
        if (element) { choose(file, element.getAttribute("data-element-id")); }
      });
      canvasEl.classList.remove("is-drawing");
      canvasEl.classList.add("is-drawn");
      canvasEl.setAttribute("data-drawn", "true");
    }, function (error) {
      canvasEl.classList.remove("is-drawing");
      canvasEl.setAttribute("data-error", String(error && error.message || error));
    });
  }

  function start() {
    var toggle = document.getElementById("replay-all-elements");
    var table = document.getElementById("replay-steps");
    if (toggle && table) {
      toggle.addEventListener("change", function () {
        table.classList.toggle("is-steps-only", !toggle.checked);
      });
    }
    if (!window.Workbench || typeof window.Workbench.viewer !== "function") { return; }
    document.querySelectorAll("[data-replay]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
