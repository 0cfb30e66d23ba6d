/* Field capture, map context and patrol tracks on the phone.
 *
 * - Capture forms (form[data-capture]): the phone's position (with its accuracy) into the
 *   hidden lon/lat/accuracy fields, an optional polygon drawn with leaflet-geoman into the
 *   hidden "area" field (GeoJSON, degrees), and the 小班 boundaries from the vector tiles.
 * - Map context (.map-context on the problem and target pages): the 小班 boundaries and
 *   numbers around the place, the person's position (watchPosition) and the distance to
 *   the point, and the point's coordinates in WGS 84 and in the survey's CRS (proj4).
 * - Patrols (form[data-patrol]): positions recorded while the page is open, kept in
 *   localStorage so a reload loses nothing, sent as the form's "track" field when stopped.
 * Every form gets a fresh submission_id when the page opens (a cached page is never sent
 * twice under one id); the forms carry data-offline-queue, so field.js keeps them on the
 * phone while there is no network.
 */
(function () {
  "use strict";
  var TILE_ZOOM = 16; /* the zoom the offline tiles go up to */
  var LABEL_ZOOM = 16; /* 小班 numbers from this zoom on (a 5 ha 小班 is about 60 px wide) */

  function fresh() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, k) { return String(values[k]); });
  }
  function fixed(n, d) { return Number(n).toFixed(d); }

  /* --- 小班 boundaries and numbers from the vector tiles ------------------------------ */
  function parcels(map, tiles) {
    if (!L.vectorGrid || !tiles) { return; }
    var labels = L.layerGroup().addTo(map);
    var grid = L.vectorGrid.protobuf(tiles, {
      rendererFactory: L.svg.tile, interactive: false, maxNativeZoom: TILE_ZOOM,
      vectorTileLayerStyles: { parcels: { color: "#2e6b3a", weight: 1, fill: false } },
      getFeatureId: function (f) { return f.properties.parcel_id; }
    }).addTo(map);
    var shown = {};
    /* Pinned Leaflet.VectorGrid 1.3.0: a tile's features are kept (getFeatureId) with
     * their outline in tile pixels (_parts); the label goes at the middle of its box. */
    grid.on("tileload", function (e) {
      var tile = grid._vectorTiles && grid._vectorTiles[grid._tileCoordsToKey(e.coords)];
      if (!tile || e.coords.z < LABEL_ZOOM) { return; }
      var size = grid.getTileSize();
      Object.keys(tile._features).forEach(function (id) {
        var f = tile._features[id].feature;
        if (shown[id] || !f._parts || !f._parts.length) { return; }
        var ring = f._parts[0], box = L.bounds(ring);
        var px = box.getCenter().add(L.point(e.coords.x * size.x, e.coords.y * size.y));
        var at = map.unproject(px, e.coords.z);
        shown[id] = true;
        L.marker(at, { interactive: false, keyboard: false, icon: L.divIcon({
          className: "parcel-label", html: String(id).replace(/[<>&"]/g, ""), iconSize: null
        }) }).addTo(labels);
      });
    });
    map.on("zoomend", function () {
      if (map.getZoom() < LABEL_ZOOM) { labels.clearLayers(); shown = {}; }
    });
  }

  /* --- the person's position ------------------------------------------------------- */
  function youMarker(map) {
    var dot = L.circleMarker([0, 0], { radius: 7, color: "#fff", weight: 2, fillColor: "#1a73e8", fillOpacity: 1 });
    var ring = L.circle([0, 0], { radius: 1, color: "#1a73e8", weight: 1, fillOpacity: 0.1 });
    return function (pos) {
      var at = L.latLng(pos.coords.latitude, pos.coords.longitude);
      dot.setLatLng(at).addTo(map);
      ring.setLatLng(at).setRadius(pos.coords.accuracy || 1).addTo(map);
      return at;
    };
  }

  /* --- coordinates in the survey's CRS --------------------------------------------- */
  function surveyCrs(done) {
    var key = "field.crs";
    var kept = null;
    try { kept = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { kept = null; }
    if (kept) { done(kept); }
    if (!window.fetch) { return; }
    fetch("/app/field/crs.json", { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (crs) {
      if (!crs) { return; }
      localStorage.setItem(key, JSON.stringify(crs));
      if (!kept) { done(crs); }
    }).catch(function () { /* offline: the kept copy, if any */ });
  }
  function toSurvey(crs, lon, lat) {
    if (!window.proj4 || !crs || !crs.proj4) { return null; }
    return window.proj4("EPSG:4326", crs.proj4, [lon, lat]);
  }

  /* --- capture forms --------------------------------------------------------------- */
  function captureForm(form) {
    var el = document.getElementById("capture-map");
    var id = form.querySelector("input[name=submission_id]");
    if (id) { id.value = fresh(); }
    if (!el || !window.L) { return null; }
    var fallback = el.querySelector(".map-fallback");
    if (fallback) { fallback.remove(); }
    var map = L.map(el, { attributionControl: false });
    var shapesEl = document.getElementById("capture-shapes");
    var shapes = shapesEl ? JSON.parse(shapesEl.textContent) : null;
    var outline = L.geoJSON(shapes || [], {
      style: function (f) {
        return f.properties.kind === "target" ? { color: "#b3261e", weight: 2, fillOpacity: 0.2 } :
          { color: "#4d5a4f", weight: 2, dashArray: "5 4", fill: false };
      }
    }).addTo(map);
    if (outline.getBounds().isValid()) {
      map.fitBounds(outline.getBounds(), { maxZoom: TILE_ZOOM });
    } else {
      map.fitWorld(); /* no outline: the person's position centres the map once taken */
    }
    parcels(map, el.getAttribute("data-tiles"));
    el.setAttribute("data-ready", "1");
    return map;
  }

  function positionFields(form, map) {
    var text = form.querySelector(".position-text");
    var button = form.querySelector("button.locate");
    var field = function (n) { return form.querySelector("input[name=" + n + "]"); };
    var mark = map ? youMarker(map) : null;
    function got(pos) {
      field("lon").value = fixed(pos.coords.longitude, 7);
      field("lat").value = fixed(pos.coords.latitude, 7);
      field("accuracy").value = fixed(pos.coords.accuracy || 0, 1);
      text.textContent = fill(text.getAttribute("data-located"), {
        lat: fixed(pos.coords.latitude, 6), lon: fixed(pos.coords.longitude, 6),
        acc: fixed(pos.coords.accuracy || 0, 0)
      });
      if (mark) { map.setView(mark(pos), Math.max(map.getZoom(), TILE_ZOOM)); }
    }
    function locate() {
      if (!navigator.geolocation) { text.textContent = text.getAttribute("data-denied"); return; }
      text.textContent = button.getAttribute("data-locating");
      navigator.geolocation.getCurrentPosition(got, function () {
        text.textContent = text.getAttribute("data-denied");
      }, { enableHighAccuracy: true, timeout: 30000, maximumAge: 10000 });
    }
    button.addEventListener("click", locate);
    if (!field("lat").value) { locate(); }
  }

  function drawArea(form, map) {
    var area = form.querySelector("input[name=area]");
    var clear = form.querySelector(".clear-area");
    if (!map || !map.pm || !area) { return; }
    map.pm.addControls({
      position: "topleft", drawMarker: false, drawCircleMarker: false, drawPolyline: false,
      drawRectangle: false, drawCircle: false, drawText: false, cutPolygon: false,
      rotateMode: false, editMode: true, dragMode: false, removalMode: true
    });
    var drawn = null;
    function keep() {
      area.value = drawn ? JSON.stringify(drawn.toGeoJSON().geometry) : "";
      if (clear) { clear.hidden = !drawn; }
    }
    if (area.value) {
      try { drawn = L.geoJSON(JSON.parse(area.value)).getLayers()[0].addTo(map); } catch (e) { drawn = null; }
      keep();
    }
    map.on("pm:create", function (e) {
      if (drawn) { map.removeLayer(drawn); }
      drawn = e.layer;
      drawn.on("pm:edit", keep);
      keep();
    });
    map.on("pm:remove", function (e) { if (e.layer === drawn) { drawn = null; keep(); } });
    if (clear) {
      clear.addEventListener("click", function () { if (drawn) { map.removeLayer(drawn); drawn = null; keep(); } });
    }
  }

  /* --- patrols --------------------------------------------------------------------- */
  function patrolForm(form) {
    var user = document.body.getAttribute("data-user") || "me";
    var key = "field.patrol." + user;
    var status = form.querySelector(".patrol-status");
    var start = form.querySelector(".patrol-start");
    var stop = form.querySelector(".patrol-stop");
    var id = form.querySelector("input[name=submission_id]");
    var map = captureForm(form);
    var line = map ? L.polyline([], { color: "#1a73e8", weight: 4 }).addTo(map) : null;
    var mark = map ? youMarker(map) : null;
    var run = null;
    try { run = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { run = null; }
    var watch = null, lock = null;
    function metres(points) {
      var m = 0;
      for (var i = 1; i < points.length; i++) {
        m += L.latLng(points[i - 1][1], points[i - 1][0]).distanceTo(L.latLng(points[i][1], points[i][0]));
      }
      return m;
    }
    function show() {
      var pts = run ? run.points : [];
      if (line) { line.setLatLngs(pts.map(function (p) { return [p[1], p[0]]; })); }
      if (!run) { status.textContent = ""; return; }
      var min = pts.length > 1 ? (pts[pts.length - 1][2] - pts[0][2]) / 60000 : 0;
      status.textContent = fill(form.getAttribute("data-running"), {
        n: pts.length, km: fixed(metres(pts) / 1000, 2), min: fixed(min, 0)
      });
    }
    function save() { localStorage.setItem(key, JSON.stringify(run)); }
    function record(pos) {
      if (!run) { return; }
      run.points.push([pos.coords.longitude, pos.coords.latitude, pos.timestamp || Date.now(), pos.coords.accuracy]);
      save();
      if (mark) { map.setView(mark(pos), Math.max(map.getZoom(), TILE_ZOOM)); }
      show();
    }
    function begin() {
      if (!navigator.geolocation) { status.textContent = form.getAttribute("data-denied"); return; }
      if (!run) { run = { id: fresh(), points: [] }; save(); }
      id.value = run.id;
      start.disabled = true;
      stop.disabled = false;
      watch = navigator.geolocation.watchPosition(record, function () {
        status.textContent = form.getAttribute("data-denied");
      }, { enableHighAccuracy: true, maximumAge: 5000 });
      if (navigator.wakeLock) { navigator.wakeLock.request("screen").then(function (l) { lock = l; }).catch(function () { lock = null; }); }
      show();
    }
    start.addEventListener("click", begin);
    /* Runs before field.js's handler (registered later): the track is in the form when
     * it is queued or sent; the kept run is dropped only once the form has left. */
    form.addEventListener("submit", function () {
      if (watch !== null) { navigator.geolocation.clearWatch(watch); watch = null; }
      if (lock) { lock.release(); lock = null; }
      form.querySelector("input[name=track]").value = JSON.stringify(run ? run.points : []);
      if (run) { id.value = run.id; }
      localStorage.removeItem(key);
      run = null;
      start.disabled = false;
      stop.disabled = true;
    }, true);
    if (run) { begin(); } else { id.value = fresh(); }
  }

  /* --- map context on the problem and target pages ------------------------------------ */
  /* The areas drawn on the map when the problem was captured (map data of kind "area",
     drawn by field.js): orange dashes, as the caption under the map says. */
  function drawnAreas(map) {
    map.eachLayer(function (layer) {
      var f = layer.feature;
      if (f && f.properties && f.properties.kind === "area" && layer.setStyle) {
        layer.setStyle({ color: "#e07b00", weight: 3, dashArray: "6 4", fillColor: "#e07b00", fillOpacity: 0.15 });
      }
    });
  }

  function mapContext(box, map) {
    drawnAreas(map);
    var lat = parseFloat(box.getAttribute("data-lat")), lon = parseFloat(box.getAttribute("data-lon"));
    var point = isNaN(lat) ? null : L.latLng(lat, lon);
    var data = document.getElementById("map-data");
    if (!point && data) {
      /* A target or patch: the middle of its outline (the page's own map data). */
      var outline = L.geoJSON(JSON.parse(data.textContent), {
        filter: function (f) { return f.properties.kind === "target" || f.properties.kind === "patch"; }
      }).getBounds();
      if (outline.isValid()) { point = outline.getCenter(); }
    }
    parcels(map, box.getAttribute("data-tiles"));
    if (!point) { return; }
    var zoom = box.querySelector(".ctx-zoom");
    zoom.hidden = false;
    zoom.addEventListener("click", function () {
      map.setView(point, TILE_ZOOM);
      map.getContainer().scrollIntoView({ block: "center" });
    });
    var wgs = box.querySelector(".ctx-wgs84"), survey = box.querySelector(".ctx-survey");
    var nav = box.querySelector(".ctx-nav"), away = box.querySelector(".ctx-away");
    var la = fixed(point.lat, 6), lo = fixed(point.lng, 6);
    wgs.textContent = fill(wgs.getAttribute("data-text"), { lat: la, lon: lo });
    nav.href = "geo:" + la + "," + lo + "?q=" + la + "," + lo;
    nav.hidden = false;
    surveyCrs(function (crs) {
      var xy = toSurvey(crs, point.lng, point.lat);
      if (!xy) { return; }
      survey.textContent = fill(survey.getAttribute("data-text"), {
        crs: crs.name, x: fixed(xy[0], 1), y: fixed(xy[1], 1)
      });
    });
    if (!navigator.geolocation) { return; }
    var mark = youMarker(map);
    navigator.geolocation.watchPosition(function (pos) {
      var at = mark(pos);
      away.textContent = fill(away.getAttribute("data-text"), { m: fixed(at.distanceTo(point), 0) });
      away.hidden = false;
    }, function () { away.hidden = true; }, { enableHighAccuracy: true, maximumAge: 10000 });
  }

  var contextBox = document.querySelector(".map-context");
  if (contextBox && window.L) {
    /* field.js draws the page's map (#map) after this script has run: catch it here. */
    L.Map.addInitHook(function () {
      var map = this;
      if (map.getContainer().id !== "map") { return; }
      map.whenReady(function () { mapContext(contextBox, map); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var patrol = document.querySelector("form[data-patrol]");
    if (patrol) { patrolForm(patrol); }
    var form = document.querySelector("form[data-capture]");
    if (!form) { return; }
    var map = captureForm(form);
    positionFields(form, map);
    drawArea(form, map);
  });
})();
