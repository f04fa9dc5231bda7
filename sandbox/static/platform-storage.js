// LTI Client Side postMessages, platform storage: the course page keeps the tool's login
// state and nonce for it (lti.capabilities, lti.put_data, lti.get_data), so a launch works in
// browsers that block the tool's cookie inside this third-party iframe.
(function () {
  "use strict";
  var root = document.getElementById("sandbox-course");
  if (!root) { return; }
  var toolOrigin = root.getAttribute("data-tool-origin");
  var PREFIX = "org.imsglobal.";
  var memory = {};

  function storageKey(origin, key) { return "lti-storage|" + origin + "|" + key; }

  function putValue(origin, key, value) {
    var name = storageKey(origin, key);
    memory[name] = value;
    try {
      window.sessionStorage.setItem(name, JSON.stringify(value));
    } catch (e) { /* storage may be disabled; the in-memory copy serves this page */ }
  }

  function getValue(origin, key) {
    var name = storageKey(origin, key);
    if (Object.prototype.hasOwnProperty.call(memory, name)) { return memory[name]; }
    try {
      var raw = window.sessionStorage.getItem(name);
      if (raw !== null) { return JSON.parse(raw); }
    } catch (e) { /* fall through: nothing stored */ }
    return null;
  }

  function plainSubject(subject) {
    return subject.indexOf(PREFIX) === 0 ? subject.slice(PREFIX.length) : subject;
  }

  function answer(data) {
    var subject = plainSubject(data.subject);
    var reply = { subject: data.subject + ".response", message_id: data.message_id };
    var hasKey = typeof data.key === "string" && data.key !== "";
    if (subject === "lti.capabilities") {
      reply.supported_messages = [
        { subject: "lti.put_data", frame: "_parent" },
        { subject: "lti.get_data", frame: "_parent" }
      ];
    } else if (subject === "lti.put_data" || subject === "lti.get_data") {
      if (!hasKey) {
        reply.error = { code: "bad_request", message: "key is required" };
      } else if (subject === "lti.put_data") {
        putValue(toolOrigin, data.key, data.value);
        reply.key = data.key;
        reply.value = data.value;
      } else {
        reply.key = data.key;
        reply.value = getValue(toolOrigin, data.key);
      }
    } else {
      reply.error = { code: "unsupported_subject", message: "unsupported subject " + data.subject };
    }
    return reply;
  }

  window.addEventListener("message", function (event) {
    // Only the registered tool may use the storage; its data is kept apart per origin.
    if (event.origin !== toolOrigin || !event.source) { return; }
    var data = event.data;
    if (typeof data === "string") {
      try { data = JSON.parse(data); } catch (e) { return; }
    }
    if (!data || typeof data.subject !== "string") { return; }
    if (plainSubject(data.subject).indexOf("lti.") !== 0) { return; }
    event.source.postMessage(answer(data), event.origin);
  });
})();
