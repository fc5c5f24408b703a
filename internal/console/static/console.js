// Live parts of a page: elements with data-live="topic …" are fetched again (htmx, hx-trigger
// "live") when the server announces a change of that topic on /live. Nothing else runs here.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
    var live = document.querySelectorAll("[data-live]");
    if (!live.length || !window.EventSource || !window.htmx) { return; }
    var topics = [];
    live.forEach(function (el) {
      el.getAttribute("data-live").split(" ").forEach(function (t) {
        if (t && topics.indexOf(t) < 0) { topics.push(t); }
      });
    });
    var q = "topics=" + encodeURIComponent(topics.join(","));
    var desk = document.body.getAttribute("data-desk");
    if (desk) { q += "&desk=" + encodeURIComponent(desk); }
    var es = new EventSource("/live?" + q);
    topics.forEach(function (t) {
      es.addEventListener(t, function () {
        document.querySelectorAll('[data-live~="' + t + '"]').forEach(function (el) { htmx.trigger(el, "live"); });
      });
    });
    document.body.setAttribute("data-live-ready", "1");
    // A scanner acting as a keyboard types into the focused box; keep the scan box focused.
    document.body.addEventListener("htmx:afterSwap", function () {
      var s = document.getElementById("scan");
      if (s && document.activeElement === document.body) { s.focus(); }
    });
  });
})();
