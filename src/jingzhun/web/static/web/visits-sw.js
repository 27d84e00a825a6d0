/* Service worker of the helper's field pages (issue 21 item 5; ADR "visits-offline").
 * Served from /visits/sw.js, so its scope is /visits/ only. It keeps the last copy of the field
 * page (the helper's own households and the visit form; for a self-check survey team member,
 * their sampled households and the survey form: ADR "fieldsurvey-offline") and the static files
 * that page uses,
 * network first: online, every request goes to the server and refreshes the copy; offline, the
 * copy is served. Nothing else is cached. Logout clears the caches (the server's Clear-Site-Data
 * header, and the "logout" message from the page). Queued visits live in the page's IndexedDB. */
"use strict";
var CACHE = "jz-visits-v2";
var SCOPE = self.registration.scope; // ".../visits/"

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return cache.add(new Request(SCOPE, { credentials: "same-origin" })).catch(function () {});
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) {
        return caches.delete(k);
      }));
    }).then(function () { return self.clients.claim(); })
  );
});

// The field page is kept under its bare URL, whoever asked for it (the install step or a
// navigation), and found again ignoring Vary: Django answers "Vary: Cookie, Accept-Language",
// and a navigation's Request carries headers the install step's does not, so a strict match
// of the navigation against the install step's copy missed (net::ERR_FAILED offline) whenever
// the page had been loaded before the worker controlled it. The copy is this account's own
// (cleared on logout), so Vary has nothing to choose between.
var MATCH = { ignoreSearch: true, ignoreVary: true };

function keyOf(request) {
  var url = new URL(request.url);
  return url.pathname.indexOf("/static/") === 0 ? request : SCOPE;
}

function cacheable(request) {
  if (request.method !== "GET") return false;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return false;
  // the field page itself (not the worker, manifest or sync) and the static files
  return url.href === SCOPE || url.pathname.indexOf("/static/") === 0;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (!cacheable(request)) return;
  event.respondWith(
    fetch(request).then(function (response) {
      // a redirect (signed out) or an error page is never kept
      if (response.ok && !response.redirected && response.type === "basic") {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { return cache.put(keyOf(request), copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(keyOf(request), MATCH).then(function (hit) {
        return hit || Response.error();
      });
    })
  );
});

self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "logout") {
    event.waitUntil(caches.keys().then(function (keys) {
      return Promise.all(keys.map(function (k) { return caches.delete(k); }));
    }));
  }
});
