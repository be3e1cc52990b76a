/* The residents' report page: where the problem is.
 *
 * - "使用我的位置": the browser's geolocation, which is WGS-84; sent as such (coord_system wgs84).
 * - A tap on the map: the point in the map's own coordinate system — WGS-84 on the plain
 *   offline background, or the tiles' system (GCJ-02 for AMap/Tencent, BD-09 for Baidu) when
 *   tiles are configured — sent with that system; the server converts to WGS-84
 *   (orgs.geo.to_wgs84), as the public API does.
 * After either, the page asks the server which grid the point lies in (htmx, event wb:located).
 */
(function () {
  "use strict";

  var mapEl = null;
  var map = null;
  var marker = null;

  function field(id) {
    return document.getElementById(id);
  }

  function setPoint(lon, lat, system) {
    field("id_lon").value = lon.toFixed(6);
    field("id_lat").value = lat.toFixed(6);
    field("id_coord_system").value = system;
    var located = field("located");
    if (located) {
      located.dispatchEvent(new CustomEvent("wb:located", { bubbles: true }));
    }
  }

  function showMarker(lon, lat) {
    var L = window.L;
    if (!map || !L) {
      return;
    }
    var latlng = [lat, lon];
    if (marker) {
      marker.setLatLng(latlng);
    } else {
      marker = L.circleMarker(latlng, {
        radius: 9,
        color: "#fff",
        weight: 3,
        fillColor: "#c8161d",
        fillOpacity: 1,
      }).addTo(map);
    }
    map.setView(latlng, Math.max(map.getZoom(), 15));
  }

  function tileSystem() {
    if (!mapEl || !mapEl.getAttribute("data-tile-url")) {
      return "wgs84";
    }
    return (mapEl.getAttribute("data-tile-crs") || "wgs84").toLowerCase();
  }

  function toMapCoords(lon, lat) {
    var system = tileSystem();
    var M = window.MinhuMap;
    if (!M || system === "wgs84") {
      return [lon, lat];
    }
    var g = M.wgsToGcj(lon, lat);
    return system === "bd09" ? M.gcjToBd(g[0], g[1]) : g;
  }

  document.addEventListener("minhu:map-ready", function (evt) {
    if (!evt.target || evt.target.id !== "report-map") {
      return;
    }
    mapEl = evt.target;
    map = evt.detail.map;
    map.on("click", function (e) {
      showMarker(e.latlng.lng, e.latlng.lat);
      setPoint(e.latlng.lng, e.latlng.lat, tileSystem());
    });
    var lon = parseFloat(field("id_lon").value);
    var lat = parseFloat(field("id_lat").value);
    if (isFinite(lon) && isFinite(lat)) {
      var system = field("id_coord_system").value || "wgs84";
      var shown = system === "wgs84" ? toMapCoords(lon, lat) : [lon, lat];
      showMarker(shown[0], shown[1]);
    }
  });

  document.addEventListener("change", function (evt) {
    var input = evt.target;
    var targetId = input && input.getAttribute ? input.getAttribute("data-wb-files") : null;
    var out = targetId ? document.getElementById(targetId) : null;
    if (!out || !input.files) {
      return;
    }
    var names = Array.prototype.map.call(input.files, function (f) {
      return f.name;
    });
    if (names.length) {
      out.textContent = (out.getAttribute("data-msg-chosen") || "") + names.join("、");
    }
  });

  document.addEventListener("click", function (evt) {
    var button = evt.target && evt.target.closest ? evt.target.closest("[data-wb-geolocate]") : null;
    if (!button) {
      return;
    }
    evt.preventDefault();
    var status = field("located");
    if (!navigator.geolocation) {
      if (status) {
        status.textContent = button.getAttribute("data-msg-denied");
      }
      return;
    }
    var label = button.textContent;
    button.disabled = true;
    button.textContent = button.getAttribute("data-msg-busy");
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        button.disabled = false;
        button.textContent = label;
        var lon = pos.coords.longitude;
        var lat = pos.coords.latitude;
        var shown = toMapCoords(lon, lat);
        showMarker(shown[0], shown[1]);
        setPoint(lon, lat, "wgs84");
      },
      function () {
        button.disabled = false;
        button.textContent = label;
        if (status) {
          status.textContent = button.getAttribute("data-msg-denied");
        }
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  });
})();
