// mapsync web console: small progressive enhancements; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // A <select data-autosubmit> submits its form when changed (filters), for mouse users; the
  // form keeps its submit button for keyboards and screen readers.
  for (const el of document.querySelectorAll("select[data-autosubmit]")) {
    el.addEventListener("change", () => el.form && el.form.requestSubmit());
  }
  // A form with data-busy disables its buttons once submitted, so a double click posts once.
  for (const form of document.querySelectorAll("form[data-busy]")) {
    form.addEventListener("submit", () => {
      for (const b of form.querySelectorAll("button")) {
        setTimeout(() => { b.disabled = true; }, 0);
      }
    });
  }
});
