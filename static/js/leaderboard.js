/* Live leaderboard (a challenge's, or a team's own with ?team=): renders the board from the stream's `scores`
   events (the top rows, the same bytes for every viewer) and my own line from `me` events (sent only when it
   moved); polls the API when the stream is refused or keeps failing. Its URLs and sentences come from data-*
   attributes on #leaderboard-live, my first line from the #lb-me JSON. The sentences and the empty state follow
   challenges/_board.html: nobody is ranked before they have points, and a member at 0 is told how to start. */
(function () {
  "use strict";
  var cfg = document.getElementById("leaderboard-live");
  if (!cfg) return;
  var api = cfg.dataset.api;
  var stream = cfg.dataset.stream;
  var rows = document.getElementById("rows"), me = document.getElementById("me");
  var empty = document.getElementById("lb-empty");
  var status = document.getElementById("live-status");
  // The same sentences as the server-rendered line, with markers the live update fills in.
  var t = {you: cfg.dataset.tYou, gap: cfg.dataset.tGap, level: cfg.dataset.tLevel, zero: cfg.dataset.tZero,
           mine: cfg.dataset.tMine, polling: cfg.dataset.tPolling};
  var pending = null, pollTimer = null;
  var mineNode = document.getElementById("lb-me");
  var mine = mineNode ? JSON.parse(mineNode.textContent) : null;
  // savegame.formatting's points and amounts: thousands grouped with commas in every language
  function points(v) { return Number(v).toLocaleString("en-US", {maximumFractionDigits: 0}); }
  function amount(v) { return Number(v).toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2}); }
  function cell(text) { var td = document.createElement("td"); td.textContent = text; return td; }
  function render(data) {
    if (data.me !== undefined) mine = data.me;  // the API answer carries it; a stream's scores do not ("me" event)
    rows.textContent = "";
    data.results.forEach(function (r) {
      var tr = document.createElement("tr"), isMine = mine && r.user.id === mine.user.id;
      tr.appendChild(cell(r.score > 0 ? r.rank : "–"));
      var name = cell(r.user.name);
      if (isMine) {
        tr.setAttribute("aria-current", "true");
        var badge = document.createElement("span"); badge.className = "badge"; badge.textContent = t.mine;
        name.appendChild(document.createTextNode(" ")); name.appendChild(badge);
      }
      tr.appendChild(name); tr.appendChild(cell(points(r.score))); tr.appendChild(cell(amount(r.total_saved)));
      rows.appendChild(tr);
    });
    if (empty) empty.hidden = !(data.results.length && !(data.results[0].score > 0));
    renderMe(mine);
    document.dispatchEvent(new CustomEvent("sg:board-changed"));  // e.g. the team board above (teams.js)
  }
  function renderMe(m) {
    mine = m;
    me.textContent = "";
    if (m) {
      var line;
      if (!(m.score > 0)) line = t.zero;
      else {
        line = t.you.replace("__RANK__", m.rank).replace("__SCORE__", points(m.score));
        if (m.gap_to_next) line += " " + t.gap.replace("__GAP__", points(m.gap_to_next));
        else if (m.gap_to_next === 0) line += " " + t.level.replace("__RANK__", m.rank - 1);
      }
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
