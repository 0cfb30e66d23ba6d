// Sign-in by QR code: the code's link is /signin#token=<token>. The fragment never reaches
// the server (not in a request line, not in a log); this script reads it, removes it from
// the address bar and the history at once, and posts the token with the sign-in form.
(function () {
  "use strict";
  var hash = window.location.hash;
  if (!hash || hash.length < 2) {
    return;
  }
  var token = new URLSearchParams(hash.slice(1)).get("token");
  var clean = window.location.pathname + window.location.search;
  window.history.replaceState(window.history.state, "", clean);
  var form = document.getElementById("signin-form");
  var field = document.getElementById("token");
  if (!token || !form || !field) {
    return;
  }
  field.value = token.trim();
  form.submit();
})();
