// The attention lab's curves: history series against epochs (a trace may use the right-hand
// axis, and the set of traces may change with the network), and the LR, planned and actual.

const BASE = {
  margin: { l: 44, r: 44, t: 6, b: 28 },
  height: 130,
  showlegend: true,
  legend: { orientation: "h", x: 1, xanchor: "right", y: 1.2, font: { size: 11 } },
  xaxis: { title: { text: "epoch", font: { size: 10 } }, zeroline: false },
  yaxis: { rangemode: "tozero", zeroline: false },
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "rgba(0,0,0,0)",
  font: { family: "inherit", size: 11 },
};
const OPTIONS = { displayModeBar: false, responsive: true };

// traces: [{ name, key (history series), color, dash?, yaxis? ("y2") }]
export class Curves {
  constructor(el, traces, layout = {}) {
    this.el = el;
    this.layout = { ...BASE, ...layout };
    this.traces = traces;
    this.x = [];
    this.ys = {};
    Plotly.newPlot(el, this.data(), this.layout, OPTIONS);
  }

  data() {
    return this.traces.map((t) => ({
      x: [...this.x], y: [...(this.ys[t.key] || [])], name: t.name, mode: "lines", yaxis: t.yaxis || "y",
      line: { color: t.color, width: t.width || 2, dash: t.dash || "solid" },
      hovertemplate: `${t.name} %{y:.4g}<extra>epoch %{x}</extra>`,
    }));
  }

  setTraces(traces) {
    this.traces = traces;
    Plotly.react(this.el, this.data(), this.layout);
  }

  // A history message: {reset, epoch, series}. Appends (or replaces on reset).
  apply(history) {
    if (!history) return;
    if (history.reset) {
      this.x = [...history.epoch];
      this.ys = Object.fromEntries(Object.entries(history.series).map(([k, v]) => [k, [...v]]));
      Plotly.react(this.el, this.data(), this.layout);
      return;
    }
    if (!history.epoch.length) return;
    this.x.push(...history.epoch);
    for (const [k, v] of Object.entries(history.series)) (this.ys[k] ||= []).push(...v);
    const ys = this.traces.map((t) => history.series[t.key] || history.epoch.map(() => null));
    Plotly.extendTraces(this.el, { x: ys.map(() => history.epoch), y: ys }, ys.map((_, i) => i));
  }
}

// The planned LR (whole horizon, dotted) and the LR actually used (per epoch).
export class LrChart {
  constructor(el) {
    this.el = el;
    this.layout = { ...BASE, yaxis: { rangemode: "tozero", zeroline: false, exponentformat: "e" } };
    this.planned = { x: [], y: [] };
    this.x = [];
    this.y = [];
    Plotly.newPlot(el, this.data(), this.layout, OPTIONS);
  }

  data() {
    return [
      { x: this.planned.x, y: this.planned.y, name: "planned", mode: "lines", line: { color: "#9aa3ad", width: 1.5, dash: "dot" }, hovertemplate: "planned %{y:.3g}<extra>epoch %{x:.1f}</extra>" },
      { x: [...this.x], y: [...this.y], name: "used", mode: "lines", line: { color: "#0877bd", width: 2 }, hovertemplate: "used %{y:.3g}<extra>epoch %{x}</extra>" },
    ];
  }

  plan(curve) {
    this.planned = { x: curve.step.map((s) => s / curve.steps_per_epoch), y: curve.lr };
    Plotly.react(this.el, this.data(), this.layout);
  }

  apply(history) {
    if (!history) return;
    const lr = history.series.lr || [];
    if (history.reset) {
      this.x = [...history.epoch];
      this.y = [...lr];
      Plotly.react(this.el, this.data(), this.layout);
    } else if (history.epoch.length) {
      this.x.push(...history.epoch);
      this.y.push(...lr);
      Plotly.extendTraces(this.el, { x: [history.epoch], y: [lr] }, [1]);
    }
  }
}

// One colour per head: a hue per layer, lighter for later heads.
export function headColor(layer, head, heads) {
  const hues = [205, 25, 140, 285];
  const light = 30 + (40 * head) / Math.max(1, heads);
  return `hsl(${hues[layer % hues.length]}, 65%, ${light}%)`;
}
