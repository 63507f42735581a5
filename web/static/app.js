// Progressive enhancements only: every page works without this file.
(function () {
  "use strict";
  // Times are shown in the visitor's own zone: tell the server which one that is.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("tz=") === -1) {
      document.cookie = "tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
    }
    document.querySelectorAll("input[data-browser-zone]").forEach(function (input) {
      if (!input.value && zone) { input.value = zone; }
    });
  } catch (e) { /* an old browser: the company's zone applies */ }
  // An in-place update the server refused (an expired form, a lost permission) must not
  // fail silently: say so where flash messages appear.
  document.addEventListener("htmx:responseError", function () {
    var main = document.getElementById("main");
    var text = document.body.getAttribute("data-update-failed");
    if (!main || !text || document.getElementById("update-failed")) { return; }
    var note = document.createElement("p");
    note.id = "update-failed";
    note.className = "flash flash--error";
    note.setAttribute("role", "alert");
    note.textContent = text;
    main.insertBefore(note, main.firstChild);
  });
})();
