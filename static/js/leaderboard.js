/* Live leaderboard: renders the board from the stream's scores events, polls the API when the stream is
   refused or keeps failing. Its URLs and sentences come from data-* attributes on #leaderboard-live. */
(function () {
  "use strict";
  var cfg = document.getElementById("leaderboard-live");
  if (!cfg) return;
  var api = cfg.dataset.api;
  var stream = cfg.dataset.stream;
  var rows = document.getElementById("rows"), me = document.getElementById("me");
  var status = document.getElementById("live-status");
  // The same sentences as the server-rendered line, with markers the live update fills in.
  var t = {you: cfg.dataset.tYou, gap: cfg.dataset.tGap, polling: cfg.dataset.tPolling};
  var pending = null, pollTimer = null;
  function cell(text) { var td = document.createElement("td"); td.textContent = text; return td; }
  function render(data) {
    rows.textContent = "";
    data.results.forEach(function (r) {
      var tr = document.createElement("tr");
      if (data.me && r.user.id === data.me.user.id) tr.setAttribute("aria-current", "true");
      [r.rank, r.user.name, r.score, r.total_saved].forEach(function (v) { tr.appendChild(cell(v)); });
      rows.appendChild(tr);
    });
    me.textContent = "";
    if (data.me) {
      var line = t.you.replace("__RANK__", data.me.rank).replace("__SCORE__", data.me.score);
      if (data.me.gap_to_next !== null && data.me.gap_to_next !== undefined) line += " " + t.gap.replace("__GAP__", data.me.gap_to_next);
      var p = document.createElement("p"); p.textContent = line; me.appendChild(p);
    }
  }
  function refresh() {
    pending = null;
    fetch(api, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; }).then(function (d) { if (d) render(d); });
  }
  function soon() { if (!pending) pending = setTimeout(refresh, 300); }
  function poll() { status.textContent = t.polling; if (!pollTimer) pollTimer = setInterval(refresh, 5000); }
  if (!window.EventSource) { poll(); return; }
  // Each scores event carries the board's state (top 20 + me): render it, no API call.
  var failures = 0, source = new EventSource(stream, {withCredentials: true});
  source.addEventListener("ready", function () { failures = 0; status.dataset.live = "on"; if (pollTimer) { clearInterval(pollTimer); pollTimer = null; } });
  source.addEventListener("scores", function (e) { try { render(JSON.parse(e.data)); } catch (err) { soon(); } });
  // A refusal (429 too many pages, 503) closes the source for good; three failed reconnects too: poll.
  source.onerror = function () { failures += 1; status.dataset.live = "off"; if (source.readyState === 2 || failures >= 3) { source.close(); poll(); } };
})();
