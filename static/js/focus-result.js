// After a form is answered (a knowledge check's result, a stale form's explanation), move
// keyboard and screen-reader focus to the heading of what happened, so nobody has to search
// the page for it (WCAG 2.2 SC 2.4.3 Focus Order). An external file: the CSP allows no inline
// script.
(function () {
  "use strict";
  var target = document.querySelector("[data-focus-on-load]");
  if (target) { target.focus(); }
})();
