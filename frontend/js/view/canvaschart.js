// A line chart on a 2D canvas: what LossChart draws its streaming curves with (a redraw costs
// well under a millisecond where a plotly redraw took 30-90 ms of a laptop core). It takes
// plotly-shaped input, so the labs' layouts keep their meaning:
//   traces: [{ name, x, y, line: { color, dash, width }, yaxis: "y" | "y2" }], colours resolved
//   layout: { height, margin, font, xaxis, yaxis, yaxis2, legend, showlegend, shapes (vertical
//            lines: x0, line), annotations (a mark at the top of the plot, its hovertext on hover) },
//            already in the theme's colours (theme.js themed()).
// The canvas holds the grid, the curves, the marks and the tick labels; the legend, the x-axis
// title, the hover tooltip and its guide line are HTML over it (their text crisp, and the
// legend measured only when it changes). The backing store follows devicePixelRatio; the
// element's width is kept by a ResizeObserver, which calls onResize (the owner redraws).

import { linearTicks, logTicks, tickLabel } from "./ticks.js";

// plotly's dashes, in units of the line's width (3 px at the least)
const DASHES = { dot: [1, 1], dash: [3, 3], longdash: [5, 5], dashdot: [3, 1, 1, 1], longdashdot: [5, 2, 1, 2] };
const SOLID = [];
const dashes = new Map(); // "dot 2" -> [3, 3]: made once per dash and width
function dashOf(dash, width) {
  const unit = DASHES[dash];
  if (!unit) return SOLID;
  const key = `${dash} ${width}`;
  if (!dashes.has(key)) dashes.set(key, unit.map((u) => u * Math.max(width, 3)));
  return dashes.get(key);
}

let family = null; // the page's font (read once: a style read per redraw costs a recalc)
const fontFamily = () => (family ??= getComputedStyle(document.body).fontFamily || "sans-serif");

const escape = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

// A scale of one axis: its range (log10 units on a log axis), ticks and pixel mapping.
class Scale {
  // axis: the layout's axis; extent: [lo, hi] of the data on it (or null); pixels: its length
  set(axis, extent, pixels, start, flip) {
    this.axis = axis;
    this.log = axis.type === "log";
    let [lo, hi] = extent ?? (this.log ? [0.1, 1] : [0, 1]);
    if (this.log) { lo = Math.log10(lo); hi = Math.log10(hi); }
    if (axis.range) [lo, hi] = axis.range;
    else if (flip) { // a y axis: padded, from zero when asked
      if (hi === lo) { const d = this.log ? 0.5 : Math.abs(hi) * 0.1 || 1; lo -= d; hi += d; }
      const pad = (hi - lo) * 0.05;
      const zero = !this.log && axis.rangemode === "tozero";
      lo = zero && lo >= 0 ? 0 : lo - pad;
      hi = zero && hi <= 0 ? 0 : hi + pad;
    } else if (hi === lo) { lo -= 1; hi += 1; }
    this.lo = lo; this.hi = hi;
    this.start = start; this.pixels = pixels; this.flip = flip;
    this.k = pixels / (hi - lo);
    const auto = Math.max(2, Math.floor(pixels / (flip ? 30 : 60)));
    const count = axis.nticks ? Math.min(axis.nticks, auto) : auto;
    if (axis.tickvals) {
      this.ticks = { values: axis.tickvals.filter((v) => this.inside(v)), minor: [], step: 0 };
    } else {
      this.ticks = this.log ? logTicks(lo, hi, count) : linearTicks(lo, hi, count);
    }
    return this;
  }

  inside(v) { const u = this.log ? Math.log10(v) : v; return u >= this.lo - 1e-9 && u <= this.hi + 1e-9; }

  // value -> pixel (NaN where the value cannot show: null, or <= 0 on a log axis)
  px(v) {
    if (v == null || !Number.isFinite(v) || (this.log && v <= 0)) return NaN;
    const u = ((this.log ? Math.log10(v) : v) - this.lo) * this.k;
    return this.flip ? this.start + this.pixels - u : this.start + u;
  }

  value(px) { return this.lo + (this.flip ? this.start + this.pixels - px : px - this.start) / this.k; }
}

// [lo, hi] of the finite values on an axis ("y" or "y2"), positives only on a log axis.
function extent(traces, axisName, log) {
  let lo = Infinity, hi = -Infinity;
  for (const t of traces) {
    if ((t.yaxis ?? "y") !== axisName) continue;
    const y = t.y;
    for (let i = 0; i < y.length; i++) {
      const v = y[i];
      if (v == null || !Number.isFinite(v) || (log && v <= 0)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

function xExtent(traces) {
  let lo = Infinity, hi = -Infinity;
  for (const t of traces) if (t.x.length) { lo = Math.min(lo, t.x[0]); hi = Math.max(hi, t.x[t.x.length - 1]); }
  return lo <= hi ? [lo, hi] : null;
}

// Index of the point of sorted xs nearest to v (-1 when empty).
function nearest(xs, v) {
  let a = 0, b = xs.length - 1;
  if (b < 0) return -1;
  while (b - a > 1) { const m = (a + b) >> 1; if (xs[m] < v) a = m; else b = m; }
  return Math.abs(xs[a] - v) <= Math.abs(xs[b] - v) ? a : b;
}

const div = (cls) => Object.assign(document.createElement("div"), { className: cls });

export class CanvasChart {
  constructor(el, onResize) {
    this.el = el;
    el.replaceChildren();
    el.classList.add("canvas-chart");
    this.canvas = document.createElement("canvas");
    this.ctx = this.canvas.getContext("2d");
    this.legend = div("legend");
    this.xtitle = div("xtitle");
    this.area = div("plot-area"); // the plot's rectangle: the hover target
    this.guide = div("chart-guide");
    this.tip = div("chart-tip");
    this.guide.hidden = this.tip.hidden = true;
    el.append(this.canvas, this.legend, this.xtitle, this.area, this.guide, this.tip);
    this.x = new Scale();
    this.y = new Scale();
    this.y2 = new Scale();
    this.width = 0;
    this.measured = false;
    this.legendKey = "";
    this.legendHeight = 0;
    this.box = ""; // where the HTML parts were put (restyled only when it changes)
    this.traces = [];
    this.layout = null;
    this.observer = new ResizeObserver(([entry]) => {
      const width = Math.round(entry.contentRect.width);
      if (width === this.width || !width) return;
      this.width = width;
      this.legendKey = ""; // re-measured at the new width
      onResize();
    });
    this.observer.observe(el);
    this.area.addEventListener("pointermove", (e) => this.hover(e.offsetX, e.offsetY));
    this.area.addEventListener("pointerleave", () => { this.tip.hidden = this.guide.hidden = true; });
  }

  destroy() {
    this.observer.disconnect();
    this.el.replaceChildren();
    this.el.classList.remove("canvas-chart");
  }

  // The legend's entries (rebuilt when they change) and its height.
  placeLegend(traces, layout) {
    const legend = layout.legend ?? {};
    const size = legend.font?.size ?? layout.font?.size ?? 12;
    const column = legend.orientation === "v";
    const key = `${size}|${column}|${traces.map((t) => `${t.name}:${t.line.color}:${t.line.dash}:${t.line.width}`).join("|")}`;
    if (key === this.legendKey) return this.legendHeight;
    this.legendKey = key;
    this.legend.classList.toggle("vertical", column);
    this.legend.style.fontSize = `${size}px`;
    this.legend.innerHTML = traces.map((t) => {
      const w = t.line.width ?? 2;
      const dash = dashOf(t.line.dash, w).join(" ");
      return `<span class="legend-item"><svg width="24" height="${Math.ceil(size * 0.8)}" aria-hidden="true"><line x1="1" x2="23" y1="50%" y2="50%" stroke="${escape(t.line.color)}" stroke-width="${w}"${dash ? ` stroke-dasharray="${dash}"` : ""}/></svg><span class="legendtext">${escape(t.name)}</span></span>`;
    }).join("");
    this.legend.style.maxWidth = `${Math.max(60, this.width - 16)}px`;
    this.legendHeight = this.legend.offsetHeight; // (a layout read, only when the legend changed)
    return this.legendHeight;
  }

  draw(traces, layout) {
    this.traces = traces;
    this.layout = layout;
    if (!this.measured) { // before the observer's first report (then it keeps the width; a hidden chart's is 0)
      this.measured = true;
      this.width = Math.round(this.el.clientWidth);
    }
    const W = this.width, H = layout.height ?? 150;
    if (!W) return;
    const font = layout.font ?? {};
    const size = font.size ?? 12;
    const ink = font.color ?? "#000";
    const xaxis = layout.xaxis ?? {}, yaxis = layout.yaxis ?? {}, yaxis2 = layout.yaxis2 ?? null;
    const m = layout.margin ?? {};
    const l = m.l ?? 44, r = m.r ?? 8;
    let t = m.t ?? 24, b = m.b ?? 30;
    const tickSize = xaxis.tickfont?.size ?? size;
    const tickBand = tickSize + 5;
    const title = xaxis.title?.text ?? "";
    const titleSize = xaxis.title?.font?.size ?? size;
    const titleBand = title ? titleSize + 4 : 0;

    // the legend: above the plot (in its top margin) or under the axis title; it never covers the curves
    const legend = layout.legend ?? {};
    const shown = layout.showlegend !== false && traces.length > 0;
    this.legend.hidden = !shown;
    const below = (legend.y ?? 1) < 0.5;
    const lh = shown ? this.placeLegend(traces, layout) : 0;
    if (lh) { if (below) b = Math.max(b, tickBand + titleBand + lh + 2); else t = Math.max(t, lh + 4); }
    else if (!below) t = Math.min(t, Math.ceil(size * 0.6)); // no legend above: the curves take its room (half a tick label stays)
    const x0 = l, x1 = W - r, y0 = t, y1 = H - b;
    if (x1 - x0 < 10 || y1 - y0 < 10) return;

    const xs = this.x.set(xaxis, xExtent(traces), x1 - x0, x0, false);
    const ys = this.y.set(yaxis, extent(traces, "y", yaxis.type === "log"), y1 - y0, y0, true);
    const y2s = yaxis2 ? this.y2.set(yaxis2, extent(traces, "y2", yaxis2.type === "log"), y1 - y0, y0, true) : null;

    // the backing store in device pixels
    const dpr = window.devicePixelRatio || 1;
    const canvas = this.canvas, ctx = this.ctx;
    if (canvas.width !== Math.round(W * dpr) || canvas.height !== Math.round(H * dpr)) {
      canvas.width = Math.round(W * dpr);
      canvas.height = Math.round(H * dpr);
      canvas.style.width = `${W}px`;
      canvas.style.height = `${H}px`;
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);

    // grid lines
    ctx.lineWidth = 1;
    ctx.setLineDash(SOLID);
    ctx.beginPath();
    if (yaxis.showgrid !== false) for (const v of ys.ticks.values) { const p = Math.round(ys.px(v)) + 0.5; ctx.moveTo(x0, p); ctx.lineTo(x1, p); }
    if (xaxis.showgrid !== false) for (const v of xs.ticks.values) { const p = Math.round(xs.px(v)) + 0.5; ctx.moveTo(p, y0); ctx.lineTo(p, y1); }
    ctx.strokeStyle = yaxis.gridcolor ?? "#eee";
    ctx.stroke();

    // the curves, clipped to the plot (a line's width of slack)
    ctx.save();
    ctx.beginPath();
    ctx.rect(x0 - 2, y0 - 2, x1 - x0 + 4, y1 - y0 + 4);
    ctx.clip();
    ctx.lineJoin = "round";
    for (const trace of traces) {
      const scale = trace.yaxis === "y2" && y2s ? y2s : ys;
      const x = trace.x, y = trace.y;
      const width = trace.line.width ?? 2;
      ctx.beginPath();
      let pen = false;
      for (let i = 0; i < x.length; i++) {
        const py = scale.px(y[i]);
        if (py !== py) { pen = false; continue; } // NaN: a gap
        const px = xs.px(x[i]);
        if (pen) ctx.lineTo(px, py); else { ctx.moveTo(px, py); pen = true; }
      }
      ctx.lineWidth = width;
      ctx.strokeStyle = trace.line.color;
      ctx.setLineDash(dashOf(trace.line.dash, width));
      ctx.stroke();
    }
    ctx.restore();

    // vertical marks (spikes, the divergence) and the marks at the top (⚡)
    for (const s of layout.shapes ?? []) {
      const p = xs.px(s.x0);
      if (p !== p || p < x0 - 1 || p > x1 + 1) continue;
      ctx.beginPath();
      ctx.moveTo(p, y0); ctx.lineTo(p, y1);
      ctx.lineWidth = s.line?.width ?? 1;
      ctx.strokeStyle = s.line?.color ?? ink;
      ctx.setLineDash(dashOf(s.line?.dash, ctx.lineWidth));
      ctx.stroke();
    }
    ctx.setLineDash(SOLID);
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const a of layout.annotations ?? []) {
      const p = xs.px(a.x);
      if (p !== p || p < x0 - 1 || p > x1 + 1) continue;
      ctx.font = `${a.font?.size ?? size}px ${fontFamily()}`;
      ctx.fillStyle = a.font?.color ?? ink;
      ctx.fillText(a.text, p, y0 + 1);
    }

    // tick labels
    ctx.fillStyle = ink;
    ctx.font = `${tickSize}px ${fontFamily()}`;
    ctx.textBaseline = "top";
    this.labels(xs, xaxis, tickSize, ink, (v) => [xs.px(v), y1 + 3]);
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    this.labels(ys, yaxis, yaxis.tickfont?.size ?? size, yaxis.tickfont?.color ?? ink, (v) => [x0 - 4, ys.px(v)]);
    if (y2s) {
      ctx.textAlign = "left";
      this.labels(y2s, yaxis2, yaxis2.tickfont?.size ?? size, yaxis2.tickfont?.color ?? ink, (v) => [x1 + 4, y2s.px(v)]);
    }
    this.axisTitle(yaxis, size, ink, 0.7 * size, (y0 + y1) / 2);
    if (yaxis2) this.axisTitle(yaxis2, size, ink, W - 0.7 * size, (y0 + y1) / 2);

    // the HTML parts: the x title under the tick labels, the legend, the hover area
    const box = `${x0} ${x1} ${y0} ${y1} ${W} ${H} ${lh} ${below} ${title} ${titleSize}`;
    if (box !== this.box) {
      this.box = box;
      Object.assign(this.xtitle.style, { left: `${x0}px`, width: `${x1 - x0}px`, top: `${y1 + tickBand}px`, fontSize: `${titleSize}px` });
      this.xtitle.textContent = title;
      this.xtitle.hidden = !title;
      const right = (legend.x ?? 1) >= 0.5;
      Object.assign(this.legend.style, {
        top: `${below ? y1 + tickBand + titleBand : Math.max(0, y0 - lh - 2)}px`,
        left: right ? "" : `${x0}px`, right: right ? `${r}px` : "",
        justifyContent: right ? "flex-end" : "flex-start",
      });
      Object.assign(this.area.style, { left: `${x0}px`, top: `${y0}px`, width: `${x1 - x0}px`, height: `${y1 - y0}px` });
      this.guide.style.top = `${y0}px`;
      this.guide.style.height = `${y1 - y0}px`;
    }
  }

  // One axis's tick labels; at(v) -> [x, y] where each is written. A log axis's 2s and 5s are
  // smaller, as plotly writes them (written out whole on a projector: minorloglabels).
  labels(scale, axis, size, color, at) {
    const ctx = this.ctx;
    const { values, minor = [], step } = scale.ticks;
    const small = axis.exponentformat === "power" && axis.minorloglabels !== "complete";
    ctx.fillStyle = color;
    for (let i = 0; i < values.length; i++) {
      const [px, py] = at(values[i]);
      if (px !== px || py !== py) continue;
      ctx.font = `${minor[i] && small ? Math.round(size * 0.75) : size}px ${fontFamily()}`;
      ctx.fillText(tickLabel(values[i], axis, step, minor[i]), px, py);
    }
  }

  // A y axis's title, turned along the axis, centred on (x, y) (by the chart's left or right edge).
  axisTitle(axis, size, color, x, y) {
    const text = axis.title?.text;
    if (!text) return;
    const ctx = this.ctx;
    ctx.save();
    ctx.font = `${axis.title.font?.size ?? size}px ${fontFamily()}`;
    ctx.fillStyle = color;
    ctx.translate(x, y);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(text, 0, 0);
    ctx.restore();
  }

  // The tooltip at (px, py) in the plot area: a ⚡'s explanation, or each curve's value at the
  // nearest epoch.
  hover(px, py) {
    const layout = this.layout;
    if (!layout) return;
    const xs = this.x, x0 = xs.start;
    const at = x0 + px;
    let html = "";
    let mark = null;
    if (py < 18) for (const a of layout.annotations ?? []) if (a.hovertext && Math.abs(xs.px(a.x) - at) < 8) mark = a;
    let shownAt = at;
    if (mark) html = escape(mark.hovertext);
    else {
      const v = xs.value(at);
      let best = null, bestD = Infinity;
      for (const t of this.traces) {
        const i = nearest(t.x, v);
        if (i >= 0 && Math.abs(t.x[i] - v) < bestD) { bestD = Math.abs(t.x[i] - v); best = t.x[i]; }
      }
      if (best == null) { this.tip.hidden = this.guide.hidden = true; return; }
      shownAt = xs.px(best);
      const rows = [];
      for (const t of this.traces) {
        const i = nearest(t.x, best);
        if (i < 0 || Math.abs(xs.px(t.x[i]) - shownAt) > 6) continue;
        const y = t.y[i];
        if (y == null || !Number.isFinite(y)) continue;
        rows.push(`<div><i style="background:${escape(t.line.color)}"></i>${escape(t.name)} ${Number(y).toPrecision(4)}</div>`);
      }
      if (!rows.length) { this.tip.hidden = this.guide.hidden = true; return; }
      html = `<div class="chart-tip-head">${escape(layout.xaxis?.title?.text || "epoch")} ${best}</div>${rows.join("")}`;
    }
    const tip = this.tip;
    tip.innerHTML = html;
    tip.style.fontSize = `${layout.font?.size ?? 12}px`;
    tip.style.top = `${this.y.start + (mark ? 18 : 4)}px`;
    tip.hidden = false;
    // beside the pointer, on the side with more room, and inside the chart
    const w = tip.offsetWidth; // (a layout read on hover only)
    const left = at > x0 + xs.pixels / 2 ? shownAt - 10 - w : shownAt + 10;
    tip.style.left = `${Math.max(0, Math.min(this.width - w, left))}px`;
    this.guide.style.left = `${Math.round(shownAt)}px`;
    this.guide.hidden = !!mark;
  }
}
