// The recurrent lab's per-frame charts: the BPTT view (||dL/dh_t|| along time, cuts marked),
// the gradient norm before/after clipping per step, and predictions vs targets.
import { CHART_BASE as BASE, Pacer, plot } from "../../view/index.js";

const OPTIONS = { displayModeBar: false, responsive: true };
const LAYER_COLORS = ["#1c7ed6", "#e8590c", "#2b8a3e"];
const TWIN_COLOR = "#7048e8"; // a second run (fork / compare), as on the loss chart
// a log axis with plain labels (Plotly picks decades on long ranges, 1-2-5 digits on short
// ones), a few of them: the charts are short, and crowded labels overlap
export const LOG_AXIS = { type: "log", tickformat: "~g", zeroline: false, nticks: 5 };

// LOG_AXIS for these values: over one to a few decades Plotly would label every digit
// (0.05, 0.06 ... 0.9, 1: the labels overlap on a short chart), so only 1, 2 and 5 there
export function logAxis(values) {
  const v = values.filter((x) => x > 0 && Number.isFinite(x));
  const span = v.length ? Math.log10(Math.max(...v) / Math.min(...v)) : 0;
  return span > 0.7 && span <= 2.5 ? { ...LOG_AXIS, dtick: "D2" } : LOG_AXIS;
}

class Paced {
  constructor(el) { this.el = el; this.pacer = new Pacer(200, el); }
  draw(data, layout) { this.pacer.run(() => this.el.isConnected && plot(this.el, data, layout, OPTIONS)); }
}

export class BpttChart extends Paced {
  // twin: a second run's view ({label, views: {bptt}}), drawn dashed beside this run's
  render(view, length, twin = null) {
    const positive = (n) => (n > 0 ? n : null); // a cut gradient is exactly 0: a gap on the log axis
    const traces = (norms, i, name, dash) => ({
      x: norms.map((_, t) => t), y: norms.map(positive), name, mode: "lines+markers",
      marker: { size: dash ? 3 : 4 }, line: { color: dash ? TWIN_COLOR : LAYER_COLORS[i % 3], width: 2, dash: dash ? "dash" : "solid" },
      connectgaps: false, hovertemplate: `${name}, t %{x}: %{y:.3g}<extra></extra>`,
    });
    const data = view.norms.map((norms, i) => traces(norms, i, twin ? `this run, layer ${i + 1}` : `layer ${i + 1}`, false));
    const other = twin ? twin.views.bptt.norms : [];
    other.forEach((norms, i) => data.push(traces(norms, i, `${twin.label.replace(/^(fork|compare): /, "")}, layer ${i + 1}`, true)));
    const shapes = view.cuts.map((t) => ({ type: "line", x0: t - 0.5, x1: t - 0.5, yref: "paper", y0: 0, y1: 1, line: { color: "#d62728", width: 1.5, dash: "dot" } }));
    const annotations = view.cuts.length ? [{ x: view.cuts[0] - 0.5, yref: "paper", y: 1, text: "cut (detach)", showarrow: false, font: { size: 10, color: "#d62728" }, xanchor: "left", yanchor: "top" }] : [];
    // (room on the left for small norms written out: 0.00045)
    this.draw(data, { ...BASE, margin: { ...BASE.margin, l: 58 }, height: twin ? 190 : 150, showlegend: data.length > 1, shapes, annotations,
      legend: { orientation: "h", x: 0, y: -0.35, yanchor: "top", font: { size: 10 } },
      xaxis: { title: { text: "time step t", font: { size: 10 } }, range: [-0.5, Math.max(1, length - 0.5)], zeroline: false },
      yaxis: logAxis([...view.norms.flat(), ...other.flat()]) });
  }
}

export class ClipChart extends Paced {
  render(view, maxNorm) {
    const data = [
      { x: view.step, y: view.before, name: "before", mode: "lines", line: { color: "#e8590c", width: 1.5 }, hovertemplate: "step %{x}: %{y:.3g}<extra>before</extra>" },
      { x: view.step, y: view.after, name: "after clipping", mode: "lines", line: { color: "#0877bd", width: 1.5, dash: "dot" }, hovertemplate: "step %{x}: %{y:.3g}<extra>after</extra>" },
    ];
    const shapes = maxNorm == null ? [] : [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: maxNorm, y1: maxNorm, line: { color: "#d62728", width: 1, dash: "dash" } }];
    const yaxis = logAxis([...view.before, ...view.after, ...(maxNorm == null ? [] : [maxNorm])]);
    this.draw(data, { ...BASE, shapes, xaxis: { title: { text: "step", font: { size: 10 } }, zeroline: false }, yaxis });
  }
}

export class PredictionChart extends Paced {
  render(p) {
    const steps = p.target.map((_, t) => t);
    const xaxis = { title: { text: "time step t", font: { size: 10 } }, range: [-0.5, steps.length - 0.5], zeroline: false };
    if (!p.confidence) { // regression: two curves
      this.draw([
        { x: steps, y: p.inputs, name: "input", mode: "markers", marker: { size: 4, color: "#adb5bd" }, hovertemplate: "t %{x}: %{y:.3f}<extra>input</extra>" },
        { x: steps, y: p.target, name: "target", mode: "lines", line: { color: "--ink", width: 2 }, hovertemplate: "t %{x}: %{y:.3f}<extra>target</extra>" },
        { x: steps, y: p.output, name: "prediction", mode: "lines", line: { color: "#e8590c", width: 2, dash: "dot" }, hovertemplate: "t %{x}: %{y:.3f}<extra>prediction</extra>" },
      ], { ...BASE, xaxis, yaxis: { zeroline: false } });
      return;
    }
    // classification: the probability given to the target at each scored step, green when the
    // most likely class is right; the text shows prediction / target
    const scored = steps.filter((t) => p.target[t] != null);
    const right = scored.map((t) => p.output[t] === p.target[t]);
    const label = (s) => (s === " " ? "␣" : s);
    this.draw([{
      type: "bar", x: scored, y: scored.map((t) => p.confidence[t]), name: "p(target)",
      marker: { color: right.map((r) => (r ? "#2b8a3e" : "#d62728")) },
      text: scored.length <= 24 ? scored.map((t) => `${label(p.output[t])}`) : undefined, textposition: "outside", cliponaxis: false,
      customdata: scored.map((t) => [label(p.output[t]), label(p.target[t])]),
      hovertemplate: "t %{x}: p(target) %{y:.2f}, predicted %{customdata[0]}, target %{customdata[1]}<extra></extra>",
    }], { ...BASE, showlegend: false, xaxis, yaxis: { range: [0, 1.28], tickvals: [0, 0.5, 1], tickformat: ".0%", zeroline: false } });
  }
}
