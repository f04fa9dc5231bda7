// Reading progress: tell the tool how far the learner has scrolled through the module
// (25/50/75/100 %), once per milestone, with the launch token (no cookies in the LMS iframe).
(function () {
  "use strict";
  var article = document.querySelector("article[data-progress-url]");
  if (!article || !window.fetch) { return; }
  var url = article.getAttribute("data-progress-url");
  var token = article.getAttribute("data-launch-token");
  var reported = parseInt(article.getAttribute("data-progress") || "0", 10);
  var bar = document.getElementById("reading-progress");
  var busy = false;

  function percentRead() {
    var rect = article.getBoundingClientRect();
    var seen = window.innerHeight - rect.top;
    if (rect.height <= 0) { return 100; }
    return Math.max(0, Math.min(100, Math.round(100 * seen / rect.height)));
  }

  function report() {
    var milestone = Math.floor(percentRead() / 25) * 25;
    if (busy || milestone <= reported) { return; }
    busy = true;
    var body = new URLSearchParams({ lt: token, percent: String(milestone) });
    fetch(url, { method: "POST", body: body, credentials: "omit" })
      .then(function (response) {
        if (response.ok) {
          reported = milestone;
          if (bar) { bar.value = milestone; bar.textContent = milestone + "%"; }
        }
      })
      .catch(function () { /* try again at the next scroll */ })
      .then(function () { busy = false; });
  }

  window.addEventListener("scroll", report, { passive: true });
  window.addEventListener("resize", report);
  report();
})();
