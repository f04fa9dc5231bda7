// LTI Client Side OIDC Launch (platform storage): keep the login's state and nonce in the
// platform's window with postMessage, and read the state back at launch time, for browsers
// that block the tool's cookie inside the LMS iframe.
// LTI Client Side postMessages §2: messages go to the platform's frame with the platform's
// origin as target origin, never "*", and only answers from that frame and origin count; the
// server refuses the launch (platform_origin_unknown) before a page without an origin is made.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("lti-storage-config").textContent);
  var TIMEOUT_MS = 2000;

  function targetWindow() {
    var parentWindow = window.opener || window.parent;
    if (!config.target || config.target === "_parent") { return parentWindow; }
    try { return parentWindow.frames[config.target] || parentWindow; } catch (e) { return parentWindow; }
  }

  function ask(subject, payload) {
    return new Promise(function (resolve, reject) {
      if (typeof config.origin !== "string" || !/^https?:\/\/[^\/]+$/.test(config.origin)) {
        reject(new Error("platform_origin_unknown"));
        return;
      }
      var target = targetWindow();
      var id = "m-" + Math.random().toString(36).slice(2) + Date.now().toString(36);
      var timer = setTimeout(function () { cleanup(); reject(new Error("timeout")); }, TIMEOUT_MS);
      function cleanup() { clearTimeout(timer); window.removeEventListener("message", onMessage); }
      function onMessage(event) {
        if (event.origin !== config.origin || event.source !== target) { return; }
        var data = event.data;
        if (typeof data === "string") { try { data = JSON.parse(data); } catch (e) { return; } }
        if (!data || data.message_id !== id) { return; }
        var expected = [subject + ".response", "org.imsglobal." + subject + ".response"];
        if (expected.indexOf(data.subject) < 0) { return; }
        cleanup();
        if (data.error) { reject(new Error(data.error.code || "error")); } else { resolve(data); }
      }
      window.addEventListener("message", onMessage);
      var message = Object.assign({ subject: subject, message_id: id }, payload);
      target.postMessage(message, config.origin);
    });
  }

  if (config.mode === "put") {
    Promise.all([
      ask("lti.put_data", { key: "state_" + config.state, value: config.state }),
      ask("lti.put_data", { key: "nonce_" + config.nonce, value: config.nonce })
    ]).catch(function () { /* the cookie may still carry the state */ })
      .then(function () { window.location.replace(config.redirect); });
  } else {
    var form = document.getElementById("lti-storage-form");
    ask("lti.get_data", { key: "state_" + config.state })
      .then(function (data) { form.elements.lti_storage_state.value = data.value || ""; })
      .catch(function () { form.elements.lti_storage_state.value = ""; })
      .then(function () { form.submit(); });
  }
})();
