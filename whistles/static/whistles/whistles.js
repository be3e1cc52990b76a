/* 吹哨报到 page behaviour (no inline script: the CSP forbids it).
 * 1. "使用当前位置" fills the nearest form's lon/lat from the browser (WGS-84) and sets the
 *    coordinate system to wgs84.
 * 2. On the blow form the meeting fields show only for a long whistle (长哨).
 */
(function () {
  "use strict";

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest ? evt.target.closest("[data-wh-locate]") : null;
    if (!button || !navigator.geolocation) {
      return;
    }
    var form = button.closest("form");
    navigator.geolocation.getCurrentPosition(function (pos) {
      var lon = form.querySelector("input[name$='lon']");
      var lat = form.querySelector("input[name$='lat']");
      var crs = form.querySelector("select[name$='coord_system']");
      if (lon && lat) {
        lon.value = pos.coords.longitude.toFixed(6);
        lat.value = pos.coords.latitude.toFixed(6);
      }
      if (crs) {
        crs.value = "wgs84";
      }
    });
  });

  function syncMeeting(form) {
    var meeting = form.querySelector("[data-wh-meeting]");
    var chosen = form.querySelector("input[name='type']:checked");
    if (meeting) {
      meeting.hidden = !(chosen && chosen.value === "long");
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("[data-wh-blow]");
    if (!form) {
      return;
    }
    syncMeeting(form);
    form.addEventListener("change", function () {
      syncMeeting(form);
    });
  });
})();
