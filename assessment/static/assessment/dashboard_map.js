/* The command-centre grid map: the grids of the territory coloured by their open orders (a
 * choropleth with its legend), hot spots outlined and marked in red with a popup naming the
 * warned item and the counts.
 *
 * The map itself is set up by static/web/map.js (offline plain background, or the configured
 * tiles and their coordinate system); this script waits for its "minhu:map-ready" event on
 * #dash-map, then fetches the GeoJSON named by data-map-source on the enclosing box, draws it
 * once, and every data-map-refresh seconds fetches the counts again (geometry=0, with
 * X-Minhu-Background: the poll does not extend the idle session) to restyle the grids. The box
 * is hx-preserve'd, so the dashboard's own refresh keeps the map.
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
    var byId = {}; // feature id → its polygon layer
    var shapes = null;
    var hotGroup = L.layerGroup().addTo(map);
    var legend = null;
    var loads = 0;

    function styleFor(p, hotColour) {
      return {
        color: p.hot ? hotColour : "#475569",
        weight: p.hot ? 3 : 1,
        fillColor: p.fill,
        fillOpacity: 0.75,
      };
    }

    function describe(layer, p, labels) {
      var tip = line(document.createElement("div"), p.name + " · " + p.open);
      if (layer.getTooltip()) {
        layer.setTooltipContent(tip);
      } else {
        layer.bindTooltip(tip, { sticky: true });
      }
      if (layer.getPopup()) {
        layer.setPopupContent(popupFor(p, labels));
      } else {
        layer.bindPopup(popupFor(p, labels));
      }
    }

    function markHotSpots(data) {
      var hotColour = data.legend.hot.colour;
      hotGroup.clearLayers();
      Object.keys(byId).forEach(function (id) {
        var layer = byId[id];
        var p = layer.feature.properties;
        if (!p.hot) {
          return;
        }
        layer.bringToFront();
        var marker = L.circleMarker(layer.getBounds().getCenter(), {
          radius: 7,
          color: "#fff",
          weight: 2,
          fillColor: hotColour,
          fillOpacity: 1,
          className: "dash-map-hotspot",
        });
        marker.bindPopup(popupFor(p, data.labels));
        hotGroup.addLayer(marker);
      });
    }

    function showLegend(data) {
      if (legend) {
        map.removeControl(legend);
      }
      legend = legendControl(L, data.legend).addTo(map);
    }

    // The first answer carries the polygons: draw them and fit the view once.
    function drawAll(data) {
      var hotColour = data.legend.hot.colour;
      var features = convert ? window.MinhuMap.convertGeoJSON(data, convert) : data;
      shapes = L.geoJSON(features, {
        style: function (feature) {
          return styleFor(feature.properties, hotColour);
        },
        onEachFeature: function (feature, layer) {
          byId[String(feature.id)] = layer;
          describe(layer, feature.properties, data.labels);
        },
      }).addTo(map);
      var bounds = shapes.getBounds();
      if (bounds.isValid()) {
        map.fitBounds(bounds, { padding: [16, 16], maxZoom: 17 });
      }
    }

    // Later answers carry the counts only (geometry=0): restyle the grids already drawn.
    function restyle(data) {
      var hotColour = data.legend.hot.colour;
      data.features.forEach(function (feature) {
        var layer = byId[String(feature.id)];
        if (layer) {
          layer.feature.properties = feature.properties;
          layer.setStyle(styleFor(feature.properties, hotColour));
          describe(layer, feature.properties, data.labels);
        }
      });
    }

    function draw(data) {
      if (!data || data.type !== "FeatureCollection") {
        return;
      }
      if (shapes) {
        restyle(data);
      } else {
        drawAll(data);
      }
      markHotSpots(data);
      showLegend(data);
      el.setAttribute("data-map-drawn", String(Object.keys(byId).length));
      loads += 1;
      el.setAttribute("data-map-loads", String(loads));
    }

    function load() {
      var target = shapes ? url + (url.indexOf("?") >= 0 ? "&" : "?") + "geometry=0" : url;
      window
        .fetch(target, {
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
    box.addEventListener("minhu:map-refresh", load); // an immediate refresh (tests, other widgets)
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
