// The desk's forms show only what applies (issue 21 point 7): opening a handover, the fields of
// the chosen purpose (each option's data-fields, from the register's table of purposes); closing
// it, the confirmations the register asks for now (#session's data-needs, which the live part
// brings as badges and copies are scanned). A hidden field is disabled too, so it is not sent.
// Without this script every field shows and the register still decides.
(function () {
  "use strict";
  function show(el, on) {
    el.hidden = !on;
    el.querySelectorAll("input, select, textarea").forEach(function (i) { i.disabled = !on; });
  }
  function purposeFields() {
    var sel = document.getElementById("purpose");
    if (!sel || !sel.selectedOptions.length) { return; }
    var want = (sel.selectedOptions[0].getAttribute("data-fields") || "").split(" ");
    document.querySelectorAll("#open-form [data-field]").forEach(function (el) {
      show(el, want.indexOf(el.getAttribute("data-field")) >= 0);
    });
  }
  function needs() {
    var s = document.getElementById("session");
    if (!s) { return; }
    var want = (s.getAttribute("data-needs") || "").split(" ");
    document.querySelectorAll("#confirm-form [data-need]").forEach(function (el) {
      show(el, want.indexOf(el.getAttribute("data-need")) >= 0);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var sel = document.getElementById("purpose");
    if (sel) {
      sel.addEventListener("change", purposeFields);
      // Again as the form is sent: whatever set the purpose (a script, a restored form), what is
      // sent is the fields of the purpose chosen.
      document.getElementById("open-form").addEventListener("submit", purposeFields);
      purposeFields();
    }
    needs();
    document.body.addEventListener("htmx:afterSettle", needs);
  });
})();
