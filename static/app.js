// Slipway's only script: local times and the live job log. Pages work without it.
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localTimes() {
    var els = document.querySelectorAll("time[datetime]");
    for (var i = 0; i < els.length; i++) {
      var d = new Date(els[i].getAttribute("datetime"));
      if (isNaN(d.getTime())) continue;
      els[i].title = els[i].textContent;
      els[i].textContent = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) +
        " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
    }
  }
  function append(pre, line) {
    var span = document.createElement("span");
    span.className = line.stream;
    span.textContent = line.line + "\n";
    pre.appendChild(span);
    pre.scrollTop = pre.scrollHeight;
  }
  function jobLog() {
    var pre = document.getElementById("joblog");
    if (!pre) return;
    var id = pre.getAttribute("data-ticket");
    if (pre.getAttribute("data-live") === "true" && window.EventSource) {
      var es = new EventSource("/tickets/" + encodeURIComponent(id) + "/log/stream");
      es.addEventListener("line", function (ev) { append(pre, JSON.parse(ev.data)); });
      es.addEventListener("end", function () { es.close(); });
      return;
    }
    fetch("/api/v1/tickets/" + encodeURIComponent(id) + "/log", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { lines: [] }; })
      .then(function (page) { page.lines.forEach(function (l) { append(pre, l); }); })
      .catch(function () {});
  }
  document.addEventListener("DOMContentLoaded", function () { localTimes(); jobLog(); });
})();
