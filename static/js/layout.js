// Layout helpers for every page (static/css/plugin.css draws what these attributes select).
// Without script the hints always show and "back to top" is a plain link at the page's end.
(function () {
  // Scroll boxes (.scroll-box around a .table-scroll): whether the table overflows its box and
  // whether it is scrolled to either end, so the "scroll sideways" hint and the fades show only
  // where there is more to see.
  function updateBox(frame, box) {
    var overflowing = box.scrollWidth > box.clientWidth + 1;
    frame.dataset.overflow = overflowing ? "true" : "false";
    frame.dataset.atStart = box.scrollLeft <= 1 ? "true" : "false";
    frame.dataset.atEnd = box.scrollLeft + box.clientWidth >= box.scrollWidth - 1 ? "true" : "false";
  }
  // A bare .table-scroll (a template that does not use _scroll_box.html) gets the same frame,
  // with the hint in the page's language from <body data-scroll-hint>.
  document.querySelectorAll(".table-scroll").forEach(function (box) {
    if (box.closest(".scroll-box")) {
      return;
    }
    var outer = document.createElement("div");
    outer.className = "scroll-box";
    var hint = document.createElement("p");
    hint.className = "scroll-box__hint";
    hint.setAttribute("aria-hidden", "true");
    hint.textContent = document.body.dataset.scrollHint || "\u2190 \u2192";
    var inner = document.createElement("div");
    inner.className = "scroll-box__frame";
    box.parentNode.insertBefore(outer, box);
    outer.appendChild(hint);
    outer.appendChild(inner);
    inner.appendChild(box);
  });
  document.querySelectorAll(".scroll-box").forEach(function (frame) {
    var box = frame.querySelector(".table-scroll");
    if (!box) {
      return;
    }
    var refresh = function () { updateBox(frame, box); };
    box.addEventListener("scroll", refresh, { passive: true });
    if (window.ResizeObserver) {
      new ResizeObserver(refresh).observe(box);
    }
    window.addEventListener("resize", refresh);
    refresh();
  });

  // "Back to top": only on pages longer than two screens, floating once the reader is a
  // screen down.
  var root = document.documentElement;
  function updatePage() {
    var screen = window.innerHeight || root.clientHeight;
    root.dataset.longPage = root.scrollHeight > 2 * screen ? "true" : "false";
    root.dataset.scrolled = window.scrollY > screen ? "true" : "false";
  }
  window.addEventListener("scroll", updatePage, { passive: true });
  window.addEventListener("resize", updatePage);
  window.addEventListener("load", updatePage);
  updatePage();
})();
