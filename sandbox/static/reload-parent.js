// After a deep-linking response this frame is the course page's own origin again: reload the
// course so the new activities appear. Opened on its own, the page just shows its link back.
(function () {
  "use strict";
  if (window.parent && window.parent !== window) {
    window.parent.location.reload();
  }
})();
