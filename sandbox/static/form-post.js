// OIDC form_post response: send the id_token and state to the tool at once (the button stays
// for browsers without scripts).
(function () {
  "use strict";
  var form = document.getElementById("sandbox-form-post");
  if (form) { form.submit(); }
})();
