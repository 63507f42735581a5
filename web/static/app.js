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
  // Copy buttons: hidden without this file (the text can still be selected by hand);
  // the clipboard where the browser allows it, else the text selected for Ctrl+C.
  // The result is said in words next to the button.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-copy") + "-status");
    if (!source) { return; }
    button.hidden = false;
    function say(text) { if (status) { status.textContent = text; } }
    function selectSource() {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
    button.addEventListener("click", function () {
      var text = source.textContent.trim();
      say("");
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () {
          say(button.getAttribute("data-copied"));
        }, function () {
          selectSource();
          say(button.getAttribute("data-copy-failed"));
        });
      } else {
        selectSource();
        var copied = false;
        try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
        say(button.getAttribute(copied ? "data-copied" : "data-copy-failed"));
      }
    });
  });
})();
