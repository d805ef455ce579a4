/* Member home: the tiles (savings, streak, points, rank) and in-app notices, live from the member's
   notification stream (the `live` process); when the stream is unavailable (refused, or three failed
   reconnects) the page polls the tiles and the notices API instead. No dependencies. */
(function () {
  "use strict";
  var tiles = document.getElementById("home-tiles");
  var list = document.getElementById("live-notices");
  if (!tiles || !list) return;
  var stream = tiles.getAttribute("data-live-stream");
  var tilesUrl = tiles.getAttribute("data-live-poll");
  var noticesUrl = tiles.getAttribute("data-notices-poll");
  var since = Date.parse(tiles.getAttribute("data-since")) || Date.now();
  var shown = {}, pollTimer = null;
  var NOTICES = {deposit_confirmed: 1, badge_earned: 1, broadcast: 1};

  function set(selector, text) {
    var el = tiles.querySelector(selector);
    if (el && text !== undefined && text !== null) el.textContent = String(text);
  }
  function renderTiles(t) {
    set("[data-total]", t.total_saved_display);
    set("[data-streak]", t.streak_weeks);
    set("[data-streak-label]", t.streak_label);
    set("[data-points]", t.points_display);
    set("[data-rank]", t.rank_display);
    set("[data-rank-label]", t.rank_label);
    set("[data-deposits]", t.deposits);
    var total = document.querySelector("[data-total]");
    if (total && t.total_saved_display) total.textContent = t.total_saved_display;
  }
  function renderNotice(n) {
    if (!n || shown[n.id]) return;
    shown[n.id] = true;
    var li = document.createElement("li");
    li.className = "info";
    li.setAttribute("data-notice", n.template || "");
    var strong = document.createElement("strong");
    strong.textContent = n.title || "";
    li.appendChild(strong);
    li.appendChild(document.createTextNode(" " + (n.message || "")));
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 5) list.removeChild(list.lastChild);
    list.hidden = false;
  }
  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; });
  }
  function refresh() {
    getJSON(tilesUrl).then(function (t) { if (t) renderTiles(t); }).catch(function () {});
    getJSON(noticesUrl).then(function (page) {
      if (!page || !page.results) return;
      page.results.slice().reverse().forEach(function (n) {
        if (NOTICES[n.template] && Date.parse(n.created_at) >= since) renderNotice(n);
      });
    }).catch(function () {});
  }
  function poll() {
    tiles.setAttribute("data-live", "off");
    if (!pollTimer) { refresh(); pollTimer = setInterval(refresh, 5000); }
  }
  if (!window.EventSource || !stream) { poll(); return; }
  var failures = 0, source = new EventSource(stream, {withCredentials: true});
  source.addEventListener("ready", function () {
    failures = 0;
    tiles.setAttribute("data-live", "on");
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  });
  source.addEventListener("tiles", function (e) { try { renderTiles(JSON.parse(e.data)); } catch (err) { /* next one */ } });
  source.addEventListener("notice", function (e) { try { renderNotice(JSON.parse(e.data)); } catch (err) { /* polled */ } });
  source.onerror = function () {
    failures += 1;
    tiles.setAttribute("data-live", "off");
    if (source.readyState === 2 || failures >= 3) { source.close(); poll(); }
  };
})();
