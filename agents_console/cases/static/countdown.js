// SLA countdowns of the queue and the case page, and the queue's 30-second refresh.
// Loaded as a file: the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "vi";
  var words = lang === "en"
    ? { d: "d", h: "h", m: "min", left: "left", late: "overdue by" }
    : { d: "ngày", h: "giờ", m: "phút", left: "còn", late: "quá hạn" };

  function describe(ms) {
    var overdue = ms < 0;
    var s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    var amount = d ? d + " " + words.d + " " + h + " " + words.h
      : h ? h + " " + words.h + " " + (m < 10 ? "0" : "") + m + " " + words.m
      : m + " " + words.m;
    if (lang === "en") { return overdue ? words.late + " " + amount : amount + " " + words.left; }
    return (overdue ? words.late : words.left) + " " + amount;
  }

  function tick() {
    var now = Date.now();
    var clocks = document.querySelectorAll("time.clock[data-due]");
    for (var i = 0; i < clocks.length; i++) {
      var due = Date.parse(clocks[i].getAttribute("data-due"));
      if (isNaN(due)) { continue; }
      clocks[i].textContent = describe(due - now);
      clocks[i].classList.toggle("clock-overdue", due < now);
    }
  }

  function busy() {
    var el = document.activeElement;
    return el && /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName);
  }

  tick();
  setInterval(tick, 15000);
  var queue = document.querySelector("[data-refresh]");
  if (queue) {
    var seconds = parseInt(queue.getAttribute("data-refresh"), 10) || 30;
    setInterval(function () { if (!busy()) { window.location.reload(); } }, seconds * 1000);
  }
})();
