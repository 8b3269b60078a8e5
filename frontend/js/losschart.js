// Metric curves against epochs, streamed live and redrawn at a steady pace; used by every lab.
// traces: [{ name, key (the history series), color, dash?, width?, axis? ("y2" = right-hand scale) }]
// The chart keeps the series it has drawn, so its set of traces can change (setTraces).

import { Pacer } from "./pace.js";
import { plot } from "./theme.js";

// The legend sits in the top margin, above the plot area: never over the curves.
export const LEGEND_ABOVE = { orientation: "h", x: 1, xanchor: "right", y: 1, yanchor: "bottom", font: { size: 12 } };
const LAYOUT = {
  margin: { l: 44, r: 8, t: 24, b: 30 },
  height: 160,
  showlegend: true,
  legend: LEGEND_ABOVE,
  xaxis: { title: { text: "epoch", font: { size: 11 } }, zeroline: false },
  yaxis: { rangemode: "tozero", zeroline: false },
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "rgba(0,0,0,0)",
  font: { family: "inherit", size: 12 },
};

// A long curve drawn with about MAX_POINTS points: a few hundred pixels of chart cannot show
// more, and drawing 10 000 would cost the page its frame rate.
const MAX_POINTS = 600;

// Per bucket of consecutive epochs, its first point and its highest (so a spike stays).
export function thin(x, y, max = MAX_POINTS) {
  const n = x.length;
  if (n <= max) return { x: [...x], y: Array.from({ length: n }, (_, i) => y[i] ?? null) };
  const size = Math.ceil((2 * n) / max);
  const xs = [];
  const ys = [];
  for (let start = 0; start < n; start += size) {
    const end = Math.min(n, start + size);
    let top = start;
    for (let j = start; j < end; j++) if (y[j] != null && (y[top] == null || y[j] > y[top])) top = j;
    for (const j of top === start ? [start] : [start, top]) { xs.push(x[j]); ys.push(y[j] ?? null); }
  }
  return { x: xs, y: ys };
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
    this.pacer = new Pacer(200, el);
    plot(el, this.data(), this.layout, { displayModeBar: false, responsive: true });
  }

  data() {
    const live = this.traces.map((t) => ({
      ...thin(this.x, this.ys[t.key] || []), name: t.name, mode: "lines",
      line: { color: t.color, width: t.width ?? 2, dash: t.dash ?? "solid" },
      yaxis: t.axis ?? "y", // "y2": a second scale on the right (the learning rate, perplexity)
      hovertemplate: `${t.name} %{y:.4g}<extra>epoch %{x}</extra>`,
    }));
    // after the live traces, in a fixed order: the fork, then the saved runs
    const saved = this.saved.map((run, i) => ({
      ...thin(run.x, run.y), name: run.label, mode: "lines", line: { color: SAVED_COLORS[i % SAVED_COLORS.length], width: 1.5, dash: "dash" },
      hovertemplate: `${run.label} %{y:.4g}<extra>epoch %{x}</extra>`,
    }));
    const fork = !this.fork ? [] : [["test_loss", "test", "solid"], ["train_loss", "train", "dot"]].map(([key, name, dash]) => ({
      ...thin(this.fork.x, this.fork.ys[key] || []), name: `${this.fork.label} (${name})`, mode: "lines",
      line: { color: FORK_COLOR, width: 2, dash }, hovertemplate: `${this.fork.label} ${name} %{y:.4g}<extra>epoch %{x}</extra>`,
    }));
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

  // Every change redraws through the pacer: at most a few plotly renders a second.
  redraw() {
    this.pacer.run(() => this.render());
  }

  render() {
    if (!this.el.isConnected) return; // the view was left before the pacer fired
    const layout = { ...this.layout, shapes: this.shapes(), annotations: this.annotations() };
    const extra = (this.fork ? 2 : 0) + this.saved.length;
    if (extra) {
      // with compared runs the legend gets long: it goes below the plot, one run per line
      layout.legend = { orientation: "v", x: 0, xanchor: "left", y: -0.42, yanchor: "top", font: { size: 11 } }; // (a wide chart would pack "h" entries under the axis title)
      const lines = this.traces.length + extra; // one legend entry per line, below the plot
      layout.height = (this.layout.height ?? 150) + 20 * lines;
      layout.margin = { ...this.layout.margin, b: 30 + 20 * lines };
    }
    this.el.style.height = extra ? `${layout.height}px` : ""; // the box grows with the plot
    plot(this.el, this.data(), layout);
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
