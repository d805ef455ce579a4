/* The team board of a group challenge (challenges/challenge_detail.html) follows my team's live board: when
   leaderboard.js renders a change, the teams are read again from the API and the rows redrawn with the page's
   own words (data-* on the table). Only shown live to a member in a team, whose rows carry no Join button. */
(function () {
  "use strict";
  var table = document.querySelector("table.team-board[data-teams-api]");
  if (!table) return;
  var body = table.tBodies[0], empty = document.querySelector("[data-teams-empty]");
  var d = table.dataset, pending = null;
  function amount(v) { return Number(v).toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2}); }
  function cell(label, text, cls) {
    var td = document.createElement("td"); td.dataset.label = label; td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }
  function badge(text, cls) { var b = document.createElement("span"); b.className = cls; b.textContent = text; return b; }
  var progress = document.querySelector("[data-my-team-progress]");
  function render(teams) {
    var started = teams.some(function (t) { return t.rank; });
    if (empty) empty.hidden = started;
    body.textContent = "";
    teams.forEach(function (t) {
      var tr = document.createElement("tr"), mine = String(t.id) === d.myTeam;
      tr.dataset.team = t.id;
      if (mine) tr.setAttribute("aria-current", "true");
      tr.appendChild(cell("#", t.rank || "–"));  // no rank before a team has saved (challenges.selectors.team_list)
      var name = cell(d.lTeam, t.name, "lead");
      if (mine) { name.appendChild(document.createTextNode(" ")); name.appendChild(badge(d.tMine, "badge")); }
      if (t.completed) { name.appendChild(document.createTextNode(" ")); name.appendChild(badge(d.tReached, "badge badge-ok")); }
      tr.appendChild(name);
      tr.appendChild(cell(d.lTotal, amount(t.total_saved)));
      tr.appendChild(cell(d.lGoal, amount(t.team_amount)));
      tr.appendChild(cell(d.lMembers, d.tMembers.replace("__N__", t.members_count).replace("__MIN__", t.min_members)));
      body.appendChild(tr);
      if (mine && progress) {  // "My progress": the same team total
        progress.textContent = d.tProgress.replace("__TEAM__", t.name).replace("__TOTAL__", amount(t.total_saved))
          .replace("__GOAL__", amount(t.team_amount));
      }
    });
  }
  function refresh() {
    pending = null;
    fetch(d.teamsApi, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; }).then(function (teams) { if (teams) render(teams); });
  }
  document.addEventListener("sg:board-changed", function () { if (!pending) pending = setTimeout(refresh, 300); });
})();
