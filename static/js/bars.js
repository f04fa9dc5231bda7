// Stacked bars: each part's width follows its share. Set from script because the Content
// Security Policy refuses style attributes in the markup; without script the parts are equal.
document.querySelectorAll(".bar__part[data-share]").forEach(function (part) {
  part.style.flexGrow = part.dataset.share;
});
