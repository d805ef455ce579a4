/* Live leaderboard: renders the board from the stream's `scores` events (the top 20, the same bytes for every
   viewer) and my own line from `me` events (sent only when it moved); polls the API when the stream is refused
   or keeps failing. Its URLs and sentences come from data-* attributes on #leaderboard-live, my first line
   from the #lb-me JSON. */
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
  var mineNode = document.getElementById("lb-me");
  var mine = mineNode ? JSON.parse(mineNode.textContent) : null;
  function cell(text) { var td = document.createElement("td"); td.textContent = text; return td; }
  function render(data) {
    if (data.me !== undefined) mine = data.me;  // the API answer carries it; a stream's scores do not ("me" event)
    rows.textContent = "";
    data.results.forEach(function (r) {
      var tr = document.createElement("tr");
      if (mine && r.user.id === mine.user.id) tr.setAttribute("aria-current", "true");
      [r.rank, r.user.name, r.score, r.total_saved].forEach(function (v) { tr.appendChild(cell(v)); });
      rows.appendChild(tr);
    });
    renderMe(mine);
  }
  function renderMe(m) {
    mine = m;
    me.textContent = "";
    if (m) {
      var line = t.you.replace("__RANK__", m.rank).replace("__SCORE__", m.score);
      if (m.gap_to_next !== null && m.gap_to_next !== undefined) line += " " + t.gap.replace("__GAP__", m.gap_to_next);
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
  var failures = 0, source = new EventSource(stream, {withCredentials: true});
  source.addEventListener("ready", function () { failures = 0; status.dataset.live = "on"; if (pollTimer) { clearInterval(pollTimer); pollTimer = null; } });
  source.addEventListener("scores", function (e) { try { render(JSON.parse(e.data)); } catch (err) { soon(); } });
  source.addEventListener("me", function (e) { try { renderMe(JSON.parse(e.data)); } catch (err) { soon(); } });
  // A refusal (429 too many pages, 503) closes the source for good; three failed reconnects too: poll.
  source.onerror = function () { failures += 1; status.dataset.live = "off"; if (source.readyState === 2 || failures >= 3) { source.close(); poll(); } };
})();
