// Competency map: draw the radar chart (SVG, no library) from the page's JSON data. Without
// JavaScript the figure stays hidden and the table below it carries the same numbers.
(function () {
  "use strict";
  var source = document.getElementById("map-data");
  var figure = document.getElementById("radar");
  var holder = document.getElementById("radar-chart");
  if (!source || !figure || !holder || !document.createElementNS) { return; }
  var data;
  try { data = JSON.parse(source.textContent); } catch (error) { return; }
  var axes = data.axes || [];
  var top = data.max || 3;
  if (axes.length < 3) { return; }

  var NS = "http://www.w3.org/2000/svg";
  var width = 520, height = 440, cx = width / 2, cy = height / 2 + 6, radius = 125;

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function point(index, value) {
    var angle = -Math.PI / 2 + (2 * Math.PI * index) / axes.length;
    var r = radius * value / top;
    return [cx + r * Math.cos(angle), cy + r * Math.sin(angle)];
  }
  // Axis names on short lines: at spaces for English, every 7 characters for Chinese.
  function wrap(text) {
    var lines = [], line = "";
    if (text.indexOf(" ") < 0) {
      for (var i = 0; i < text.length; i += 7) { lines.push(text.slice(i, i + 7)); }
      return lines;
    }
    text.split(" ").forEach(function (word) {
      if (line && (line + " " + word).length > 16) { lines.push(line); line = word; }
      else { line = line ? line + " " + word : word; }
    });
    if (line) { lines.push(line); }
    return lines;
  }
  function points(values) {
    return values.map(function (value, index) {
      return point(index, value).map(function (n) { return n.toFixed(1); }).join(",");
    }).join(" ");
  }

  var svg = el("svg", {
    viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": data.summary,
    "class": "radar__svg", focusable: "false"
  });
  var title = el("title", {}, svg);
  title.textContent = data.summary;

  var grid = el("g", { "class": "radar__grid", "aria-hidden": "true" }, svg);
  for (var ring = 1; ring <= top; ring += 1) {
    var ringValues = axes.map(function () { return ring; });
    el("polygon", { points: points(ringValues) }, grid);
    // Ring names sit halfway along the first edge, clear of the top axis label.
    var a = point(0, ring), b = point(1, ring);
    var ringLabel = el("text", {
      x: ((a[0] + b[0]) / 2 + 3).toFixed(1), y: ((a[1] + b[1]) / 2).toFixed(1),
      "class": "radar__ring"
    }, grid);
    ringLabel.textContent = (data.levels && data.levels[ring]) || String(ring);
  }
  axes.forEach(function (axis, index) {
    var end = point(index, top);
    el("line", { x1: cx, y1: cy, x2: end[0].toFixed(1), y2: end[1].toFixed(1) }, grid);
    var at = point(index, top + 0.22);
    var lines = wrap(axis.name);
    var anchor = Math.abs(at[0] - cx) < 8 ? "middle" : (at[0] > cx ? "start" : "end");
    // Labels above the chart grow upwards, the others downwards.
    var y = at[1] < cy - radius / 2 ? at[1] - 16 * lines.length : at[1];
    var label = el("text", {
      x: at[0].toFixed(1), y: y.toFixed(1), "text-anchor": anchor, "class": "radar__label"
    }, grid);
    var code = el("tspan", { x: at[0].toFixed(1), "class": "radar__code" }, label);
    code.textContent = axis.id;
    lines.forEach(function (text) {
      var part = el("tspan", { x: at[0].toFixed(1), dy: "1.2em" }, label);
      part.textContent = text;
    });
  });

  var hasTarget = axes.some(function (axis) { return axis.target !== null; });
  var shapes = el("g", { "aria-hidden": "true" }, svg);
  if (hasTarget) {
    el("polygon", {
      points: points(axes.map(function (axis) { return axis.target || 0; })),
      "class": "radar__target"
    }, shapes);
  }
  el("polygon", {
    points: points(axes.map(function (axis) { return axis.level; })), "class": "radar__level"
  }, shapes);
  axes.forEach(function (axis, index) {
    var at = point(index, axis.level);
    el("circle", { cx: at[0].toFixed(1), cy: at[1].toFixed(1), r: 4, "class": "radar__dot" }, shapes);
  });

  holder.appendChild(svg);
  figure.hidden = false;
}());
