// Train and test loss against epochs, streamed with Plotly.extendTraces.

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
  constructor(el) {
    this.el = el;
    this.traces = [
      { name: "test", key: "test_loss", line: { color: "#111", width: 2 } },
      { name: "train", key: "train_loss", line: { color: "#9aa3ad", width: 2 } },
    ];
    this.marker = null;
    Plotly.newPlot(el, this.empty(), { ...LAYOUT }, { displayModeBar: false, responsive: true });
  }

  empty() {
    return this.traces.map((t) => ({ x: [], y: [], name: t.name, mode: "lines", line: t.line, hovertemplate: `${t.name} %{y:.4f}<extra>epoch %{x}</extra>` }));
  }

  apply(history) {
    if (!history) return;
    const ys = this.traces.map((t) => history.series[t.key] || []);
    if (history.reset) {
      const data = this.empty();
      data.forEach((d, i) => { d.x = history.epoch; d.y = ys[i]; });
      Plotly.react(this.el, data, { ...LAYOUT, shapes: this.shapes() });
    } else if (history.epoch.length) {
      Plotly.extendTraces(this.el, { x: ys.map(() => history.epoch), y: ys }, [0, 1]);
    }
  }

  // A vertical line marking where the run diverged (or null to clear it).
  markDivergence(epoch) {
    this.marker = epoch;
    Plotly.relayout(this.el, { shapes: this.shapes() });
  }

  shapes() {
    if (this.marker == null) return [];
    return [{ type: "line", x0: this.marker, x1: this.marker, yref: "paper", y0: 0, y1: 1, line: { color: "#d62728", width: 2, dash: "dot" } }];
  }
}
