// Live parts of a page: elements with data-live="topic …" are fetched again (htmx, hx-trigger
// "live") when the server announces a change of that topic on /live. And the alerts nobody can
// miss: the page title follows the banner's urgent count, and a person who switched alerting on
// (the navigation's button; the browser asks for notifications once) hears a tone and gets a
// desktop notification for each new urgent alert, on whichever console page is open. The
// notification's text is the catalogue's, never the alert's.
(function () {
  "use strict";
  var SOUND = "custody.alerting", SEEN = "custody.alerts.seen", ASKED = "custody.alerts.asked";
  function store(k, v) { try { if (v === undefined) { return window.localStorage.getItem(k); } window.localStorage.setItem(k, v); } catch (e) { return null; } return null; }
  var audio = null;
  function tone() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return; }
    if (!audio) { audio = new Ctx(); }
    [0, 0.35, 0.7].forEach(function (at) {
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 880; g.gain.value = 0.2;
      o.connect(g); g.connect(audio.destination);
      o.start(audio.currentTime + at); o.stop(audio.currentTime + at + 0.25);
    });
  }
  function soundButton() {
    var b = document.getElementById("alert-sound");
    if (!b) { return; }
    b.hidden = false;
    b.textContent = store(SOUND) === "on" ? b.getAttribute("data-on") : b.getAttribute("data-off");
  }
  // banner reads the urgent alerts off the banner: the title, and a tone and notification when
  // one is newer than any this browser has announced.
  function banner() {
    var el = document.getElementById("alarm-banner");
    if (!el) { return; }
    var title = el.getAttribute("data-title");
    if (title) { document.title = title; }
    var newest = parseInt(el.getAttribute("data-newest"), 10) || 0;
    var seen = parseInt(store(SEEN), 10) || 0;
    if (newest <= seen) { return; }
    store(SEEN, String(newest));
    document.body.setAttribute("data-alerted", String(newest));
    if (store(SOUND) !== "on") { return; }
    tone();
    if (window.Notification && Notification.permission === "granted") {
      new Notification(title || document.title, { body: el.getAttribute("data-note"), tag: "custody-alert" });
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
    var sb = document.getElementById("alert-sound");
    if (sb) {
      sb.addEventListener("click", function () {
        var on = store(SOUND) !== "on";
        store(SOUND, on ? "on" : "off");
        if (on) {
          tone(); // in the click, so the browser lets later tones play
          if (window.Notification && Notification.permission === "default" && store(ASKED) !== "1") {
            store(ASKED, "1");
            Notification.requestPermission();
          }
        }
        soundButton();
      });
    }
    soundButton();
    banner();
    document.body.addEventListener("htmx:afterSwap", function (e) {
      if (e.detail && e.detail.elt && e.detail.elt.id === "alarm-banner") { banner(); }
    });
    document.body.addEventListener("htmx:afterSettle", function () {
      if (document.getElementById("alarm-banner")) { banner(); }
    });
    var live = document.querySelectorAll("[data-live]");
    if (!live.length || !window.EventSource || !window.htmx) { return; }
    var topics = [], fps = {};
    live.forEach(function (el) {
      el.getAttribute("data-live").split(" ").forEach(function (t) {
        if (t && topics.indexOf(t) < 0) { topics.push(t); }
        // What the page was drawn from: the stream announces at once what changed since.
        var fp = el.getAttribute("data-fp");
        if (t && fp && !fps[t]) { fps[t] = fp; }
      });
    });
    var q = "topics=" + encodeURIComponent(topics.join(","));
    Object.keys(fps).forEach(function (t) { q += "&fp_" + t + "=" + encodeURIComponent(fps[t]); });
    var desk = document.body.getAttribute("data-desk");
    if (desk) { q += "&desk=" + encodeURIComponent(desk); }
    var es = new EventSource("/live?" + q);
    es.addEventListener("open", function () { document.body.setAttribute("data-live-open", "1"); });
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
