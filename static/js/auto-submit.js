// Submit the deep-linking response form at once (the button stays for no-script users).
(function () {
  "use strict";
  var form = document.getElementById("lti-auto-submit");
  if (form) { form.submit(); }
})();
