// The attention lab's own charts: the LR, planned and actual (its metric curves are the
// shared LossChart, with BASE as their layout), and a colour per head.

import { Pacer } from "../../pace.js";

export const BASE = {
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

// The planned LR (whole horizon, dotted) and the LR actually used (per epoch).
export class LrChart {
  constructor(el) {
    this.el = el;
    this.layout = { ...BASE, yaxis: { rangemode: "tozero", zeroline: false, exponentformat: "e" } };
    this.planned = { x: [], y: [] };
    this.x = [];
    this.y = [];
    this.pacer = new Pacer();
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
    this.redraw();
  }

  redraw() {
    this.pacer.run(() => this.el.isConnected && Plotly.react(this.el, this.data(), this.layout));
  }

  apply(history) {
    if (!history) return;
    const lr = history.series.lr || [];
    if (history.reset) {
      this.x = [...history.epoch];
      this.y = [...lr];
    } else if (history.epoch.length) {
      this.x.push(...history.epoch);
      this.y.push(...lr);
    } else return;
    this.redraw();
  }
}

// One colour per head: a hue per layer, lighter for later heads.
export function headColor(layer, head, heads) {
  const hues = [205, 25, 140, 285];
  const light = 30 + (40 * head) / Math.max(1, heads);
  return `hsl(${hues[layer % hues.length]}, 65%, ${light}%)`;
}
