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
  document.addEventListener("DOMContentLoaded", function () { localTimes(); jobLog(); svnPicker(); });
})();
