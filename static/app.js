// Slipway's only script: local times, the live job log and the live ticket
// page. Pages work without it.
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
  // rsync's --stats lines ("[web1] Total bytes sent: 1,234") go to a folded
  // box under the log; the host table shows their summary.
  var RSYNC_STATS = /^\[[^\]]*\] ?(Number of (regular files transferred|files|created files|deleted files)|Total (file size|transferred file size|bytes sent|bytes received)|Literal data|Matched data|File list (size|generation time|transfer time)|sent [\d.,]+ bytes|total size is|$)/;
  function append(pre, line) {
    var raw = document.getElementById("rsync-lines");
    if (raw && line.stream === "stdout" && RSYNC_STATS.test(line.line)) {
      raw.parentNode.hidden = false;
      pre = raw;
    }
    var span = document.createElement("span");
    span.className = line.stream;
    span.textContent = line.line + "\n";
    pre.appendChild(span);
    pre.scrollTop = pre.scrollHeight;
  }
  var logStream = null;
  var lastLine = 0;
  function appendNew(pre, line) {
    if (line.id <= lastLine) return;
    lastLine = line.id;
    append(pre, line);
  }
  // The rest of the log once, then live lines while a job runs.
  function jobLog() {
    var pre = document.getElementById("joblog");
    if (!pre || logStream) return;
    var id = pre.getAttribute("data-ticket");
    if (pre.getAttribute("data-live") === "true" && window.EventSource) {
      var es = new EventSource("/tickets/" + encodeURIComponent(id) + "/log/stream");
      logStream = es;
      es.addEventListener("line", function (ev) { appendNew(pre, JSON.parse(ev.data)); });
      es.addEventListener("end", function () { es.close(); logStream = null; });
      return;
    }
    fetch("/api/v1/tickets/" + encodeURIComponent(id) + "/log?after=" + lastLine, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { lines: [] }; })
      .then(function (page) { page.lines.forEach(function (l) { appendNew(pre, l); }); })
      .catch(function () {});
  }
  // The live ticket page: polls a cheap fingerprint of the ticket while the
  // tab is visible and the ticket can still change; when it moves, re-reads
  // the page and swaps the parts that show the ticket, keeping the log and
  // any form the reader is filling in.
  var LIVE_PARTS = ["ticket-head", "live-alerts", "decide", "approvals", "timeline", "details", "live-side"];
  function typingIn(el) {
    if (!el) return false;
    if (el.contains(document.activeElement) && document.activeElement.tagName !== "BUTTON") return true;
    var fields = el.querySelectorAll("textarea, input[type=text], input:not([type])");
    for (var i = 0; i < fields.length; i++) { if (fields[i].value.trim() !== "") return true; }
    return false;
  }
  function liveTicket() {
    var head = document.getElementById("ticket-head");
    if (!head || !window.fetch || !window.DOMParser) return;
    var id = head.getAttribute("data-ticket");
    var stamp = head.getAttribute("data-stamp");
    var timer = null;
    var busy = false;
    var settled = false;
    function schedule(ms) {
      clearTimeout(timer);
      timer = null;
      if (!settled && !document.hidden) timer = setTimeout(check, ms);
    }
    function swap(html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var kept = false;
      LIVE_PARTS.forEach(function (part) {
        var now = document.getElementById(part);
        var fresh = doc.getElementById(part);
        if (!now || !fresh) return;
        if (typingIn(now)) { kept = true; return; }
        now.replaceWith(document.adoptNode(fresh));
      });
      var pre = doc.getElementById("joblog");
      var mine = document.getElementById("joblog");
      if (pre && mine) mine.setAttribute("data-live", pre.getAttribute("data-live"));
      localTimes();
      jobLog();
      return !kept;
    }
    function check() {
      if (busy || document.hidden) return;
      busy = true;
      fetch("/tickets/" + encodeURIComponent(id) + "/stamp", { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { if (!r.ok) throw new Error("stamp " + r.status); return r.json(); })
        .then(function (s) {
          if (s.stamp === stamp) { settled = s.settled; return null; }
          return fetch("/tickets/" + encodeURIComponent(id), { credentials: "same-origin", cache: "no-store" })
            .then(function (r) { if (!r.ok) throw new Error("page " + r.status); return r.text(); })
            .then(function (html) {
              // A part kept for the reader's form is swapped on a later tick.
              if (swap(html)) { stamp = s.stamp; settled = s.settled; }
            });
        })
        .then(function () { busy = false; schedule(2000); })
        .catch(function () { busy = false; schedule(10000); });
    }
    document.addEventListener("visibilitychange", function () {
      if (document.hidden) { clearTimeout(timer); timer = null; } else { schedule(0); }
    });
    schedule(2000);
  }
  // The SVN path picker on the new-ticket form: a tree of `svn list`, one
  // level at a time; "add" appends the path to the textarea.
  function svnPicker() {
    var box = document.getElementById("svn-picker");
    var select = document.getElementById("project");
    var paths = document.getElementById("svn_paths");
    if (!box || !select || !paths || !window.fetch) return;
    function el(tag, cls, text) {
      var e = document.createElement(tag);
      if (cls) e.className = cls;
      if (text !== undefined) e.textContent = text;
      return e;
    }
    function addPath(p) {
      var lines = paths.value.split(/\r?\n/).filter(function (l) { return l.trim() !== ""; });
      if (lines.indexOf(p) < 0) lines.push(p);
      paths.value = lines.join("\n");
    }
    function load(ul, path) {
      var wait = el("li", "text-secondary", box.getAttribute("data-loading"));
      ul.appendChild(wait);
      var url = "/svn/list?project=" + encodeURIComponent(select.value) + "&path=" + encodeURIComponent(path);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
        .then(function (res) {
          ul.removeChild(wait);
          if (!res.ok) {
            ul.appendChild(el("li", "text-danger", (res.body.error && res.body.error.message) || "error"));
            return;
          }
          if (res.body.entries.length === 0) ul.appendChild(el("li", "text-secondary", box.getAttribute("data-empty")));
          res.body.entries.forEach(function (entry) {
            var li = el("li", entry.is_dir ? "dir" : "file");
            var name = el(entry.is_dir ? "button" : "span", entry.is_dir ? "btn btn-link btn-sm p-0 toggle" : "", (entry.is_dir ? "▸ " : "") + entry.name + (entry.is_dir ? "/" : ""));
            if (entry.is_dir) name.type = "button";
            var add = el("button", "btn btn-outline-primary btn-sm py-0 ms-2 add", box.getAttribute("data-add"));
            add.type = "button";
            add.setAttribute("data-path", entry.path);
            add.addEventListener("click", function () { addPath(entry.path); });
            li.appendChild(name);
            li.appendChild(add);
            if (entry.is_dir) {
              var sub = null;
              name.addEventListener("click", function () {
                if (sub) { sub.hidden = !sub.hidden; name.textContent = (sub.hidden ? "▸ " : "▾ ") + entry.name + "/"; return; }
                sub = el("ul", "list-unstyled ms-3");
                li.appendChild(sub);
                name.textContent = "▾ " + entry.name + "/";
                load(sub, entry.path);
              });
            }
            ul.appendChild(li);
          });
        })
        .catch(function () { if (wait.parentNode) ul.removeChild(wait); });
    }
    function refresh() {
      box.textContent = "";
      box.appendChild(el("div", "fw-semibold mb-1", box.getAttribute("data-title")));
      if (!select.value) { box.appendChild(el("div", "text-secondary", box.getAttribute("data-choose"))); return; }
      var ul = el("ul", "list-unstyled mb-0");
      box.appendChild(ul);
      load(ul, "");
    }
    box.hidden = false;
    select.addEventListener("change", refresh);
    refresh();
  }
  document.addEventListener("DOMContentLoaded", function () { localTimes(); jobLog(); liveTicket(); svnPicker(); });
})();
