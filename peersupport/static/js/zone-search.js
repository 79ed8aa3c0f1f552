// A search box above each time-zone picker (select[data-zone-search]): typing part of a place ("york",
// "auckland") keeps only the zones that match, and picks the first of them. Without script the list still works.
(function () {
  "use strict";
  document.querySelectorAll("select[data-zone-search]").forEach(function (select) {
    var id = select.id + "-search";
    var wrap = document.createElement("div");
    wrap.className = "mb-2";
    var label = document.createElement("label");
    label.className = "form-label small";
    label.htmlFor = id;
    label.textContent = select.dataset.searchLabel || "Search time zones";
    var input = document.createElement("input");
    input.type = "search";
    input.id = id;
    input.className = "form-control form-control-sm";
    input.autocomplete = "off";
    wrap.appendChild(label);
    wrap.appendChild(input);
    select.parentNode.insertBefore(wrap, select);
    input.addEventListener("input", function () {
      var words = input.value.trim().toLowerCase().replace(/\s+/g, "_");
      var first = null;
      Array.prototype.forEach.call(select.options, function (option) {
        var match = !words || option.value.toLowerCase().indexOf(words) !== -1;
        option.hidden = !match;
        if (match && !first) { first = option; }
      });
      Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
        group.hidden = !Array.prototype.some.call(group.children, function (o) { return !o.hidden; });
      });
      if (words && first) { select.value = first.value; }
    });
  });
})();
