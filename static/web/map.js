/* Minhu maps: grid polygons from GeoJSON on Leaflet, offline by default.
 *
 * Markup (see web/templates/web/partials/map.html):
 *
 *   <div class="map" data-minhu-map data-geojson="ID" data-tile-url="" data-tile-crs="wgs84"
 *        data-tile-subdomains="" data-tile-attribution="" data-point="lon,lat"></div>
 *   <script type="application/json" id="ID">{"type": "FeatureCollection", ...}</script>
 *
 * Geometry is stored and sent in WGS-84 (DESIGN.md). Without a tile URL the polygons are drawn
 * as they are on a plain background: nothing is fetched from anywhere. With a tile URL, the
 * tiles' coordinate system (data-tile-crs: wgs84 | gcj02 | bd09) decides how our WGS-84
 * coordinates are shifted before drawing, so they land on the right streets of AMap/Tencent
 * (GCJ-02) or Baidu (BD-09) tiles. Baidu tiles also use their own Mercator and tile numbering:
 * the "bd09" mode uses the Clarke-1866 Mercator approximation that the usual Leaflet plugins use.
 *
 * Feature properties understood: name (label; see data-label-property), highlight (drawn red).
 * Labels are inserted as text, never as HTML.
 */
(function () {
  "use strict";

  var PI = Math.PI;
  var A = 6378245.0;
  var EE = 0.00669342162296594323;
  var X_PI = (PI * 3000.0) / 180.0;

  function outOfChina(lon, lat) {
    return !(lon > 73.66 && lon < 135.05 && lat > 3.86 && lat < 53.55);
  }

  function transformLat(x, y) {
    var r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += ((20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0) / 3.0;
    r += ((20.0 * Math.sin(y * PI) + 40.0 * Math.sin((y / 3.0) * PI)) * 2.0) / 3.0;
    r += ((160.0 * Math.sin((y / 12.0) * PI) + 320 * Math.sin((y * PI) / 30.0)) * 2.0) / 3.0;
    return r;
  }

  function transformLon(x, y) {
    var r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += ((20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0) / 3.0;
    r += ((20.0 * Math.sin(x * PI) + 40.0 * Math.sin((x / 3.0) * PI)) * 2.0) / 3.0;
    r += ((150.0 * Math.sin((x / 12.0) * PI) + 300.0 * Math.sin((x / 30.0) * PI)) * 2.0) / 3.0;
    return r;
  }

  function wgsToGcj(lon, lat) {
    if (outOfChina(lon, lat)) {
      return [lon, lat];
    }
    var dLat = transformLat(lon - 105.0, lat - 35.0);
    var dLon = transformLon(lon - 105.0, lat - 35.0);
    var radLat = (lat / 180.0) * PI;
    var magic = Math.sin(radLat);
    magic = 1 - EE * magic * magic;
    var sqrtMagic = Math.sqrt(magic);
    dLat = (dLat * 180.0) / (((A * (1 - EE)) / (magic * sqrtMagic)) * PI);
    dLon = (dLon * 180.0) / ((A / sqrtMagic) * Math.cos(radLat) * PI);
    return [lon + dLon, lat + dLat];
  }

  function gcjToBd(lon, lat) {
    var z = Math.sqrt(lon * lon + lat * lat) + 0.00002 * Math.sin(lat * X_PI);
    var theta = Math.atan2(lat, lon) + 0.000003 * Math.cos(lon * X_PI);
    return [z * Math.cos(theta) + 0.0065, z * Math.sin(theta) + 0.006];
  }

  var CONVERTERS = {
    wgs84: function (lon, lat) {
      return [lon, lat];
    },
    gcj02: wgsToGcj,
    bd09: function (lon, lat) {
      var g = wgsToGcj(lon, lat);
      return gcjToBd(g[0], g[1]);
    },
  };

  function mapCoords(coords, fn) {
    if (typeof coords[0] === "number") {
      var out = fn(coords[0], coords[1]);
      return coords.length > 2 ? out.concat(coords.slice(2)) : out;
    }
    return coords.map(function (c) {
      return mapCoords(c, fn);
    });
  }

  function convertGeometry(geometry, fn) {
    if (!geometry) {
      return geometry;
    }
    if (geometry.type === "GeometryCollection") {
      return {
        type: geometry.type,
        geometries: geometry.geometries.map(function (g) {
          return convertGeometry(g, fn);
        }),
      };
    }
    return { type: geometry.type, coordinates: mapCoords(geometry.coordinates, fn) };
  }

  function convertGeoJSON(data, fn) {
    if (!data) {
      return data;
    }
    if (data.type === "FeatureCollection") {
      return {
        type: data.type,
        features: data.features.map(function (f) {
          return convertGeoJSON(f, fn);
        }),
      };
    }
    if (data.type === "Feature") {
      return { type: "Feature", properties: data.properties || {}, geometry: convertGeometry(data.geometry, fn) };
    }
    return convertGeometry(data, fn);
  }

  function baiduCrs(L) {
    // Baidu's Mercator: Clarke 1866 ellipsoid, 1 m per pixel at zoom 18, origin (0, 0), y up.
    var projection = L.extend({}, L.Projection.Mercator, {
      R: 6378206,
      R_MINOR: 6356584.314245179,
      bounds: L.bounds([-20037725.11268234, -19994875.0], [20037725.11268234, 19994875.0]),
    });
    return L.extend({}, L.CRS.Earth, {
      code: "BD09MC",
      projection: projection,
      transformation: new L.Transformation(1, 0, -1, 0),
      scale: function (zoom) {
        return Math.pow(2, zoom - 18);
      },
      zoom: function (scale) {
        return Math.log(scale) / Math.LN2 + 18;
      },
      infinite: true,
    });
  }

  function baiduTileLayer(L, url, options) {
    var Layer = L.TileLayer.extend({
      getTileUrl: function (coords) {
        var data = {
          s: this._getSubdomain(coords),
          x: coords.x,
          y: -coords.y - 1,
          z: this._getZoomForUrl(),
        };
        return L.Util.template(this._url, L.extend(data, this.options));
      },
    });
    return new Layer(url, options);
  }

  function readJson(id) {
    var node = id ? document.getElementById(id) : null;
    if (!node) {
      return null;
    }
    try {
      return JSON.parse(node.textContent);
    } catch (e) {
      return null;
    }
  }

  function textNode(text) {
    var span = document.createElement("span");
    span.textContent = String(text);
    return span;
  }

  function initMap(el) {
    var L = window.L;
    if (!L || el.getAttribute("data-ready") === "1") {
      return null;
    }
    var tileUrl = el.getAttribute("data-tile-url") || "";
    var crsName = (el.getAttribute("data-tile-crs") || "wgs84").toLowerCase();
    if (!CONVERTERS[crsName]) {
      crsName = "wgs84";
    }
    // Without tiles nothing needs shifting: the shapes are drawn in the stored WGS-84.
    var convert = tileUrl ? CONVERTERS[crsName] : CONVERTERS.wgs84;
    var useBaidu = tileUrl && crsName === "bd09";
    var map = L.map(el, {
      crs: useBaidu ? baiduCrs(L) : L.CRS.EPSG3857,
      attributionControl: Boolean(tileUrl),
      zoomSnap: 0.25,
      scrollWheelZoom: el.getAttribute("data-scroll-zoom") === "1",
    });
    if (tileUrl) {
      var options = {
        maxZoom: 19,
        attribution: "",
        subdomains: el.getAttribute("data-tile-subdomains") || "abc",
      };
      var layer = useBaidu ? baiduTileLayer(L, tileUrl, options) : L.tileLayer(tileUrl, options);
      layer.addTo(map);
      var attribution = el.getAttribute("data-tile-attribution");
      if (attribution) {
        map.attributionControl.setPrefix(false);
        map.attributionControl.addAttribution(L.Util.escapeHTML ? L.Util.escapeHTML(attribution) : attribution);
      }
    }
    var labelProperty = el.getAttribute("data-label-property") || "name";
    var permanentLabels = el.getAttribute("data-labels") === "1";
    var data = readJson(el.getAttribute("data-geojson"));
    // Build the layers first and set the view from their bounds, then add them: permanent
    // labels need a map that already has a view.
    var shapes = L.geoJSON(convertGeoJSON(data, convert), {
      style: function (feature) {
        var hot = feature && feature.properties && feature.properties.highlight;
        return {
          color: hot ? "#c8161d" : "#1a5ccc",
          weight: hot ? 3 : 1.5,
          fillColor: hot ? "#c8161d" : "#1a5ccc",
          fillOpacity: hot ? 0.16 : 0.07,
        };
      },
      onEachFeature: function (feature, layer) {
        var label = feature.properties ? feature.properties[labelProperty] : null;
        if (label) {
          layer.bindTooltip(textNode(label), {
            permanent: permanentLabels,
            direction: "center",
            className: "map__label",
          });
        }
      },
    });
    var bounds = shapes.getBounds();
    var marker = null;
    var point = (el.getAttribute("data-point") || "").split(",").map(Number);
    if (point.length === 2 && isFinite(point[0]) && isFinite(point[1])) {
      var p = convert(point[0], point[1]);
      marker = L.circleMarker([p[1], p[0]], {
        radius: 7,
        color: "#fff",
        weight: 2,
        fillColor: "#0b3d91",
        fillOpacity: 1,
      });
      bounds = bounds.isValid() ? bounds.extend(marker.getLatLng()) : L.latLngBounds([marker.getLatLng()]);
    }
    if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [16, 16], maxZoom: 17 });
    } else {
      map.setView([39.9, 116.4], 10);
    }
    shapes.addTo(map);
    if (marker) {
      marker.addTo(map);
    }
    // A phone turned sideways or a resized window: keep the shapes in view until the person
    // moves the map themselves.
    var moved = false;
    map.on("dragstart", function () {
      moved = true;
    });
    el.addEventListener("click", function (evt) {
      if (evt.target && evt.target.closest && evt.target.closest(".leaflet-control-zoom")) {
        moved = true;
      }
    });
    var timer = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        map.invalidateSize();
        if (!moved && bounds.isValid()) {
          map.fitBounds(bounds, { padding: [16, 16], maxZoom: 17 });
        }
      }, 100);
    });
    el.setAttribute("data-ready", "1");
    el.dispatchEvent(new CustomEvent("minhu:map-ready", { bubbles: true, detail: { map: map } }));
    return map;
  }

  function initAll(root) {
    var scope = root || document;
    var nodes = scope.querySelectorAll ? scope.querySelectorAll("[data-minhu-map]") : [];
    Array.prototype.forEach.call(nodes, initMap);
  }

  window.MinhuMap = {
    init: initMap,
    initAll: initAll,
    wgsToGcj: wgsToGcj,
    gcjToBd: gcjToBd,
    convertGeoJSON: convertGeoJSON,
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      initAll(document);
    });
  } else {
    initAll(document);
  }
  document.addEventListener("htmx:load", function (evt) {
    initAll(evt.detail.elt);
  });
})();
