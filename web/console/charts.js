// Charts as inline SVG, drawn by hand: a column chart (one column per day), horizontal bars
// (top products) and a funnel. Each SVG has role="img", a <title> and <desc>; every bar carries its
// value in data-value and a <title> tooltip, and the page shows the same numbers as a table.

const NS = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

let chartId = 0;
function frame(title, description, width, height) {
  chartId += 1;
  const t = `chart-${chartId}-title`;
  const d = `chart-${chartId}-desc`;
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width: "100%",
    role: "img",
    "aria-labelledby": `${t} ${d}`,
    class: "chart",
    preserveAspectRatio: "xMinYMin meet",
  });
  svg.append(s("title", { id: t }, title), s("desc", { id: d }, description));
  return svg;
}

function niceMax(value) {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

// points: [{label, value, key}]; format(value) for the axis and tooltips.
export function columnChart({ title, description, points, format = String, name = "chart" }) {
  const width = 720;
  const height = 260;
  const left = 64;
  const bottom = 40;
  const top = 12;
  const plotH = height - bottom - top;
  const plotW = width - left - 8;
  const max = niceMax(Math.max(0, ...points.map((p) => p.value)));
  const svg = frame(title, description, width, height);
  svg.dataset.chart = name;
  const axis = s("g", { class: "axis", "aria-hidden": "true" });
  for (let i = 0; i <= 4; i += 1) {
    const v = (max / 4) * i;
    const y = top + plotH - (plotH * i) / 4;
    axis.append(
      s("line", { x1: left, x2: width - 8, y1: y, y2: y, class: "grid" }),
      s("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, format(v)),
    );
  }
  svg.append(axis);
  const slot = plotW / Math.max(points.length, 1);
  const barW = Math.max(2, slot * 0.7);
  const bars = s("g", { class: "bars" });
  const labelEvery = Math.ceil(points.length / 10);
  points.forEach((p, i) => {
    const barH = (plotH * p.value) / max;
    const x = left + i * slot + (slot - barW) / 2;
    const rect = s("rect", {
      x: x.toFixed(1),
      y: (top + plotH - barH).toFixed(1),
      width: barW.toFixed(1),
      height: Math.max(barH, p.value > 0 ? 1 : 0).toFixed(1),
      class: "bar",
      "data-key": p.key ?? p.label,
      "data-value": p.value,
    });
    rect.append(s("title", {}, `${p.label}: ${format(p.value)}`));
    bars.append(rect);
    if (i % labelEvery === 0 || i === points.length - 1) {
      svg.append(
        s("text", { x: (x + barW / 2).toFixed(1), y: height - bottom + 16, "text-anchor": "middle", class: "label", "aria-hidden": "true" }, p.short ?? p.label),
      );
    }
  });
  svg.append(bars);
  return svg;
}

// rows: [{label, value, key}] drawn as horizontal bars, largest first as given.
export function barChart({ title, description, rows, format = String, name = "bars" }) {
  const width = 720;
  const rowH = 28;
  const left = 160;
  const right = 110;
  const height = Math.max(rowH * rows.length + 8, 40);
  const max = Math.max(1, ...rows.map((r) => r.value));
  const svg = frame(title, description, width, height);
  svg.dataset.chart = name;
  if (!rows.length) {
    svg.append(s("text", { x: 8, y: 24 }, "No data in this range."));
    return svg;
  }
  rows.forEach((r, i) => {
    const y = 4 + i * rowH;
    const w = ((width - left - right) * r.value) / max;
    const rect = s("rect", { x: left, y, width: Math.max(w, r.value > 0 ? 1 : 0).toFixed(1), height: rowH - 8, class: "bar", "data-key": r.key ?? r.label, "data-value": r.value });
    rect.append(s("title", {}, `${r.label}: ${format(r.value)}`));
    svg.append(
      s("text", { x: left - 8, y: y + rowH / 2, "text-anchor": "end", class: "label" }, r.label),
      rect,
      s("text", { x: left + w + 6, y: y + rowH / 2, class: "value" }, format(r.value)),
    );
  });
  return svg;
}

// steps: [{label, value, key}] drawn as centred bars narrowing from the first step.
export function funnelChart({ title, description, steps, name = "funnel" }) {
  const width = 720;
  const rowH = 36;
  const height = rowH * steps.length + 8;
  const max = Math.max(1, steps[0]?.value || 0, ...steps.map((st) => st.value));
  const svg = frame(title, description, width, height);
  svg.dataset.chart = name;
  const plotW = width - 320;
  steps.forEach((st, i) => {
    const w = Math.max((plotW * st.value) / max, st.value > 0 ? 2 : 0);
    const y = 4 + i * rowH;
    const x = 160 + (plotW - w) / 2;
    const rect = s("rect", { x: x.toFixed(1), y, width: w.toFixed(1), height: rowH - 8, class: "bar funnel", "data-key": st.key, "data-value": st.value });
    rect.append(s("title", {}, `${st.label}: ${st.value}`));
    const pct = i > 0 && steps[i - 1].value ? ` (${Math.round((100 * st.value) / steps[i - 1].value)}%)` : "";
    svg.append(
      s("text", { x: 152, y: y + rowH / 2, "text-anchor": "end", class: "label" }, st.label),
      rect,
      s("text", { x: 160 + plotW + 8, y: y + rowH / 2, class: "value" }, `${st.value}${pct}`),
    );
  });
  return svg;
}
