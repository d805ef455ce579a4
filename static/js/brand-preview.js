/* Live brand preview on /manage/settings/: colours, name and tagline as the leader types. */
(function () {
  "use strict";
  var form = document.getElementById("settings-form");
  var preview = document.getElementById("brand-preview");
  if (!form || !preview) return;
  function lum(hex) {
    var c = [1, 3, 5].map(function (i) {
      var v = parseInt(hex.substr(i, 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  function readable(hex) { // same rule as tenants/branding.py: black or white, whichever contrasts more
    var l = lum(hex);
    return (1.05 / (l + 0.05)) >= ((l + 0.05) / 0.05) ? "#ffffff" : "#000000";
  }
  function set(name, value) {
    if (!/^#[0-9a-fA-F]{6}$/.test(value)) return;
    preview.style.setProperty("--" + name, value);
    preview.style.setProperty("--on-" + name, readable(value));
  }
  function text(sel, value) { var el = preview.querySelector(sel); if (el) el.textContent = value; }
  form.addEventListener("input", function (ev) {
    var t = ev.target;
    if (t.name === "primary_color") set("primary", t.value);
    if (t.name === "accent_color") set("accent", t.value);
    if (t.name === "name") { text("[data-preview-name]", t.value); text("[data-preview-initial]", (t.value.trim()[0] || "").toUpperCase()); }
    if (t.name === "tagline") text("[data-preview-tagline]", t.value);
  });
})();
