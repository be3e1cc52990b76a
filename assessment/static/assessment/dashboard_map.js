/* The command-centre grid map: the grids of the territory coloured by their open orders (a
 * choropleth with its legend), hot spots outlined and marked in red with a popup naming the
 * warned item and the counts.
 *
 * The map itself is set up by static/web/map.js (offline plain background, or the configured
 * tiles and their coordinate system); this script waits for its "minhu:map-ready" event on
 * #dash-map, then fetches the GeoJSON named by data-map-source on the enclosing box and fetches
 * it again every data-map-refresh seconds with X-Minhu-Background (the poll does not extend the
 * idle session). The box is hx-preserve'd, so the dashboard's own refresh keeps the map.
 * No inline script (CSP); every text goes in as text, never as HTML. Load before map.js.
 */
(function () {
  "use strict";

  function converter(el) {
    var M = window.MinhuMap;
    var crs = (el.getAttribute("data-tile-crs") || "wgs84").toLowerCase();
    if (!el.getAttribute("data-tile-url") || !M || crs === "wgs84") {
      return null;
    }
    if (crs === "gcj02") {
      return M.wgsToGcj;
    }
    if (crs === "bd09") {
      return function (lon, lat) {
        var g = M.wgsToGcj(lon, lat);
        return M.gcjToBd(g[0], g[1]);
      };
    }
    return null;
  }

  function line(parent, text, className) {
    var div = document.createElement("div");
    if (className) {
      div.className = className;
    }
    div.textContent = String(text);
    parent.appendChild(div);
    return div;
  }

  function popupFor(props, labels) {
    var box = document.createElement("div");
    box.className = "dash-map-popup";
    line(box, props.name, "dash-map-popup__title");
    line(box, labels.open + " " + props.open + " " + labels.unit + " · " + labels.today + " " + props.today + " " + labels.unit);
    (props.reasons || []).forEach(function (reason) {
      line(box, reason, "dash-map-popup__hot");
    });
    return box;
  }

  function legendControl(L, legend) {
    var control = L.control({ position: "bottomright" });
    control.onAdd = function () {
      var box = L.DomUtil.create("div", "dash-map-legend");
      line(box, legend.title, "dash-map-legend__title");
      legend.classes.forEach(function (cls) {
        var row = line(box, "", "dash-map-legend__row");
        var swatch = document.createElement("span");
        swatch.className = "dash-map-legend__swatch";
        swatch.style.backgroundColor = cls.colour;
        row.appendChild(swatch);
        row.appendChild(document.createTextNode(cls.label));
      });
      var hot = line(box, "", "dash-map-legend__row");
      var mark = document.createElement("span");
      mark.className = "dash-map-legend__swatch dash-map-legend__swatch--hot";
      mark.style.borderColor = legend.hot.colour;
      hot.appendChild(mark);
      hot.appendChild(document.createTextNode(legend.hot.label));
      return box;
    };
    return control;
  }

  function setUp(el, map) {
    var L = window.L;
    var box = el.closest("[data-map-source]");
    if (!L || !box) {
      return;
    }
    var url = box.getAttribute("data-map-source");
    var seconds = parseInt(box.getAttribute("data-map-refresh") || "60", 10);
    var convert = converter(el);
    var shapes = null;
    var legend = null;
    var fitted = false;

    function draw(data) {
      if (!data || data.type !== "FeatureCollection") {
        return;
      }
      var hotColour = data.legend.hot.colour;
      var features = convert ? window.MinhuMap.convertGeoJSON(data, convert) : data;
      var next = L.featureGroup();
      var hotLayers = [];
      L.geoJSON(features, {
        style: function (feature) {
          var p = feature.properties;
          return {
            color: p.hot ? hotColour : "#475569",
            weight: p.hot ? 3 : 1,
            fillColor: p.fill,
            fillOpacity: 0.75,
          };
        },
        onEachFeature: function (feature, layer) {
          var p = feature.properties;
          layer.bindTooltip(line(document.createElement("div"), p.name + " · " + p.open), { sticky: true });
          layer.bindPopup(popupFor(p, data.labels));
          if (p.hot) {
            hotLayers.push(layer);
            var marker = L.circleMarker(layer.getBounds().getCenter(), {
              radius: 7,
              color: "#fff",
              weight: 2,
              fillColor: hotColour,
              fillOpacity: 1,
              className: "dash-map-hotspot",
            });
            marker.bindPopup(popupFor(p, data.labels));
            hotLayers.push(marker);
          }
        },
      }).eachLayer(function (layer) {
        next.addLayer(layer);
      });
      hotLayers.forEach(function (layer) {
        if (!next.hasLayer(layer)) {
          next.addLayer(layer);
        }
      });
      if (shapes) {
        map.removeLayer(shapes);
      }
      shapes = next.addTo(map);
      hotLayers.forEach(function (layer) {
        if (layer.bringToFront) {
          layer.bringToFront();
        }
      });
      if (!legend) {
        legend = legendControl(L, data.legend).addTo(map);
      }
      var bounds = shapes.getBounds();
      if (!fitted && bounds.isValid()) {
        map.fitBounds(bounds, { padding: [16, 16], maxZoom: 17 });
        fitted = true;
      }
      el.setAttribute("data-map-drawn", String(data.features.length));
    }

    function load() {
      window
        .fetch(url, {
          credentials: "same-origin",
          headers: { Accept: "application/json", "X-Minhu-Background": "1" },
        })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(draw)
        .catch(function () {
          /* offline for a moment: the next poll tries again */
        });
    }

    load();
    if (seconds > 0) {
      window.setInterval(load, seconds * 1000);
    }
  }

  document.addEventListener("minhu:map-ready", function (event) {
    if (event.target && event.target.id === "dash-map" && event.detail && event.detail.map) {
      setUp(event.target, event.detail.map);
    }
  });
})();
