// Chart colours that follow the light / dark theme. Plotly draws with literal colours, so
// every chart is drawn through plot(): its layout gets the theme's ink, grid and axis-line
// colours, and a trace colour written as a CSS variable ("--ink") is resolved. A theme
// change (setTheme) re-colours every chart already drawn without touching its data.
import { Plotly } from "./view/plotly.js";

const root = () => document.documentElement;
// (kept until the theme changes: getComputedStyle in each chart redraw costs a style recalc)
const values = new Map();
const cssValue = (name) => {
  if (!values.has(name)) values.set(name, getComputedStyle(root()).getPropertyValue(name).trim());
  return values.get(name);
};

// "--ink" -> the theme's colour; anything else as it is.
export const cssColor = (c) => (typeof c === "string" && c.startsWith("--") ? cssValue(c) : c);

// The page's colours now (for canvases: histogram labels, attention-map labels ...).
export function palette() {
  return { ink: cssValue("--ink"), muted: cssValue("--muted"), grid: cssValue("--grid"), line: cssValue("--line"), panel: cssValue("--panel") };
}

const AXIS = /^[xyz]axis\d*$/;
const axisColors = (p) => ({ gridcolor: p.grid, zerolinecolor: p.line, linecolor: p.line, tickcolor: p.line });

// The projector page option: larger type everywhere (see style.css, html.projector).
export const projecting = () => root().classList.contains("projector");
const PROJECTED = 17; // px: the smallest chart text on a projector (the page's own: 16 px at 1920 wide)

// Every font size in a layout raised to at least `size` (axis ticks, titles, legends ...).
function larger(value, size) {
  if (Array.isArray(value)) return typeof value[0] === "object" ? value.map((v) => larger(v, size)) : value;
  if (!value || typeof value !== "object") return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = (k === "font" || k === "tickfont") && v && typeof v === "object" ? { ...v, size: Math.max(v.size ?? 0, size) } : larger(v, size);
  }
  return out;
}

// A chart's layout on a projector: its text at least PROJECTED px, and room for it.
function projected(layout) {
  const m = layout.margin ?? {};
  const big = larger(layout, PROJECTED);
  // a log axis labels its 2s and 5s in small digits (three quarters of the tick font):
  // on a projector they are written out whole, at the tick font's size
  for (const key of Object.keys(big)) if (AXIS.test(key)) big[key] = { ...big[key], minorloglabels: "complete" };
  return {
    ...big,
    font: { ...layout.font, size: Math.max(layout.font?.size ?? 0, PROJECTED + 1) },
    height: layout.height ? Math.round(layout.height * 1.45) : layout.height,
    margin: { ...m, l: Math.round((m.l ?? 44) * 1.5), r: Math.round((m.r ?? 8) * (m.r > 20 ? 1.6 : 1)), b: Math.round((m.b ?? 30) * 1.6), t: Math.round((m.t ?? 6) * 1.6) },
  };
}

// A layout in the theme's colours (its own settings kept, the colours of text and lines set).
export function themed(layout) {
  const p = palette();
  if (projecting()) layout = projected(layout);
  const out = { ...layout, font: { ...layout.font, color: p.ink } };
  for (const key of new Set(["xaxis", "yaxis", ...Object.keys(layout)])) {
    if (AXIS.test(key)) out[key] = { ...layout[key], ...axisColors(p) };
  }
  if (layout.scene) {
    out.scene = { ...layout.scene };
    for (const key of ["xaxis", "yaxis", "zaxis"]) out.scene[key] = { ...layout.scene[key], ...axisColors(p), backgroundcolor: "rgba(0,0,0,0)" };
  }
  return out;
}

// Per chart element, the traces whose line colour is a CSS variable: [[index, "--ink"]].
const tokens = new WeakMap();

const resolve = (trace) => (trace.line?.color?.startsWith?.("--") ? { ...trace, line: { ...trace.line, color: cssColor(trace.line.color) } } : trace);

// Plotly.react in the theme's colours (a first call draws the chart, like newPlot).
export function plot(el, data, layout, config) {
  tokens.set(el, data.flatMap((t, i) => (t.line?.color?.startsWith?.("--") ? [[i, t.line.color]] : [])));
  const traces = data.map(resolve);
  return Plotly.react(el, projecting() ? traces.map((t) => larger(t, PROJECTED)) : traces, themed(layout), config);
}

// Light or dark: the page's colours change at once; every chart drawn is re-coloured.
export function setTheme(theme) {
  root().dataset.theme = theme;
  values.clear();
  if (!Plotly) return; // (charts drawn later pick the theme up)
  const p = palette();
  for (const el of document.querySelectorAll(".js-plotly-plot")) {
    if (!el.layout) continue;
    const update = { "font.color": p.ink };
    const axes = new Set(["xaxis", "yaxis", ...Object.keys(el.layout).filter((k) => AXIS.test(k))]);
    for (const axis of axes) for (const [k, v] of Object.entries(axisColors(p))) update[`${axis}.${k}`] = v;
    if (el.layout.scene) for (const axis of ["xaxis", "yaxis", "zaxis"]) for (const [k, v] of Object.entries(axisColors(p))) update[`scene.${axis}.${k}`] = v;
    Plotly.relayout(el, update);
    const own = tokens.get(el) ?? [];
    if (own.length) Plotly.restyle(el, { "line.color": own.map(([, c]) => cssColor(c)) }, own.map(([i]) => i));
  }
  document.dispatchEvent(new CustomEvent("descent-theme", { detail: theme })); // canvases redraw
}
