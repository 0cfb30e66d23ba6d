/* The one map of a problem or target page: shapes from the page, no tiles, no network. */
(function () {
  "use strict";
  var el = document.getElementById("map");
  var data = document.getElementById("map-data");
  if (!el || !data || !window.L) { return; }
  var shapes = JSON.parse(data.textContent);
  var fallback = el.querySelector(".map-fallback");
  if (fallback) { fallback.remove(); }
  var map = L.map(el, { attributionControl: false, zoomSnap: 0.5 });
  var styles = {
    village: { color: "#4d5a4f", weight: 2, dashArray: "5 4", fill: false },
    target: { color: "#b3261e", weight: 2, fillColor: "#b3261e", fillOpacity: 0.25 },
    problem: { radius: 9, color: "#fff", weight: 3, fillColor: "#b3261e", fillOpacity: 1 }
  };
  var point = null;
  var layer = L.geoJSON(shapes, {
    style: function (f) { return styles[f.properties.kind] || styles.target; },
    pointToLayer: function (f, latlng) {
      point = latlng;
      return L.circleMarker(latlng, styles.problem);
    }
  }).addTo(map);
  var bounds = layer.getBounds();
  if (!bounds.isValid()) { return; }
  if (point) {
    /* Mirror the corners across the point: the whole village shows, centred on the point. */
    var sw = bounds.getSouthWest(), ne = bounds.getNorthEast();
    bounds.extend([2 * point.lat - sw.lat, 2 * point.lng - sw.lng]);
    bounds.extend([2 * point.lat - ne.lat, 2 * point.lng - ne.lng]);
  }
  map.fitBounds(bounds, { padding: [8, 8], maxZoom: 16 });
  el.setAttribute("data-ready", "1");
})();

/* The offline app: the service worker, the offline banner with the time of the last sync,
 * and the outbox: a <form data-offline-queue> is stored in IndexedDB (through idb) with
 * its fields, photos and the version it was based on, then sent; without network it waits
 * on the phone and is sent when the network returns (online event, page load, every 30 s).
 * What is typed into such a form is kept as a draft until it is sent. A report the
 * service refuses (changed meanwhile, bad field) becomes the form's draft again, with the
 * service's message, on the page it was made on. */
(function () {
  "use strict";
  var body = document.body;
  var user = body.getAttribute("data-user") || "";
  var net = document.getElementById("net");
  if (!user || !net || !window.idb || !window.indexedDB) { return; }
  var en = document.documentElement.lang === "en";
  var W = en ? {
    offline: "Offline: showing what was saved at {t}. Reports are kept on the phone and sent when the network returns.",
    unreachable: "The service cannot be reached: reports are kept on the phone.",
    synced: "Saved for offline use {t}", never: "Not yet saved for offline use",
    sync: "Save now", syncing: "Saving…", pending: "{n} waiting to be sent",
    held: "To check and resubmit:", queued: "Saved on the phone; it will be sent when the network returns.",
    sent: "{n} report(s) sent.", signin: "Sign in again to send the waiting reports.",
    refused: "Not sent; your text and photos are kept in the form below: check and send again.", draft: "Restored what you typed before{v}.",
    newer: " (the page has changed since: version {a} → {b}; check before sending)",
    signout: "{n} report(s) are still waiting to be sent and will be lost. Sign out anyway?",
    insecure: "This address is not HTTPS: the phone cannot keep pages offline (reports made without network are still kept)."
  } : {
    offline: "离线：显示的是 {t} 保存的内容；报告先存在手机上，联网后自动发送。",
    unreachable: "连不上服务：报告先存在手机上。",
    synced: "最近离线保存 {t}", never: "尚未离线保存",
    sync: "立即保存", syncing: "正在保存…", pending: "待发送 {n} 条",
    held: "需核对后重新提交：", queued: "已存在手机上，联网后自动发送。",
    sent: "已发送 {n} 条报告。", signin: "请重新登录，待发送的报告将随后发送。",
    refused: "未发送；你填写的说明和照片已保留在下面的表单中，请核对后重新提交。", draft: "已恢复上次填写的内容{v}。",
    newer: "（之后页面已更新：版本 {a} → {b}，请核对后再提交）",
    signout: "还有 {n} 条报告未发送，退出后将丢失。仍要退出吗？",
    insecure: "本地址不是 HTTPS，手机无法离线保存页面（断网时填写的报告仍会暂存）。"
  };
  function say(key, values) {
    return W[key].replace(/\{(\w+)\}/g, function (_, k) { return String(values[k]); });
  }
  function when(iso) {
    var d = new Date(iso), p = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + " " +
      p(d.getHours()) + ":" + p(d.getMinutes());
  }
  var SYNC_KEY = "field.sync", SENT_KEY = "field.sent", STALE_MS = 30 * 60 * 1000;
  var dbp = window.idb.openDB("field", 1, {
    upgrade: function (db) {
      db.createObjectStore("outbox", { keyPath: "id", autoIncrement: true });
      db.createObjectStore("drafts", { keyPath: "key" });
    }
  });
  function store(name, mode, fn) {
    return dbp.then(function (db) { return fn(db.transaction(name, mode).store); });
  }
  var state = { unreachable: false, syncing: false, note: "" };

  function lastSync() {
    try { return JSON.parse(localStorage.getItem(SYNC_KEY) || "null"); } catch (e) { return null; }
  }

  /* --- the status line of every page -------------------------------------------------- */
  function render() {
    return Promise.all([
      store("outbox", "readonly", function (s) { return s.getAll(); }),
      store("drafts", "readonly", function (s) { return s.getAll(); })
    ]).then(function (all) {
      var waiting = all[0].filter(function (e) { return e.user === user; });
      var held = all[1].filter(function (d) { return d.user === user && d.notice; });
      var sync = lastSync();
      var mine = sync && sync.user === user ? sync : null;
      var offline = !navigator.onLine;
      net.hidden = false;
      net.className = "net" + (offline || state.unreachable ? " off" : "");
      net.textContent = "";
      var line = function (text, cls) {
        var p = document.createElement("p");
        p.textContent = text;
        if (cls) { p.className = cls; }
        net.appendChild(p);
        return p;
      };
      if (offline) {
        line(say("offline", { t: mine ? when(mine.at) : "—" }), "net-banner");
      } else if (state.unreachable) {
        line(W.unreachable, "net-banner");
      }
      var status = line(mine ? say("synced", { t: when(mine.at) }) : (worker || window.isSecureContext ? W.never : W.insecure), "net-sync");
      status.setAttribute("data-synced", mine ? mine.at : "");
      if (!offline && worker) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "link";
        button.textContent = state.syncing ? W.syncing : W.sync;
        button.disabled = state.syncing;
        button.addEventListener("click", function () { requestSync(true); });
        status.appendChild(document.createTextNode(" "));
        status.appendChild(button);
      }
      if (waiting.length) {
        line(say("pending", { n: waiting.length }), "net-pending").setAttribute("data-count", waiting.length);
      }
      if (held.length) {
        var p = line(W.held, "net-held");
        held.forEach(function (d) {
          var a = document.createElement("a");
          a.href = d.page;
          a.textContent = d.title || d.page;
          p.appendChild(document.createTextNode(" "));
          p.appendChild(a);
        });
      }
      if (state.note) { line(state.note, "net-note"); }
    });
  }

  /* --- the service worker and the sync of what the phone keeps --------------------------- */
  var worker = null;
  function requestSync(force) {
    var sync = lastSync();
    var fresh = sync && sync.user === user && sync.lang === (en ? "en" : "zh") &&
      Date.now() - Date.parse(sync.at) < STALE_MS;
    if (!worker || !navigator.onLine || state.syncing || (fresh && !force)) { return; }
    state.syncing = true;
    worker.postMessage({ type: "sync", lang: en ? "en" : "zh" });
    render();
  }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", function (event) {
      var data = event.data || {};
      if (data.type === "synced" && data.user === user) {
        data.lang = en ? "en" : "zh";
        localStorage.setItem(SYNC_KEY, JSON.stringify(data));
      }
      if (data.type === "synced" || data.type === "sync-failed") {
        state.syncing = false;
        render();
      }
    });
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (reg) {
      worker = reg.active;
      requestSync(false);
      render();
    }, function () { return null; });
  }

  /* --- forms: what they hold, drafts ---------------------------------------------------- */
  var forms = Array.prototype.slice.call(document.querySelectorAll("form[data-offline-queue]"));
  function target(form) { return new URL(form.getAttribute("action") || location.href, location.href); }
  function keyOf(form) { return target(form).pathname; }
  function pagePath() {
    var url = new URL(location.href);
    url.searchParams.delete("saved");
    return url.pathname + url.search;
  }
  function collect(form) {
    var fields = [], files = [];
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string") {
        fields.push([name, value]);
      } else if (value && (value.name || value.size)) {
        files.push({ field: name, name: value.name, type: value.type, blob: value });
      }
    });
    var version = form.elements.namedItem("version");
    return {
      key: keyOf(form), action: target(form).href, method: (form.getAttribute("method") || "post").toUpperCase(),
      fields: fields, files: files, version: version ? version.value : null, user: user,
      page: pagePath(), title: document.title.split(" · ")[0], at: new Date().toISOString()
    };
  }
  var KEEP = { csrf_token: true, version: true, submission_id: true };
  /* A form's submission_id names one submission (the service stores a replayed one once).
   * A page kept offline is opened many times: each opening, and each report queued from
   * it, gets an id of its own. */
  function freshId(form) {
    var input = form.querySelector("input[name=submission_id]");
    if (!input || !window.crypto || !window.crypto.getRandomValues) { return; }
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    input.value = Array.prototype.map.call(bytes, function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }
  function fill(form, draft) {
    var values = {};
    draft.fields.forEach(function (f) { (values[f[0]] = values[f[0]] || []).push(f[1]); });
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || KEEP[el.name] || !(el.name in values)) { return; }
      if (el.type === "radio" || el.type === "checkbox") {
        el.checked = values[el.name].indexOf(el.value) >= 0;
      } else if (el.type !== "file") {
        el.value = values[el.name][0];
      }
    });
    var byField = {};
    draft.files.forEach(function (f) { (byField[f.field] = byField[f.field] || []).push(f); });
    Object.keys(byField).forEach(function (name) {
      var input = form.querySelector("input[type=file][name='" + name + "']");
      if (!input || typeof DataTransfer === "undefined") { return; }
      var dt = new DataTransfer();
      byField[name].forEach(function (f) { dt.items.add(new File([f.blob], f.name, { type: f.type })); });
      input.files = dt.files;
    });
  }
  function notice(form, cls, html, text) {
    var old = form.parentNode.querySelector(".outbox-note");
    if (old) { old.remove(); }
    var box = document.createElement("div");
    box.className = "outbox-note " + cls;
    box.setAttribute("role", cls === "alert" ? "alert" : "status");
    if (text) { var p = document.createElement("p"); p.textContent = text; box.appendChild(p); }
    if (html) { box.insertAdjacentHTML("beforeend", html); }
    form.parentNode.insertBefore(box, form);
  }
  function restore(form) {
    return store("drafts", "readonly", function (s) { return s.get(keyOf(form)); }).then(function (d) {
      if (!d || d.user !== user) { return; }
      fill(form, d);
      var version = form.elements.namedItem("version");
      var changed = version && d.version !== null && d.version !== version.value;
      var v = changed ? say("newer", { a: d.version, b: version.value }) : "";
      if (d.notice) {
        notice(form, "alert", d.notice, W.refused);
      } else {
        notice(form, "ok", "", say("draft", { v: v }));
      }
    });
  }
  var timers = {};
  function saveDraft(form) {
    var key = keyOf(form);
    clearTimeout(timers[key]);
    timers[key] = setTimeout(function () {
      var draft = collect(form);
      store("drafts", "readwrite", function (s) {
        return s.get(key).then(function (old) {
          if (old && old.notice) { draft.notice = old.notice; draft.version = old.version; }
          return s.put(draft);
        });
      });
    }, 250);
  }

  /* --- sending ---------------------------------------------------------------------------- */
  function refusal(r) {
    return r.text().then(function (text) {
      var type = r.headers.get("content-type") || "";
      if (type.indexOf("json") >= 0) {
        try {
          var err = JSON.parse(text);
          var msg = (err.error && (err.error.message || err.error.detail)) || err.detail || text;
          var p = document.createElement("p");
          p.textContent = typeof msg === "string" ? msg : JSON.stringify(msg);
          return p.outerHTML;
        } catch (e) { return ""; }
      }
      var doc = new DOMParser().parseFromString(text, "text/html");
      return Array.prototype.map.call(doc.querySelectorAll("main .alert"), function (el) {
        return el.outerHTML;
      }).join("");
    });
  }
  /* One entry to the service: "accepted" (with the page to show), "held" (refused, with
   * why), "signin" (the sign-in is no longer valid) or "wait" (no network, or the service
   * busy): then it stays in the outbox. A fresh form token is fetched first. */
  function send(entry) {
    var token;
    return fetch("/app/csrf.json", { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status === 401) { return { kind: "signin" }; }
      if (!r.ok) { return { kind: "wait" }; }
      return r.json().then(function (b) {
        token = b.csrf_token;
        var data = new FormData();
        entry.fields.forEach(function (f) { data.append(f[0], f[0] === "csrf_token" ? token : f[1]); });
        entry.files.forEach(function (f) { data.append(f.field, f.blob, f.name); });
        return fetch(entry.action, {
          method: entry.method, body: data, credentials: "same-origin",
          headers: { "X-CSRF-Token": token }
        });
      }).then(function (r2) {
        var path = new URL(r2.url).pathname;
        if (path === "/signin" || r2.status === 401) { return { kind: "signin" }; }
        if (r2.ok) { return { kind: "accepted", url: r2.url }; }
        if (r2.status >= 500 || r2.status === 429 || r2.status === 408) { return { kind: "wait" }; }
        return refusal(r2).then(function (html) { return { kind: "held", status: r2.status, notice: html }; });
      });
    }).then(function (outcome) {
      state.unreachable = false;
      return outcome;
    }, function () {
      state.unreachable = true;
      return { kind: "wait" };
    });
  }
  function hold(entry, outcome) {
    var draft = Object.assign({}, entry, { notice: outcome.notice || ("HTTP " + outcome.status) });
    delete draft.id;
    return store("drafts", "readwrite", function (s) { return s.put(draft); }).then(function () {
      return store("outbox", "readwrite", function (s) { return s.delete(entry.id); });
    });
  }
  function drop(entry) {
    return store("outbox", "readwrite", function (s) { return s.delete(entry.id); });
  }

  var replaying = null;
  function replayAll() {
    return store("outbox", "readonly", function (s) { return s.getAll(); }).then(function (all) {
      var mine = all.filter(function (e) { return e.user === user; });
      var done = { sent: 0, pages: [] };
      function next(i) {
        if (i >= mine.length) { return Promise.resolve(done); }
        var entry = mine[i];
        return send(entry).then(function (o) {
          if (o.kind === "accepted") {
            done.sent += 1;
            done.pages.push(entry.page);
            return drop(entry).then(function () { return next(i + 1); });
          }
          if (o.kind === "held") {
            done.pages.push(entry.page);
            return hold(entry, o).then(function () { return next(i + 1); });
          }
          if (o.kind === "signin") { state.note = W.signin; }
          return done;
        });
      }
      return next(0);
    });
  }
  function replay() {
    if (replaying || !navigator.onLine) { return replaying || Promise.resolve(); }
    var run = navigator.locks
      ? navigator.locks.request("field-outbox", replayAll)
      : replayAll();
    replaying = run.then(function (done) {
      replaying = null;
      if (done && done.sent) {
        sessionStorage.setItem(SENT_KEY, String(done.sent));
        requestSync(true);
        state.note = say("sent", { n: done.sent });
      }
      /* A report about this page was accepted or held: show the page as it is now. */
      if (done && done.pages.indexOf(pagePath()) >= 0) { location.reload(); return; }
      if (done && done.sent) { sessionStorage.removeItem(SENT_KEY); }
      return render();
    }, function () { replaying = null; return render(); });
    return replaying;
  }

  function submit(event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-offline-queue")) { return; }
    event.preventDefault();
    if (form.getAttribute("data-sending")) { return; }
    form.setAttribute("data-sending", "1");
    var entry = collect(form);
    clearTimeout(timers[entry.key]);
    store("outbox", "readwrite", function (s) { return s.add(entry); }).then(function (id) {
      entry.id = id;
      return store("drafts", "readwrite", function (s) { return s.delete(entry.key); })
        .then(null, function () { return null; });  /* a draft left over is harmless */
    }).then(function () {
      return navigator.onLine ? send(entry) : { kind: "wait" };
    }, function () {
      /* The phone cannot store it (storage full or refused): the plain form post. */
      form.removeAttribute("data-sending");
      HTMLFormElement.prototype.submit.call(form);
      return { kind: "posted" };
    }).then(function (o) {
      if (o.kind === "posted") { return null; }
      if (o.kind === "accepted") {
        return drop(entry).then(function () { location.assign(o.url); });
      }
      if (o.kind === "held") {
        return hold(entry, o).then(function () { location.assign(entry.page); });
      }
      form.removeAttribute("data-sending");
      form.reset();
      freshId(form);
      notice(form, "ok", "", o.kind === "signin" ? W.signin : W.queued);
      return render();
    });
  }

  document.addEventListener("submit", submit);
  forms.forEach(function (form) {
    freshId(form);
    form.addEventListener("input", function () { saveDraft(form); });
    form.addEventListener("change", function () { saveDraft(form); });
    restore(form);
  });

  /* Signing out forgets what the phone keeps for the person: the worker deletes its caches
   * once a sync under way has ended (at most 10 s are waited for). */
  function forget() {
    if (!worker) { return Promise.resolve(); }
    return new Promise(function (resolve) {
      var timer = setTimeout(resolve, 10000);
      navigator.serviceWorker.addEventListener("message", function (event) {
        if (event.data && event.data.type === "cleared") { clearTimeout(timer); resolve(); }
      });
      worker.postMessage({ type: "clear" });
    });
  }
  var out = document.querySelector("form[action^='/signout']");
  if (out) {
    out.addEventListener("submit", function (event) {
      event.preventDefault();
      store("outbox", "readonly", function (s) { return s.getAll(); }).then(function (all) {
        var n = all.filter(function (e) { return e.user === user; }).length;
        if (n && !window.confirm(say("signout", { n: n }))) { return; }
        localStorage.removeItem(SYNC_KEY);
        return forget().then(function () {
          return store("drafts", "readwrite", function (s) { return s.clear(); });
        }).then(function () { out.submit(); });
      });
    });
  }

  /* Public to other scripts of the pages (e.g. a patrol recorder): queue an entry. */
  window.fieldOutbox = {
    add: function (entry) {
      var full = Object.assign({ method: "POST", files: [], version: null, user: user,
        page: pagePath(), title: document.title.split(" · ")[0], at: new Date().toISOString() }, entry);
      full.key = new URL(full.action, location.href).pathname;
      return store("outbox", "readwrite", function (s) { return s.add(full); }).then(function () {
        return replay();
      });
    },
    replay: replay,
    count: function () {
      return store("outbox", "readonly", function (s) { return s.getAll(); }).then(function (all) {
        return all.filter(function (e) { return e.user === user; }).length;
      });
    }
  };

  window.addEventListener("online", function () { state.unreachable = false; replay(); requestSync(false); render(); });
  window.addEventListener("offline", render);
  setInterval(function () { store("outbox", "readonly", function (s) { return s.count(); }).then(function (n) { if (n) { replay(); } }); }, 30000);
  var sent = sessionStorage.getItem(SENT_KEY);
  if (sent) { sessionStorage.removeItem(SENT_KEY); state.note = say("sent", { n: sent }); }
  render().then(replay);
})();
