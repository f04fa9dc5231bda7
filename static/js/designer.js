// Progressive enhancement of the designer pages; every page works without it.
// A search form marked data-keep-checked="NAME" data-keep-from="FORM-ID" carries the modules
// ticked in that form as hidden NAME inputs, so searching again does not lose the choice.
(function () {
  "use strict";
  var searches = document.querySelectorAll("form[data-keep-checked][data-keep-from]");
  Array.prototype.forEach.call(searches, function (search) {
    search.addEventListener("submit", function () {
      var name = search.getAttribute("data-keep-checked");
      var source = document.getElementById(search.getAttribute("data-keep-from"));
      if (!source) { return; }
      var old = search.querySelectorAll('input[type="hidden"][name="' + name + '"]');
      Array.prototype.forEach.call(old, function (input) { input.parentNode.removeChild(input); });
      var ticked = source.querySelectorAll('input[name="module"]:checked');
      Array.prototype.forEach.call(ticked, function (box) {
        var hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = name;
        hidden.value = box.value;
        search.appendChild(hidden);
      });
    });
  });
})();
