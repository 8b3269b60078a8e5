// The attention lab's own charts: the LR, planned and actual (its metric curves are the
// shared LossChart, with BASE as their layout), and a colour per head.

import { Pacer } from "../../pace.js";
import { plot } from "../../theme.js";
import { LEGEND_ABOVE } from "../../losschart.js";

export const BASE = {
  margin: { l: 44, r: 44, t: 24, b: 28 },
  height: 140,
  showlegend: true,
  legend: { ...LEGEND_ABOVE, font: { size: 11 } },
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
    plot(el, this.data(), this.layout, OPTIONS);
  }

  data() {
    return [
      { x: this.planned.x, y: this.planned.y, name: "planned", mode: "lines", line: { color: "--muted", width: 1.5, dash: "dot" }, hovertemplate: "planned %{y:.3g}<extra>epoch %{x:.1f}</extra>" },
      { x: [...this.x], y: [...this.y], name: "used", mode: "lines", line: { color: "#0877bd", width: 2 }, hovertemplate: "used %{y:.3g}<extra>epoch %{x}</extra>" },
    ];
  }

  plan(curve) {
    this.planned = { x: curve.step.map((s) => s / curve.steps_per_epoch), y: curve.lr };
    this.redraw();
  }

  redraw() {
    this.pacer.run(() => this.el.isConnected && plot(this.el, this.data(), this.layout));
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

// Each head's curve: a colour per head, a dash per layer. The colours keep a contrast of 3:1
// or more on the light and the dark panel alike.
const HEAD_COLORS = ["#1c7ed6", "#e8590c", "#2b8a3e", "#ae3ec9", "#d6336c", "#0e7490", "#d97706", "#c92a2a"];
const LAYER_DASHES = ["solid", "dot", "dash", "dashdot", "longdash", "longdashdot"];
export const headStyle = (layer, head) => ({ color: HEAD_COLORS[head % HEAD_COLORS.length], dash: LAYER_DASHES[layer % LAYER_DASHES.length] });
