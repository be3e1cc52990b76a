/* The command-centre charts: Apache ECharts fed by the page's JSON block (#dash-data); drawn again
   after each htmx refresh of #dashboard-live and on resize. No inline script (CSP). */
(function () {
  "use strict";

  function draw(id, option) {
    var node = document.getElementById(id);
    if (!node || !window.echarts) { return; }
    var chart = window.echarts.getInstanceByDom(node) || window.echarts.init(node, null, { renderer: "canvas" });
    chart.setOption(option, true);
  }

  function render() {
    var source = document.getElementById("dash-data");
    if (!source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    draw("dash-trend", {
      tooltip: { trigger: "axis" },
      legend: { data: [data.labels.received, data.labels.closed] },
      grid: { left: 40, right: 16, top: 32, bottom: 24 },
      xAxis: { type: "category", data: data.trend.days },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: data.labels.received, type: "line", smooth: true, data: data.trend.received },
        { name: data.labels.closed, type: "line", smooth: true, data: data.trend.closed }
      ]
    });
    draw("dash-channels", {
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: ["40%", "70%"], data: data.channels }]
    });
    draw("dash-problems", {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      grid: { left: 110, right: 16, top: 8, bottom: 24 },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: data.problems.names },
      series: [{ type: "bar", data: data.problems.values, name: data.labels.orders }]
    });
  }

  function resize() {
    if (!window.echarts) { return; }
    ["dash-trend", "dash-channels", "dash-problems"].forEach(function (id) {
      var node = document.getElementById(id);
      var chart = node && window.echarts.getInstanceByDom(node);
      if (chart) { chart.resize(); }
    });
  }

  document.addEventListener("DOMContentLoaded", render);
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "dashboard-live") { render(); }
  });
  window.addEventListener("resize", resize);
}());
