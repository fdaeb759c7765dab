/* Quote form: "Add a line" clones the formset's empty form (Django's __prefix__ template). */
(function () {
  "use strict";
  var button = document.getElementById("add-quote-line");
  var template = document.getElementById("quote-line-template");
  var lines = document.getElementById("quote-lines");
  var total = document.getElementById("id_lines-TOTAL_FORMS");
  if (!button || !template || !lines || !total) {
    return;
  }
  button.addEventListener("click", function () {
    var index = parseInt(total.value, 10) || 0;
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    var row = holder.firstElementChild;
    lines.appendChild(row);
    total.value = String(index + 1);
    var first = row.querySelector("select, input");
    if (first) {
      first.focus();
    }
  });
})();
