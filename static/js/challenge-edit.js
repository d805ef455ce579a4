/* /manage/challenges/<id>/: show only the fields the chosen challenge type uses (map from json_script "type-fields"). */
(function () {
  "use strict";
  var data = document.getElementById("type-fields");
  var select = document.getElementById("id_type");
  if (!data || !select) return;
  var map = JSON.parse(JSON.parse(data.textContent));
  var all = {}; Object.keys(map).forEach(function (k) { map[k].forEach(function (f) { all[f] = true; }); });
  function show() {
    var mine = map[select.value] || [];
    Object.keys(all).forEach(function (f) {
      var row = document.querySelector('[data-field="' + f + '"]');
      if (row) row.hidden = mine.indexOf(f) < 0;
    });
  }
  select.addEventListener("change", show); show();
})();
