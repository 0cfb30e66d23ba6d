/* Service worker of the field pages (served as /app/sw.js, scope /app).
 *
 * Workbox (from npm, served by the service under /app/lib) routes what the pages fetch:
 * - the pages under /app (task list, problems, targets, patches, new problem, patrol):
 *   network first, the kept copy when the network is down or slower than 6 s;
 * - the app shell (/static/pages, /static/maps, /app/lib, manifest, icons) and the vector
 *   tiles (/tiles): the kept copy at once, refreshed in the background;
 * - photos of the history: kept once seen.
 * A "sync" message from a page fetches /app/offline.json (the person's URLs) and stores
 * every one of them; what the person no longer needs is dropped. A "clear" message (sign
 * out) forgets everything.
 */
/* global workbox */
importScripts("/app/lib/workbox-sw.js");
workbox.setConfig({ modulePathPrefix: "/app/lib/", debug: false });

var PAGES = "field-pages", SHELL = "field-shell", TILES = "field-tiles", PHOTOS = "field-photos";
var CACHES = [PAGES, SHELL, TILES, PHOTOS];

self.addEventListener("install", function () { self.skipWaiting(); });
workbox.core.clientsClaim();

/* A page kept under its address without ?saved=1 (the note shown once after a report). */
var withoutSaved = {
  cacheKeyWillBeUsed: function (args) {
    var url = new URL(args.request.url);
    url.searchParams.delete("saved");
    return Promise.resolve(url.href);
  }
};
/* Never keep a redirect (to the sign-in page) or an error page as the page asked for. */
var onlyTheAnswer = {
  cacheWillUpdate: function (args) {
    var r = args.response;
    return Promise.resolve(r && r.status === 200 && !r.redirected ? r : null);
  }
};

var pages = new workbox.strategies.NetworkFirst({
  cacheName: PAGES, networkTimeoutSeconds: 6, plugins: [withoutSaved, onlyTheAnswer]
});
var shell = new workbox.strategies.StaleWhileRevalidate({
  cacheName: SHELL, plugins: [onlyTheAnswer]
});
var tiles = new workbox.strategies.StaleWhileRevalidate({
  cacheName: TILES, matchOptions: { ignoreVary: true }, plugins: [onlyTheAnswer]
});
var photos = new workbox.strategies.CacheFirst({
  cacheName: PHOTOS,
  plugins: [onlyTheAnswer, new workbox.expiration.ExpirationPlugin({ maxEntries: 200 })]
});

/* Every page under /app (task list, problem, target and capture pages); not the worker's
 * own files, the offline list or the form token. */
function isPage(url) {
  if (url.pathname === "/app") { return true; }
  return /^\/app\//.test(url.pathname) && !/^\/app\/(lib\/|sw\.js$|manifest|icon-|[^/]+\.json$)/.test(url.pathname);
}
function isShell(url) {
  return /^\/static\/(pages|maps)\//.test(url.pathname) || /^\/app\/lib\//.test(url.pathname) ||
    /^\/app\/(manifest\.webmanifest|icon-\d+\.png)$/.test(url.pathname);
}
function same(fn) {
  return function (ctx) { return ctx.url.origin === self.location.origin && fn(ctx.url); };
}
workbox.routing.registerRoute(same(isPage), pages, "GET");
workbox.routing.registerRoute(same(isShell), shell, "GET");
workbox.routing.registerRoute(same(function (u) { return /^\/tiles\//.test(u.pathname); }), tiles, "GET");
workbox.routing.registerRoute(
  same(function (u) { return /^\/problems\/[^/]+\/evidence\//.test(u.pathname); }), photos, "GET"
);

/* A page that was never kept, asked for without network: say so, in the page's language. */
workbox.routing.setCatchHandler(function (args) {
  if (args.request.destination !== "document") { return Promise.resolve(Response.error()); }
  var en = new URL(args.request.url).searchParams.get("lang") === "en";
  var text = en
    ? ["Not saved for offline use", "This page was not on the phone when the network was lost.", "My tasks"]
    : ["此页面未离线保存", "断网前手机上没有保存这个页面。", "我的任务"];
  var html = "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>" +
    "<title>" + text[0] + "</title><h1>" + text[0] + "</h1><p>" + text[1] + "</p>" +
    "<p><a href='/app" + (en ? "?lang=en" : "") + "'>" + text[2] + "</a></p>";
  return Promise.resolve(new Response(html, {
    status: 503, headers: { "Content-Type": "text/html; charset=utf-8" }
  }));
});

/* --- sync ------------------------------------------------------------------------------ */

/* Bumped by "clear": a sync under way stops storing. */
var generation = 0;

function keep(event, strategy, urls, report, gen) {
  var queue = urls.slice();
  function next() {
    var url = queue.shift();
    if (url === undefined || gen !== generation) { return Promise.resolve(); }
    var request = new Request(url, { credentials: "same-origin" });
    var handled = strategy.handleAll({ event: event, request: request });
    return handled[1].then(function () { return handled[0]; }).then(function (r) {
      if (r && r.ok) { report.kept += 1; } else { report.failed.push(url); }
    }, function () { report.failed.push(url); }).then(next);
  }
  var workers = [];
  for (var i = 0; i < 6; i += 1) { workers.push(next()); }
  return Promise.all(workers);
}

/* Drop what is no longer on the person's list; return the bytes of what is. */
function prune(name, urls, matchOptions) {
  var wanted = {};
  urls.forEach(function (u) { wanted[new URL(u, self.location.origin).href] = true; });
  return caches.open(name).then(function (cache) {
    return cache.keys().then(function (requests) {
      var bytes = 0;
      return Promise.all(requests.map(function (req) {
        if (!wanted[req.url]) { return cache.delete(req, matchOptions); }
        return cache.match(req, matchOptions).then(function (r) {
          return r ? r.blob().then(function (b) { bytes += b.size; }) : null;
        });
      })).then(function () { return bytes; });
    });
  });
}

function sync(event, lang) {
  var report = { type: "synced", kept: 0, failed: [], bytes: 0 };
  var list, gen = generation;
  return fetch("/app/offline.json" + (lang === "en" ? "?lang=en" : ""), {
    credentials: "same-origin", cache: "no-store"
  }).then(function (r) {
    if (!r.ok) { throw new Error("offline list: HTTP " + r.status); }
    return r.json();
  }).then(function (body) {
    list = body;
    return keep(event, pages, list.pages, report, gen);
  }).then(function () {
    return keep(event, shell, list.shell, report, gen);
  }).then(function () {
    return keep(event, tiles, list.tiles, report, gen);
  }).then(function () {
    if (gen !== generation) { throw new Error("cleared while saving"); }
    var pagesKept = list.pages.map(function (u) { return u.replace(/[?&]saved=1/, ""); });
    return Promise.all([
      prune(PAGES, pagesKept), prune(SHELL, list.shell), prune(TILES, list.tiles, { ignoreVary: true })
    ]);
  }).then(function (sizes) {
    report.bytes = sizes.reduce(function (a, b) { return a + b; }, 0);
    report.user = list.user;
    report.count = list.count;
    report.tiles = list.tiles.length;
    report.at = new Date().toISOString();
    return report;
  }, function (err) {
    return { type: "sync-failed", reason: String(err) };
  });
}

function tell(message) {
  return self.clients.matchAll({ includeUncontrolled: true, type: "window" }).then(function (all) {
    all.forEach(function (c) { c.postMessage(message); });
  });
}

var running = null;
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "sync") {
    if (!running) {
      running = sync(event, data.lang).then(function (report) {
        running = null;
        return tell(report);
      });
    }
    event.waitUntil(running);
  } else if (data.type === "clear") {
    /* A sync under way stops; the caches go once it has (or it would store pages again). */
    generation += 1;
    event.waitUntil((running || Promise.resolve()).then(function () {
      return Promise.all(CACHES.map(function (n) { return caches.delete(n); }));
    }).then(function () { return tell({ type: "cleared" }); }));
  }
});
