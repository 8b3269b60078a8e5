// Metric curves against epochs (or steps), streamed with Plotly.extendTraces.
// traces: [{ name, key (the history series), color, dash?, width?, axis? ("y2" = right-hand scale) }]

const LAYOUT = {
  margin: { l: 44, r: 8, t: 6, b: 30 },
  height: 150,
  showlegend: true,
  legend: { orientation: "h", x: 1, xanchor: "right", y: 1.15, font: { size: 12 } },
  xaxis: { title: { text: "epoch", font: { size: 11 } }, zeroline: false },
  yaxis: { rangemode: "tozero", zeroline: false },
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "rgba(0,0,0,0)",
  font: { family: "inherit", size: 12 },
};

export class LossChart {
  constructor(el, traces, layout = {}) {
    this.el = el;
    this.traces = traces;
    this.layout = { ...LAYOUT, ...layout };
    this.marker = null;
    Plotly.newPlot(el, this.empty(), this.layout, { displayModeBar: false, responsive: true });
  }

  empty() {
    return this.traces.map((t) => ({
      x: [], y: [], name: t.name, mode: "lines", line: { color: t.color, width: t.width ?? 2, dash: t.dash ?? "solid" },
      yaxis: t.axis ?? "y", // "y2": a second scale on the right (e.g. the learning rate)
      hovertemplate: `${t.name} %{y:.4f}<extra>%{x}</extra>`,
    }));
  }

  apply(history) {
    if (!history) return;
    const ys = this.traces.map((t) => history.series[t.key] || []);
    if (history.reset) {
      const data = this.empty();
      data.forEach((d, i) => { d.x = history.epoch; d.y = ys[i]; });
      Plotly.react(this.el, data, { ...this.layout, shapes: this.shapes() });
    } else if (history.epoch.length) {
      Plotly.extendTraces(this.el, { x: ys.map(() => history.epoch), y: ys }, ys.map((_, i) => i));
    }
  }

  // A vertical line marking where the run diverged (null clears it).
  markDivergence(epoch) {
    if (epoch === this.marker) return;
    this.marker = epoch;
    Plotly.relayout(this.el, { shapes: this.shapes() });
  }

  shapes() {
    if (this.marker == null) return [];
    return [{ type: "line", x0: this.marker, x1: this.marker, yref: "paper", y0: 0, y1: 1, line: { color: "#d62728", width: 2, dash: "dot" } }];
  }
}
