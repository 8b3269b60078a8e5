// The whole LR schedule ahead of time (computed by the server with the training code),
// with a marker at the current step. Any lab can use it: setCurve({horizon, steps, lr})
// when the schedule changes, setStep(step, lr) on each frame.

const LAYOUT = {
  margin: { l: 52, r: 8, t: 6, b: 36 },
  height: 136,
  showlegend: false,
  xaxis: { title: { text: "step", font: { size: 11 }, standoff: 4 }, zeroline: false },
  yaxis: { rangemode: "tozero", zeroline: false, exponentformat: "power" },
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "rgba(0,0,0,0)",
  font: { family: "inherit", size: 12 },
};

export class ScheduleChart {
  constructor(el, layout = {}) {
    this.el = el;
    this.layout = { ...LAYOUT, ...layout };
    this.curve = null;
    this.step = null;
    this.drawnTo = 0; // last step the curve is drawn to (it holds flat past the horizon)
    Plotly.newPlot(el, this.traces(), this.layout, { displayModeBar: false, responsive: true });
  }

  traces() {
    const c = this.curve || { steps: [], lr: [] };
    const x = [...c.steps];
    const y = [...c.lr];
    if (this.drawnTo > (x.at(-1) ?? 0)) { x.push(this.drawnTo); y.push(y.at(-1)); }
    const step = this.step ?? 0;
    const lr = this.lr ?? y[0] ?? 0;
    return [
      { x, y, mode: "lines", line: { color: "#0877bd", width: 2 }, hovertemplate: "step %{x}<br>lr %{y:.3g}<extra></extra>" },
      // the current step: a dotted drop line and a dot at the live LR
      { x: [step, step], y: [0, lr], mode: "lines+markers", line: { color: "#d62728", width: 1, dash: "dot" },
        marker: { size: [0, 9], color: "#d62728" }, hovertemplate: "now: step %{x}<br>lr %{y:.3g}<extra></extra>" },
    ];
  }

  setCurve(curve) {
    this.curve = curve;
    this.drawnTo = Math.max(curve.horizon - 1, this.step ?? 0);
    this.el.dataset.horizon = curve.horizon;
    Plotly.react(this.el, this.traces(), this.layout);
  }

  setStep(step, lr) {
    if (step === this.step && lr === this.lr) return;
    this.step = step;
    this.lr = lr;
    if (this.curve && step > this.drawnTo * 1.05) {
      // past the horizon the LR holds: extend the flat part ahead of the marker
      this.drawnTo = Math.ceil(step * 1.25);
      Plotly.react(this.el, this.traces(), this.layout);
      return;
    }
    Plotly.restyle(this.el, { x: [[step, step]], y: [[0, lr]] }, [1]);
  }
}
