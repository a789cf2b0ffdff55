/* The search page (search.html): Pagefind's index in pagefind/, loaded only when a reader searches.
   Results are written with textContent only: headlines and outlets come from feeds and are hostile. */
(function () {
  "use strict";
  var script = document.currentScript;
  var root = new URL("../../", script.src);  // this file is assets/javascripts/search.js
  function start() {
    var box = document.getElementById("mn-search");
    if (!box) return;
    var q = document.getElementById("mn-q"), outlet = document.getElementById("mn-outlet");
    var month = document.getElementById("mn-month"), status = document.getElementById("mn-search-status");
    var list = document.getElementById("mn-results");
    if (location.protocol === "file:") {
      [q, outlet, month].forEach(function (el) { el.disabled = true; });
      status.textContent = "Search does not work on a site opened from disk: run `monitor serve` and open the address it prints.";
      return;
    }
    status.textContent = "Type to search every story.";
    var pagefind = null, loading = null, seq = 0;
    function load() {
      if (!loading) {
        loading = import(new URL("pagefind/pagefind.js", root).href).then(function (pf) {
          pagefind = pf;
          return pf.options({ excerptLength: 24 }).then(function () { return pf.filters(); });
        }).then(fillFilters);
      }
      return loading;
    }
    function monthName(ym) {
      var d = new Date(ym + "-01T00:00:00Z");
      return isNaN(d) ? ym : d.toLocaleString("en", { month: "long", year: "numeric", timeZone: "UTC" });
    }
    function fill(select, counts, label, sort) {
      Object.keys(counts || {}).sort(sort).forEach(function (v) {
        var o = document.createElement("option");
        o.value = v;
        o.textContent = label(v) + " (" + counts[v] + ")";
        select.appendChild(o);
      });
    }
    function fillFilters(f) {
      fill(outlet, f.outlet, function (v) { return v; }, function (a, b) { return a.localeCompare(b); });
      fill(month, f.month, monthName, function (a, b) { return a < b ? 1 : -1; });
    }
    function excerpt(html) {
      // Pagefind marks the matched words with <mark>; keep only text and those marks
      var doc = document.implementation.createHTMLDocument("");
      doc.body.innerHTML = html;
      var p = document.createElement("p");
      p.className = "mn-result__excerpt";
      doc.body.childNodes.forEach(function (n) {
        if (n.nodeName === "MARK") { var m = document.createElement("mark"); m.textContent = n.textContent; p.appendChild(m); }
        else p.appendChild(document.createTextNode(n.textContent));
      });
      return p;
    }
    function run() {
      var mine = ++seq, text = q.value.trim();
      var filters = {};
      if (outlet.value) filters.outlet = outlet.value;
      if (month.value) filters.month = month.value;
      if (!text && !outlet.value && !month.value) { list.textContent = ""; status.textContent = "Type to search every story."; return; }
      status.textContent = "Searching…";
      load().then(function () {
        return pagefind.search(text || null, { filters: filters });
      }).then(function (res) {
        return Promise.all(res.results.slice(0, 20).map(function (r) { return r.data(); })).then(function (data) {
          if (mine !== seq) return;
          list.textContent = "";
          data.forEach(function (d) {
            var li = document.createElement("li"), a = document.createElement("a"), meta = document.createElement("p");
            li.className = "mn-result";
            a.href = new URL(d.url.replace(/^\//, ""), root).href;
            a.textContent = d.meta.title || d.url;
            var h = document.createElement("h2"); h.className = "mn-result__title"; h.appendChild(a);
            meta.className = "mn-result__meta";
            meta.textContent = (d.meta.date || "") + " · " + (d.meta.outlets || "");
            li.appendChild(h); li.appendChild(meta); li.appendChild(excerpt(d.excerpt || ""));
            list.appendChild(li);
          });
          var n = res.results.length;
          status.textContent = n === 0 ? "No story matches." : n + (n === 1 ? " story matches" : " stories match") +
            (n > 20 ? "; the first 20 are shown." : ".");
        });
      }).catch(function (e) {
        status.textContent = "Search could not load its index (" + e.message + "). Try `monitor serve`.";
      });
    }
    var timer = null;
    q.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 200); });
    q.addEventListener("focus", function () { load().catch(function () {}); }, { once: true });
    outlet.addEventListener("change", run);
    month.addEventListener("change", run);
    box.querySelector("form").addEventListener("submit", function (e) { e.preventDefault(); run(); });
    var initial = new URLSearchParams(location.search).get("q");
    if (initial) { q.value = initial; run(); }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
