// Metric curves against epochs, streamed live and redrawn at a steady pace; used by every lab.
// traces: [{ name, key (the history series), color, dash?, width?, axis? ("y2" = right-hand scale) }]
// The chart keeps the series it has drawn, so its set of traces can change (setTraces).
// It draws on a canvas (view/canvaschart.js) from a plotly-shaped layout, so the labs' layouts
// (height, margin, axes, legend) keep their meaning; after each redraw the element's `data`
// holds the traces drawn ({name, x, y, line, ...}) and its `layout` the layout, as plotly's did.

import { Pacer } from "./pace.js";
import { cssColor, themed } from "./theme.js";
import { CanvasChart } from "./view/canvaschart.js";

// The legend sits in the top margin, above the plot area: never over the curves.
export const LEGEND_ABOVE = { orientation: "h", x: 1, xanchor: "right", y: 1, yanchor: "bottom", font: { size: 12 } };
const LAYOUT = {
  margin: { l: 44, r: 8, t: 24, b: 30 },
  height: 160,
  showlegend: true,
  legend: LEGEND_ABOVE,
  xaxis: { title: { text: "epoch", font: { size: 11 } }, zeroline: false },
  yaxis: { rangemode: "tozero", zeroline: false },
  font: { family: "inherit", size: 12 },
};

// A long curve drawn with about MAX_POINTS points: a few hundred pixels of chart cannot show
// more, and drawing 10 000 would cost the page its frame rate.
const MAX_POINTS = 600;

// Per bucket of consecutive epochs, its first point and its highest (so a spike stays).
// out: arrays to fill ({x, y}, emptied first), so that a redraw reuses its buffers.
export function thin(x, y, max = MAX_POINTS, out = { x: [], y: [] }) {
  const n = x.length;
  const xs = out.x, ys = out.y;
  xs.length = ys.length = 0;
  if (n <= max) {
    for (let i = 0; i < n; i++) { xs.push(x[i]); ys.push(y[i] ?? null); }
    return out;
  }
  const size = Math.ceil((2 * n) / max);
  for (let start = 0; start < n; start += size) {
    const end = Math.min(n, start + size);
    let top = start;
    for (let j = start; j < end; j++) if (y[j] != null && (y[top] == null || y[j] > y[top])) top = j;
    xs.push(x[start]); ys.push(y[start] ?? null);
    if (top !== start) { xs.push(x[top]); ys.push(y[top] ?? null); }
  }
  return out;
}

// legible on the light and the dark panel alike (contrast 3:1 or more on both)
const SAVED_COLORS = ["#ae3ec9", "#2b8a3e", "#e8590c", "#8b5cf6", "#0ca678", "#c92a2a"];
const FORK_COLOR = "#7048e8";

export class LossChart {
  constructor(el, traces, layout = {}) {
    this.el = el;
    this.traces = traces;
    this.layout = { ...LAYOUT, ...layout };
    this.marker = null;
    this.spikes = []; // [{epoch, text}]: loss spikes, marked with their explanation on hover
    this.x = [];
    this.ys = {};
    this.saved = []; // earlier runs drawn under the live curves: [{ label, x, y }]
    this.fork = null; // a forked run streamed beside the live one: { label, x, ys }
    this.buffers = []; // per drawn trace, the {x, y} arrays thin() fills (reused redraw after redraw)
    this.pacer = new Pacer(200, el);
    this.chart = new CanvasChart(el, () => this.redraw()); // (a new width: drawn again)
    this.onTheme = () => this.redraw(); // the theme's colours, at the next redraw
    document.addEventListener("descent-theme", this.onTheme);
    this.render();
  }

  // The view is left: no more redraws, the element emptied.
  destroy() {
    this.pacer.cancel();
    document.removeEventListener("descent-theme", this.onTheme);
    this.chart.destroy();
    delete this.el.data;
    delete this.el.layout;
  }

  // The traces to draw, thinned into this chart's reused buffers, colours resolved (a CSS
  // variable such as "--ink" read in the current theme).
  data() {
    let slot = 0;
    const points = (x, y) => thin(x, y, MAX_POINTS, (this.buffers[slot++] ??= { x: [], y: [] }));
    const live = this.traces.map((t) => ({
      ...points(this.x, this.ys[t.key] || []), name: t.name, mode: "lines",
      line: { color: cssColor(t.color), width: t.width ?? 2, dash: t.dash ?? "solid" },
      yaxis: t.axis ?? "y", // "y2": a second scale on the right (the learning rate, perplexity)
    }));
    // after the live traces, in a fixed order: the fork, then the saved runs
    const fork = !this.fork ? [] : [["test_loss", "test", "solid"], ["train_loss", "train", "dot"]].map(([key, name, dash]) => ({
      ...points(this.fork.x, this.fork.ys[key] || []), name: `${this.fork.label} (${name})`, mode: "lines",
      line: { color: FORK_COLOR, width: 2, dash }, yaxis: "y",
    }));
    const saved = this.saved.map((run, i) => ({
      ...points(run.x, run.y), name: run.label, mode: "lines", line: { color: SAVED_COLORS[i % SAVED_COLORS.length], width: 1.5, dash: "dash" }, yaxis: "y",
    }));
    this.buffers.length = slot; // (buffers of traces no longer drawn go)
    return [...live, ...fork, ...saved];
  }

  // A frame's fork view ({label, history, diverged}), or null when the fork ended.
  applyFork(view) {
    if (!view) {
      if (this.fork) { this.fork = null; this.redraw(); }
      return;
    }
    const history = view.history;
    if (!this.fork || this.fork.label !== view.label) this.fork = { label: view.label, x: [], ys: {} };
    if (!history) return;
    if (history.reset) { this.fork.x = []; this.fork.ys = {}; }
    this.fork.x.push(...history.epoch);
    for (const [k, v] of Object.entries(history.series)) (this.fork.ys[k] ||= []).push(...v);
    this.redraw();
  }

  // Keep the live curve of ``key`` as a saved run, labelled; it stays when the run resets
  // (and, kept in the tab's sessionStorage under ``storeKey``, across a reload).
  save(key, label) {
    this.saved.push({ label, x: [...this.x], y: [...(this.ys[key] || [])] });
    this.store();
    this.redraw();
  }

  clearSaved() {
    this.saved = [];
    this.store();
    this.redraw();
  }

  keepSavedIn(storeKey) {
    this.storeKey = storeKey;
    try { this.saved = JSON.parse(sessionStorage.getItem(storeKey)) ?? []; } catch { this.saved = []; }
    this.redraw();
    return this.saved.length;
  }

  store() {
    if (!this.storeKey) return;
    try { sessionStorage.setItem(this.storeKey, JSON.stringify(this.saved)); } catch { /* storage off or full: kept on this page */ }
  }

  // The loss axis on a log scale (small losses late in training stay readable) or linear.
  setLogScale(on) {
    const { rangemode, type, ...rest } = this.layout.yaxis ?? {};
    this.layout.yaxis = on ? { ...rest, type: "log", exponentformat: "power" } : { ...rest, type: "linear", rangemode: "tozero" };
    this.el.dataset.scale = on ? "log" : "linear";
    this.redraw();
  }

  // Every change redraws through the pacer (a canvas redraw is cheap, but the pacer keeps the
  // charts' redraws in tasks of their own, out of the frames' way).
  redraw() {
    this.pacer.run(() => this.render());
  }

  render() {
    if (!this.el.isConnected) return; // the view was left before the pacer fired
    const layout = { ...this.layout, shapes: this.shapes(), annotations: this.annotations() };
    const extra = (this.fork ? 2 : 0) + this.saved.length;
    if (extra) {
      // with compared runs the legend gets long: it goes below the plot, one run per line
      layout.legend = { orientation: "v", x: 0, xanchor: "left", y: -0.42, yanchor: "top", font: { size: 11 } };
      const lines = this.traces.length + extra; // one legend entry per line, below the plot
      layout.height = (this.layout.height ?? 150) + 20 * lines;
      layout.margin = { ...this.layout.margin, b: 30 + 20 * lines };
    }
    const data = this.data();
    const drawn = themed(layout); // the theme's ink and grid colours; a projector's sizes
    this.el.style.height = extra ? `${drawn.height}px` : ""; // the box grows with the plot
    this.chart.draw(data, drawn);
    this.el.data = data;
    this.el.layout = layout;
  }

  setTraces(traces) {
    this.traces = traces;
    this.redraw();
  }

  // A history message {reset, epoch, series}: replaces (reset) or extends the curves.
  apply(history) {
    if (!history) return;
    if (history.reset) {
      this.x = [...history.epoch];
      this.ys = Object.fromEntries(Object.entries(history.series).map(([k, v]) => [k, [...v]]));
    } else if (history.epoch.length) {
      const n = this.x.length;
      this.x.push(...history.epoch);
      for (const [k, v] of Object.entries(history.series)) {
        const ys = (this.ys[k] ||= []);
        while (ys.length < n) ys.push(null); // a series that starts late lines up with the epochs
        ys.push(...v);
      }
    } else return;
    this.redraw();
  }

  // Loss spikes: a thin line at each, and a ⚡ whose hover text explains it.
  markSpikes(spikes) {
    if (spikes.length === this.spikes.length && spikes.at(-1)?.epoch === this.spikes.at(-1)?.epoch) return;
    this.spikes = spikes;
    this.redraw();
  }

  annotations() {
    return this.spikes.map((s) => ({ x: s.epoch, yref: "paper", y: 1, text: "⚡", showarrow: false, hovertext: s.text,
      font: { color: "#e66101", size: 12 } }));
  }

  // A vertical line marking where the run diverged (null clears it).
  markDivergence(epoch) {
    if (epoch === this.marker) return;
    this.marker = epoch;
    this.redraw();
  }

  shapes() {
    const spikes = this.spikes.map((s) => ({ type: "line", x0: s.epoch, x1: s.epoch, yref: "paper", y0: 0, y1: 1, line: { color: "#e66101", width: 1, dash: "dash" } }));
    if (this.marker == null) return spikes;
    return [...spikes, { type: "line", x0: this.marker, x1: this.marker, yref: "paper", y0: 0, y1: 1, line: { color: "#d62728", width: 2, dash: "dot" } }];
  }
}
