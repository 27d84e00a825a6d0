/* The battle map: the region map (ECharts, coloured by the chosen indicator) and the trend chart.
   Data comes from the page (json_script); clicking a region drills down. No network requests. */
(function () {
  "use strict";
  var node = document.getElementById("dashboard-data");
  if (!node || typeof echarts === "undefined") { return; }
  var data = JSON.parse(node.textContent);

  var mapNode = document.getElementById("map");
  if (mapNode && data.geo && data.geo.features.length) {
    echarts.registerMap("jingzhun", data.geo);
    var names = {}, illustrative = {};
    data.geo.features.forEach(function (f) {
      names[f.properties.code] = f.properties.name;
      illustrative[f.properties.code] = !!f.properties.illustrative;
    });
    var values = data.values.map(function (v) { return v.value; }).filter(function (v) { return v !== null; });
    var max = values.length ? Math.max.apply(null, values) : 1;
    var texts = {};
    data.values.forEach(function (v) { texts[v.name] = v.text; });
    var map = echarts.init(mapNode, null, { renderer: "canvas" });
    map.setOption({
      animation: false,
      tooltip: { trigger: "item", formatter: function (p) {
        return (names[p.name] || p.name) + (illustrative[p.name] ? "（" + data.labels.illustrative + "）" : "") +
          "<br>" + data.indicator + "：" + (texts[p.name] || "—");
      } },
      visualMap: { min: 0, max: max || 1, calculable: true, left: 10, bottom: 10,
        inRange: { color: ["#fef0d9", "#fdcc8a", "#fc8d59", "#d7301f"] }, text: [data.unit, ""] },
      series: [{
        type: "map", map: "jingzhun", nameProperty: "code", roam: true, selectedMode: false,
        label: { show: true, fontSize: 11, formatter: function (p) { return names[p.name] || p.name; } },
        itemStyle: { borderColor: "#555", borderWidth: 0.8, areaColor: "#eeeeee" },
        emphasis: { label: { show: true }, itemStyle: { areaColor: "#f2c14e" } },
        data: data.values.map(function (v) { return { name: v.name, value: v.value }; })
      }]
    });
    if (data.drill) {
      map.on("click", function (p) {
        if (!p.name || !texts.hasOwnProperty(p.name)) { return; }
        var q = new URLSearchParams({ region: p.name, year: data.year, indicator: data.map_indicator });
        window.location.href = data.url + "?" + q.toString();
      });
    }
    mapNode.setAttribute("data-rendered", "1");
    window.addEventListener("resize", function () { map.resize(); });
  }

  var trendNode = document.getElementById("trend");
  if (trendNode && data.trend.years.length) {
    var chart = echarts.init(trendNode, null, { renderer: "canvas" });
    var series = data.trend.series.map(function (s) {
      var isRate = s.id === "poverty_incidence";
      return { name: s.name, type: isRate ? "line" : "bar", yAxisIndex: isRate ? 0 : 1,
        data: s.data.map(function (d) { return [String(d[0]), d[1]]; }) };
    });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 50, right: 60, top: 40, bottom: 30 },
      xAxis: { type: "category", data: data.trend.years.map(String) },
      yAxis: [{ type: "value", name: data.labels.incidence }, { type: "value", name: data.labels.persons }],
      series: series
    });
    trendNode.setAttribute("data-rendered", "1");
    window.addEventListener("resize", function () { chart.resize(); });
  }
})();
