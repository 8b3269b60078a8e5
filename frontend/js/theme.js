// Chart colours that follow the light / dark theme. Plotly draws with literal colours, so
// every chart is drawn through plot(): its layout gets the theme's ink, grid and axis-line
// colours, and a trace colour written as a CSS variable ("--ink") is resolved. A theme
// change (setTheme) re-colours every chart already drawn without touching its data.

const root = () => document.documentElement;
const cssValue = (name) => getComputedStyle(root()).getPropertyValue(name).trim();

// "--ink" -> the theme's colour; anything else as it is.
export const cssColor = (c) => (typeof c === "string" && c.startsWith("--") ? cssValue(c) : c);

// The page's colours now (for canvases: histogram labels, attention-map labels ...).
export function palette() {
  return { ink: cssValue("--ink"), muted: cssValue("--muted"), grid: cssValue("--grid"), line: cssValue("--line"), panel: cssValue("--panel") };
}

const AXIS = /^[xyz]axis\d*$/;
const axisColors = (p) => ({ gridcolor: p.grid, zerolinecolor: p.line, linecolor: p.line, tickcolor: p.line });

// A layout in the theme's colours (its own settings kept, the colours of text and lines set).
export function themed(layout) {
  const p = palette();
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
  return Plotly.react(el, data.map(resolve), themed(layout), config);
}

// Light or dark: the page's colours change at once; every chart drawn is re-coloured.
export function setTheme(theme) {
  root().dataset.theme = theme;
  if (typeof Plotly === "undefined") return; // (charts drawn later pick the theme up)
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
