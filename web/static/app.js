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
})();
