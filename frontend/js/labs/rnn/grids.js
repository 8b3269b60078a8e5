// The recurrent lab's time x unit pictures: decoding the server's compact grids (uint8 over a
// range, or float16) and drawing them as Plotly heatmaps (time across, units down).
// (Redrawn every frame: the cells on a canvas, the chart around them paced; see LiveHeatmap.)
import { decodeBase64, LiveHeatmap } from "../../view/index.js";

const OPTIONS = { displayModeBar: false, responsive: true };
// diverging: negative blue, zero neutral, positive orange (legible on light and dark panels)
export const DIVERGING = [[0, "#0877bd"], [0.5, "rgba(140,140,140,0.12)"], [1, "#e8590c"]];
export const SEQUENTIAL = [[0, "rgba(140,140,140,0.08)"], [1, "#0877bd"]];

function half(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

// A grid view {shape: [rows, T, units], encoding, data, low, high} -> Float64Array, C order.
export function decodeGrid(g) {
  const bytes = decodeBase64(g.data);
  if (g.encoding === "base64-uint8") return Float64Array.from(bytes, (b) => g.low + (b / 255) * (g.high - g.low));
  const view = new DataView(bytes.buffer);
  const out = new Float64Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = half(view.getUint16(2 * i, true));
  return out;
}

// Row ``r`` of a decoded grid as z for a heatmap: units down, time across.
export function rowZ(values, shape, r) {
  const [, steps, units] = shape;
  const z = [];
  for (let u = 0; u < units; u++) {
    const line = new Array(steps);
    for (let t = 0; t < steps; t++) line[t] = values[(r * steps + t) * units + u];
    z.push(line);
  }
  return z;
}

const live = new WeakMap(); // element -> its LiveHeatmap

export function heatmap(el, z, { zmin, zmax, colorscale = DIVERGING, title = "", height = 150, showscale = true, ticks = null } = {}) {
  const layout = {
    margin: { l: 38, r: showscale ? 8 : 8, t: title ? 20 : 6, b: 28 }, height,
    title: title ? { text: title, font: { size: 11 }, x: 0.02, xanchor: "left" } : undefined,
    xaxis: { title: { text: "time step t", font: { size: 10 } }, zeroline: false, showgrid: false, ...(ticks ? { tickvals: ticks.vals, ticktext: ticks.text } : {}) },
    yaxis: { title: { text: "unit", font: { size: 10 } }, autorange: "reversed", zeroline: false, showgrid: false },
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", font: { family: "inherit", size: 10 },
  };
  const trace = { type: "heatmap", z, zmin, zmax, colorscale, showscale, colorbar: { thickness: 8, len: 0.9, outlinewidth: 0 },
    hovertemplate: "t %{x}, unit %{y}: %{z:.3f}<extra></extra>" };
  if (!live.has(el)) live.set(el, new LiveHeatmap(el));
  live.get(el).draw(trace, layout, OPTIONS);
}
