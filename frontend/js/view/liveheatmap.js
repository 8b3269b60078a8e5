// A plotly heatmap whose cells change every frame at the cost of a canvas: plotly draws the
// chart (axes, titles, colour bar, hover values) through a Pacer, a few times a second, with
// its cells transparent; a canvas behind the plot area paints the newest cells on every call
// (cells for cells as plotly would: each a flat rectangle, the colour scale interpolated in
// RGBA). Hover reads the values of plotly's last redraw (a fraction of a second old).
//
//   const h = new LiveHeatmap(el);
//   h.draw(trace, layout, config)   // trace: {type: "heatmap", z, zmin?, zmax?, colorscale, ...}
//
// Only for heatmaps on plotly's default axes over the cells (x from -0.5 to columns - 0.5,
// y the same, reversed or not): the canvas fills the plot area.
import { Pacer } from "../pace.js";
import { plot } from "../theme.js";
import { Plotly } from "./plotly.js";

const parsed = new Map(); // css colour -> [r, g, b, a 0..255]

function rgba(color) {
  let out = parsed.get(color);
  if (out) return out;
  const hex = /^#([0-9a-f]{6})$/i.exec(color);
  const fn = /^rgba?\(([^)]+)\)$/i.exec(color);
  if (hex) {
    const n = parseInt(hex[1], 16);
    out = [n >> 16, (n >> 8) & 255, n & 255, 255];
  } else if (fn) {
    const [r, g, b, a = 1] = fn[1].split(",").map(Number);
    out = [r, g, b, Math.round(a * 255)];
  } else {
    throw new Error(`LiveHeatmap: colour ${color} is not #rrggbb or rgb(a)(...)`);
  }
  parsed.set(color, out);
  return out;
}

// A colour scale [[0, c0], ..., [1, cn]] as a 256-entry RGBA table.
function table(colorscale) {
  const stops = colorscale.map(([at, c]) => [at, rgba(c)]);
  const lut = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) {
    const v = i / 255;
    let k = 1;
    while (k < stops.length - 1 && stops[k][0] < v) k++;
    const [a0, c0] = stops[k - 1];
    const [a1, c1] = stops[k];
    const f = a1 > a0 ? Math.min(1, Math.max(0, (v - a0) / (a1 - a0))) : 0;
    for (let ch = 0; ch < 4; ch++) lut[4 * i + ch] = c0[ch] + f * (c1[ch] - c0[ch]);
  }
  return lut;
}

const tables = new Map(); // colorscale (as JSON) -> its table

export class LiveHeatmap {
  constructor(el, interval = 400) {
    this.el = el;
    this.pacer = new Pacer(interval, el);
    this.canvas = document.createElement("canvas");
    this.canvas.className = "live-heatmap-cells";
    this.canvas.setAttribute("aria-hidden", "true");
    // behind plotly's transparent SVG: its axes, colour bar and hover labels stay on top
    Object.assign(this.canvas.style, { position: "absolute", zIndex: "-1", pointerEvents: "none", imageRendering: "pixelated" });
    el.style.isolation = "isolate"; // (z-index -1 stays inside this element, above its panel)
    el.style.position ||= "relative";
    this.cells = null; // the offscreen canvas with one pixel per cell
  }

  draw(trace, layout, config) {
    if (this.pacer.visible) this.paint(trace, layout); // (out of view: the paced redraw paints it)
    this.pacer.run(() => {
      if (!this.el.isConnected) return;
      plot(this.el, [{ ...trace, opacity: 0 }], layout, config);
      this.paint(trace, layout); // (its plot area may have moved; and the first call had none)
    });
  }

  // The cells of z on the canvas, over plotly's plot area (as its last redraw laid it out).
  paint(trace, layout) {
    const size = this.el._fullLayout?._size;
    const z = trace.z;
    const rows = z.length;
    const cols = rows ? z[0].length : 0;
    if (!size || !rows || !cols) return;
    let lo = trace.zmin;
    let hi = trace.zmax;
    if (lo === undefined || hi === undefined) {
      let min = Infinity;
      let max = -Infinity;
      for (const row of z) for (const v of row) if (Number.isFinite(v)) { if (v < min) min = v; if (v > max) max = v; }
      lo ??= min;
      hi ??= max;
    }
    const scale = hi > lo ? 255 / (hi - lo) : 0;
    const key = JSON.stringify(trace.colorscale);
    let lut = tables.get(key);
    if (!lut) { lut = table(trace.colorscale); tables.set(key, lut); }
    if (!this.cells || this.cells.width !== cols || this.cells.height !== rows) {
      this.cells = new OffscreenCanvas(cols, rows);
      this.image = new ImageData(cols, rows);
    }
    const px = this.image.data;
    const reversed = layout.yaxis?.autorange === "reversed";
    for (let r = 0; r < rows; r++) {
      const line = z[reversed ? r : rows - 1 - r];
      for (let c = 0; c < cols; c++) {
        const v = line[c];
        const at = 4 * (r * cols + c);
        if (!Number.isFinite(v)) { px[at + 3] = 0; continue; } // (plotly leaves a gap)
        const i = 4 * Math.min(255, Math.max(0, Math.round((v - lo) * scale)));
        px[at] = lut[i]; px[at + 1] = lut[i + 1]; px[at + 2] = lut[i + 2]; px[at + 3] = lut[i + 3];
      }
    }
    this.cells.getContext("2d").putImageData(this.image, 0, 0);
    const c = this.canvas;
    const ratio = devicePixelRatio || 1;
    const w = Math.round(size.w * ratio);
    const h = Math.round(size.h * ratio);
    if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
    const box = `${size.l}px/${size.t}px/${size.w}px/${size.h}px`;
    if (c.dataset.box !== box) {
      c.dataset.box = box;
      Object.assign(c.style, { left: `${size.l}px`, top: `${size.t}px`, width: `${size.w}px`, height: `${size.h}px` });
    }
    if (!c.isConnected) this.el.append(c);
    const ctx = c.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, w, h);
    ctx.drawImage(this.cells, 0, 0, w, h);
  }

  purge() {
    this.pacer.cancel();
    this.canvas.remove();
    Plotly.purge(this.el);
  }
}
