/* SaveGame service worker for one organization's site (served at /sw.js, scope /).
   - the shell (CSS, JS, icons) and the offline page, once per language, are cached at install; pages
     tell the worker their language (app.js posts <html lang>), and offline it shows the page in that one;
   - progress pages (home, challenges, ...) are network-first and kept for offline viewing;
   - a cached page served offline is marked <html data-offline> so it says "last synced";
   - web push messages are shown as notifications. */
"use strict";
const CONFIG = {{ config_json|safe }};
const SHELL = "sg-shell-" + CONFIG.version;
const PAGES = "sg-pages-v1";

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(
    CONFIG.shell.concat([CONFIG.offline], CONFIG.languages.map(offlineUrl)))).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(
    keys.filter((k) => k.startsWith("sg-shell-") && k !== SHELL).map((k) => caches.delete(k))
  )).then(() => self.clients.claim()));
});

const LANG_KEY = "/__sg-language";  // the member's last page language, kept in the shell cache

function offlineUrl(lang) { return CONFIG.offline + "?lang=" + encodeURIComponent(lang); }

self.addEventListener("message", (event) => {
  const lang = event.data && event.data.language;
  if (lang && CONFIG.languages.includes(lang)) {
    event.waitUntil(caches.open(SHELL).then((cache) => cache.put(LANG_KEY, new Response(lang))));
  }
});

async function offlineResponse() {
  const remembered = await caches.match(LANG_KEY, { cacheName: SHELL });
  const lang = remembered ? await remembered.text() : null;
  return (lang && await caches.match(offlineUrl(lang), { cacheName: SHELL }))
    || (await caches.match(CONFIG.offline, { cacheName: SHELL })) || Response.error();
}

function isOfflinePage(url) {
  return CONFIG.pages.includes(url.pathname) || CONFIG.prefixes.some((p) => url.pathname.startsWith(p));
}

async function markOffline(response) {
  const html = await response.text();
  return new Response(html.replace("<html ", "<html data-offline "), {
    status: 200, headers: { "Content-Type": "text/html; charset=utf-8" }
  });
}

async function navigate(request) {
  const url = new URL(request.url);
  try {
    const response = await fetch(request);
    if (isOfflinePage(url)) {
      const cache = await caches.open(PAGES);
      if (response.ok && !response.redirected) {
        await cache.put(url.pathname, response.clone());
      } else if (response.redirected) {
        // Signed out (sent to the login page): forget this member's pages.
        await caches.delete(PAGES);
      }
    }
    return response;
  } catch (err) {
    const cached = isOfflinePage(url) ? await caches.match(url.pathname, { cacheName: PAGES }) : null;
    if (cached) return markOffline(cached);
    return offlineResponse();
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(navigate(request));
    return;
  }
  if (CONFIG.shell.includes(url.pathname)) {
    // Shell: cache first, refreshed in the background.
    event.respondWith(caches.open(SHELL).then(async (cache) => {
      const cached = await cache.match(url.pathname);
      const network = fetch(request).then((res) => { if (res.ok) cache.put(url.pathname, res.clone()); return res; })
        .catch(() => cached || Response.error());
      return cached || network;
    }));
  }
});

self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data ? event.data.text() : "" }; }
  event.waitUntil(self.registration.showNotification(data.title || "SaveGame", {
    body: data.body || "", icon: "/icons/icon-192.png", badge: "/favicon.svg", data: { url: data.url || "/" }
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(self.clients.matchAll({ type: "window" }).then((list) => {
    for (const client of list) { if (new URL(client.url).pathname === target && "focus" in client) return client.focus(); }
    return self.clients.openWindow(target);
  }));
});
