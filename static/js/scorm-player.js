// The SCORM player: sets up scorm-again's run-time API (window.API for SCORM 1.2,
// window.API_1484_11 for 2004) with the attempt's CMI, then loads the SCO into its frame.
// Every commit carries the runtime token (a header; in the body too for the page-hide commit,
// as a beacon cannot set headers) and a sequence number the tool uses to keep the newest data.
(function () {
  "use strict";
  var root = document.getElementById("scorm-player");
  var frame = document.getElementById("scorm-frame");
  if (!root || !frame) {
    return;
  }
  var settings = JSON.parse(root.getAttribute("data-settings"));
  var seq = settings.seq;
  var api = null;

  function body(cmi, final) {
    seq += 1;
    return { sco: settings.sco, seq: seq, final: final, cmi: cmi, token: settings.token };
  }

  if (settings.isSco) {
    var options = {
      lmsCommitUrl: settings.commitUrl,
      dataCommitFormat: "flattened",
      autocommit: true,
      autocommitSeconds: 30,
      selfReportSessionTime: true,
      alwaysSendTotalTime: true,
      logLevel: 4,
      xhrHeaders: { "X-Runtime-Token": settings.token },
      requestHandler: function (commitObject, metadata) {
        return body(commitObject, Boolean(metadata && metadata.isTerminateCommit));
      }
    };
    if (settings.version === "1.2") {
      api = new window.Scorm12API(options);
      window.API = api;
    } else {
      api = new window.Scorm2004API(options);
      window.API_1484_11 = api;
    }
    // Before the SCO initializes: read-only values (entry, launch data) can be set only now.
    api.loadFromJSON(settings.cmi, "cmi");
  }

  // The learner closes the tab or leaves mid-way: send what the SCO has set so far, with a
  // request that outlives the page (fetch keepalive; a beacon where fetch cannot).
  window.addEventListener("pagehide", function () {
    if (!api || !api.isInitialized() || api.isTerminated()) {
      return;
    }
    var payload = JSON.stringify(body(api.renderCommitCMI(true), false));
    try {
      fetch(settings.commitUrl, {
        method: "POST",
        keepalive: true,
        headers: { "Content-Type": "application/json", "X-Runtime-Token": settings.token },
        body: payload
      });
    } catch (error) {
      navigator.sendBeacon(settings.commitUrl, new Blob([payload], { type: "text/plain" }));
    }
  });

  frame.setAttribute("src", frame.getAttribute("data-src"));
})();
