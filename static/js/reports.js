/* Report charts (ECharts, served from static/vendor/echarts).
 *
 * Every element with data-chart-json="<id>" is drawn from the JSON of the <script
 * type="application/json" id="<id>"> next to it: {chart: {type, horizontal}, categories,
 * series: [{name, data, drill}]}. Clicking a bar, slice or point opens its drill-down URL
 * when the report provides one. Charts added later by htmx (dashboard widgets) are drawn
 * when they arrive. No inline script: the page's CSP forbids it.
 */
(function () {
  "use strict";

  var charts = [];
  var zh = (document.documentElement.lang || "").toLowerCase().indexOf("zh") === 0;

  function compact(value) {
    if (typeof value !== "number") { return value; }
    var abs = Math.abs(value);
    if (zh) {
      if (abs >= 1e8) { return (value / 1e8).toFixed(1).replace(/\.0$/, "") + "亿"; }
      if (abs >= 1e4) { return (value / 1e4).toFixed(1).replace(/\.0$/, "") + "万"; }
    } else {
      if (abs >= 1e9) { return (value / 1e9).toFixed(1).replace(/\.0$/, "") + "B"; }
      if (abs >= 1e6) { return (value / 1e6).toFixed(1).replace(/\.0$/, "") + "M"; }
      if (abs >= 1e3) { return (value / 1e3).toFixed(1).replace(/\.0$/, "") + "k"; }
    }
    return String(value);
  }

  function option(spec, narrow) {
    var type = spec.chart.type;
    var cats = spec.categories || [];
    var series = spec.series || [];
    var legend = { type: "scroll", bottom: 0 };
    if (type === "pie" || type === "funnel") {
      var first = series[0] || { data: [], drill: [] };
      var data = cats.map(function (name, i) {
        return { name: name, value: first.data[i], url: (first.drill || [])[i] };
      });
      return {
        tooltip: { trigger: "item" },
        legend: legend,
        series: [type === "pie"
          ? { type: "pie", radius: narrow ? ["30%", "60%"] : ["35%", "65%"], data: data, name: first.name }
          : { type: "funnel", sort: "none", left: "10%", width: "80%", top: 10, bottom: 40,
              label: { show: true, position: "inside" }, data: data, name: first.name }]
      };
    }
    var horizontal = !!spec.chart.horizontal;
    var valueAxis = { type: "value", axisLabel: { formatter: compact } };
    var catAxis = {
      type: "category", data: cats,
      axisLabel: { interval: horizontal ? 0 : "auto", hideOverlap: true, width: narrow ? 60 : 110, overflow: "truncate" }
    };
    var stacked = type === "stacked_bar";
    return {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: legend,
      grid: { left: 8, right: 16, top: 16, bottom: 40, containLabel: true },
      xAxis: horizontal ? valueAxis : catAxis,
      yAxis: horizontal ? Object.assign({}, catAxis, { inverse: true }) : valueAxis,
      series: series.map(function (s) {
        return {
          name: s.name,
          type: type === "line" ? "line" : "bar",
          stack: stacked ? "total" : undefined,
          emphasis: { focus: "series" },
          data: s.data.map(function (v, i) { return { value: v, url: (s.drill || [])[i] }; })
        };
      })
    };
  }

  function draw(el) {
    if (el.getAttribute("data-drawn") || typeof echarts === "undefined") { return; }
    var source = document.getElementById(el.getAttribute("data-chart-json"));
    if (!source) { return; }
    var spec = JSON.parse(source.textContent);
    if (!spec.chart || spec.chart.type === "table" || spec.chart.type === "number") { return; }
    var narrow = el.clientWidth < 480;
    var chart = echarts.init(el, null, { locale: zh ? "ZH" : "EN", renderer: "canvas" });
    chart.setOption(option(spec, narrow));
    chart.on("click", function (params) {
      var url = params.data && params.data.url;
      if (url) { window.location.href = url; }
    });
    el.setAttribute("data-drawn", "1");
    charts.push(chart);
  }

  function drawAll(root) {
    (root || document).querySelectorAll("[data-chart-json]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.body.addEventListener("htmx:afterSettle", function (evt) { drawAll(evt.target); });
  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.resize(); });
  });
  window.addEventListener("beforeprint", function () {
    charts.forEach(function (c) { c.resize(); });
  });
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-weft-print]");
    if (button) { window.print(); }
  });
  if (document.readyState !== "loading") { drawAll(document); }
})();
