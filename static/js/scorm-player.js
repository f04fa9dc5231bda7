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
    if (settings.version !== "1.2") {
      followNavigationRequests(api);
    }
  }

  // SCORM 2004 RTE §4.4: the SCO reads adl.nav.request_valid (answered by the tool for this
  // item) and may set adl.nav.request; the player acts on it once the SCO has terminated.
  function followNavigationRequests(api2004) {
    var nav = settings.nav;
    var valid = api2004.adl.nav.request_valid;
    valid.continue = nav.requestValid.continue;
    valid.previous = nav.requestValid.previous;
    valid.choice.setAll(nav.requestValid.choice);
    var pending = "_none_";
    api2004.on("SetValue.adl.nav.request", function (element, value) {
      pending = String(value);
    });
    api2004.on("Terminate", function () {
      var match = /^\{target=([^}]*)\}(choice|jump)$/.exec(pending);
      var wanted = match ? "choice" : pending.replace(/^_/, "");
      if (["continue", "previous", "choice", "exit", "exitAll", "suspendAll"].indexOf(wanted) < 0) {
        return;
      }
      var url = nav.url + "?request=" + encodeURIComponent(wanted) +
        "&from=" + encodeURIComponent(nav.from) +
        (match ? "&target=" + encodeURIComponent(match[1]) : "");
      // After scorm-again has finished Terminate (its final commit is a keepalive request).
      window.setTimeout(function () { window.location.assign(url); }, 0);
    });
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
