// Request wizard, progressive enhancement only: every page works without this file.
// When the visitor leaves a step without pressing a button (browser back, closing the tab,
// switching apps on a phone), what they typed is saved to their draft in the background.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  if (!form || !navigator.sendBeacon || !window.FormData) { return; }
  var dirty = false;
  var submitting = false;
  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("change", function () { dirty = true; });
  form.addEventListener("submit", function () { submitting = true; });

  function save() {
    if (!dirty || submitting) { return; }
    var data = new FormData(form);
    var files = [];
    data.forEach(function (value, key) {
      if (typeof File !== "undefined" && value instanceof File) { files.push(key); }
    });
    files.forEach(function (key) { data.delete(key); });
    data.set("action", "save");
    if (navigator.sendBeacon(form.getAttribute("action"), data)) { dirty = false; }
  }

  window.addEventListener("pagehide", save);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { save(); }
  });
}());
