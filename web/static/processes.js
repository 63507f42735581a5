// Draws each diagram of the process library pages with the workbench viewer, when the
// bundle is there; without it the document text stays on the page.
(function () {
  "use strict";
  function draw() {
    if (!window.Workbench || typeof window.Workbench.viewer !== "function") { return; }
    document.querySelectorAll("[data-viewer]").forEach(function (canvas) {
      var source = document.getElementById(canvas.getAttribute("data-viewer"));
      if (!source) { return; }
      var data = JSON.parse(source.textContent);
      canvas.classList.add("is-drawing");
      window.Workbench.viewer(canvas, data.xml, data.marks || {}).then(function () {
        canvas.classList.replace("is-drawing", "is-drawn");
        canvas.setAttribute("data-drawn", "true");
      }, function (error) {
        canvas.classList.remove("is-drawing");
        canvas.setAttribute("data-error", String(error && error.message || error));
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
