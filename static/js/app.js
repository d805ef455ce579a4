/* SaveGame shell: service worker, offline banner, install prompt, web push opt-in, copy buttons.
   Plain JS, no dependencies; everything degrades quietly when the browser lacks a feature. */
(function () {
  "use strict";
  var doc = document.documentElement;
  var body = document.body;
  var SYNC_KEY = "sg:last-synced";

  function fmt(iso) {
    if (!iso) return "";
    try {
      return new Date(iso).toLocaleString(doc.lang === "sw" ? "sw-KE" : "en-KE", {
        dateStyle: "medium", timeStyle: "short"
      });
    } catch (e) { return iso; }
  }

  // "Last synced": pages record when they were rendered; the service worker marks pages it
  // serves from its cache with data-offline on <html>.
  var rendered = body.getAttribute("data-rendered-at");
  var fromCache = doc.hasAttribute("data-offline");
  if (rendered && !fromCache && body.hasAttribute("data-syncable")) {
    try { localStorage.setItem(SYNC_KEY, rendered); } catch (e) { /* private mode */ }
  }
  var banner = document.getElementById("offline-banner");
  function showOffline() {
    if (!banner) return;
    var when = fromCache ? rendered : (localStorage.getItem(SYNC_KEY) || rendered);
    var text = banner.querySelector("[data-synced]");
    if (text) text.textContent = fmt(when);
    banner.hidden = false;
  }
  if (fromCache || !navigator.onLine) showOffline();
  window.addEventListener("offline", showOffline);
  window.addEventListener("online", function () { if (banner && !fromCache) banner.hidden = true; });
  // Leader tabs scroll sideways on a phone: bring the current one into view so the row reads as scrollable.
  var currentTab = document.querySelector(".manage-nav [aria-current=page]");
  var tabs = currentTab && currentTab.parentNode;
  if (tabs && tabs.scrollWidth > tabs.clientWidth) {
    tabs.scrollLeft += currentTab.getBoundingClientRect().left - tabs.getBoundingClientRect().left -
      (tabs.clientWidth - currentTab.offsetWidth) / 2;
  }
  document.querySelectorAll("[data-last-synced]").forEach(function (el) {
    var when = null;
    try { when = localStorage.getItem(SYNC_KEY); } catch (e) { /* ignore */ }
    if (when) el.textContent = fmt(when);
  });

  // Service worker (http://*.localhost and https only).
  var swUrl = body.getAttribute("data-sw");
  if (swUrl && "serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register(swUrl, { scope: "/" }).catch(function () { /* offline support is optional */ });
    // The worker shows its offline page in the language this page is in (the member's latest choice).
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.active && doc.lang) reg.active.postMessage({ language: doc.lang });
    }).catch(function () { /* ignore */ });
  }

  // Destructive buttons ask first, naming what will happen: <button data-confirm="Remove Wanjiku…?">.
  document.addEventListener("submit", function (ev) {
    var asking = ev.submitter && ev.submitter.getAttribute("data-confirm");
    if (asking && !window.confirm(asking)) ev.preventDefault();
  });

  // Signing out: forget cached pages of this member.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form && form.hasAttribute("data-logout") && window.caches) {
      caches.keys().then(function (keys) { keys.forEach(function (k) { if (k.indexOf("sg-pages") === 0) caches.delete(k); }); });
      try { localStorage.removeItem(SYNC_KEY); } catch (e) { /* ignore */ }
    }
  });

  // Install prompt, once per device unless installed.
  var install = document.getElementById("install-banner");
  var deferred = null;
  window.addEventListener("beforeinstallprompt", function (ev) {
    ev.preventDefault();
    deferred = ev;
    var dismissed = false;
    try { dismissed = localStorage.getItem("sg:install-dismissed") === "1"; } catch (e) { /* ignore */ }
    if (install && !dismissed) install.hidden = false;
  });
  if (install) {
    install.addEventListener("click", function (ev) {
      var action = ev.target.getAttribute("data-install");
      if (!action) return;
      install.hidden = true;
      if (action === "yes" && deferred) { deferred.prompt(); deferred = null; }
      try { localStorage.setItem("sg:install-dismissed", "1"); } catch (e) { /* ignore */ }
    });
  }

  // Values a page states in data-* attributes, applied through the CSSOM: the Content-Security-Policy
  // forbids style="" attributes (docs/SECURITY.md). data-percent -> --value (progress bars, rings);
  // data-bg -> background colour (analytics heat map).
  document.querySelectorAll("[data-percent]").forEach(function (el) { el.style.setProperty("--value", el.getAttribute("data-percent")); });
  document.querySelectorAll("[data-bg]").forEach(function (el) { el.style.backgroundColor = el.getAttribute("data-bg"); });
  // Buttons instead of inline handlers (onclick= is refused by the policy too).
  document.addEventListener("click", function (ev) {
    if (ev.target.closest && ev.target.closest("[data-print]")) window.print();
  });
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el && el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) el.form.submit();
  });

  // Copy buttons: <button data-copy="TEXT">.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("[data-copy]");
    if (!btn || !navigator.clipboard) return;
    navigator.clipboard.writeText(btn.getAttribute("data-copy")).then(function () {
      var label = btn.textContent;
      btn.textContent = btn.getAttribute("data-copied") || "✓";
      setTimeout(function () { btn.textContent = label; }, 1500);
    }).catch(function () { /* clipboard refused */ });
  });

  // Web push opt-in: <div data-push data-vapid-key="..."> with a button[data-push-on].
  var push = document.querySelector("[data-push]");
  function b64ToBytes(s) {
    var pad = "=".repeat((4 - s.length % 4) % 4);
    var raw = atob((s + pad).replace(/-/g, "+").replace(/_/g, "/"));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  if (push && "serviceWorker" in navigator && "PushManager" in window && push.getAttribute("data-vapid-key")) {
    push.hidden = false;
    var status = push.querySelector("[data-push-status]");
    var say = function (key) { if (status) status.textContent = push.getAttribute("data-msg-" + key) || ""; };
    push.querySelector("[data-push-on]").addEventListener("click", function () {
      navigator.serviceWorker.ready.then(function (reg) {
        return reg.pushManager.subscribe({
          userVisibleOnly: true, applicationServerKey: b64ToBytes(push.getAttribute("data-vapid-key"))
        });
      }).then(function (sub) {
        var csrf = document.querySelector("meta[name=csrf-token]");
        return fetch(push.getAttribute("data-endpoint"), {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrf ? csrf.content : "" },
          body: JSON.stringify(sub.toJSON())
        });
      }).then(function (res) {
        if (res.status === 404) { push.hidden = true; return; }  // not available on this server yet
        say(res.ok ? "on" : "failed");
      }).catch(function () { say("failed"); });
    });
  }
})();
