// The whole LR schedule ahead of time (computed by the server with the training code),
// with a marker at the current step. Any lab can use it: setCurve({horizon, steps, lr})
// when the schedule changes (drawn at once), setStep(step, lr) on each frame.

import { Pacer } from "./pace.js";
import { plot } from "./theme.js";

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
    this.pacer = new Pacer();
    plot(el, this.traces(), this.layout, { displayModeBar: false, responsive: true });
    // The current step: a dotted drop line and a dot at the live LR, laid over the plot and
    // placed with the plot's own axes, so it follows every frame without a plotly redraw.
    this.marker = document.createElement("div");
    this.marker.className = "lr-marker";
    this.marker.hidden = true;
    this.marker.innerHTML = `<span class="lr-marker-dot"></span>`;
    el.append(this.marker);
    el.on("plotly_afterplot", () => this.place());
  }

  traces() {
    const c = this.curve || { steps: [], lr: [] };
    const x = [...c.steps];
    const y = [...c.lr];
    if (this.drawnTo > (x.at(-1) ?? 0)) { x.push(this.drawnTo); y.push(y.at(-1)); }
    return [{ x, y, mode: "lines", line: { color: "#0877bd", width: 2 }, hovertemplate: "step %{x}<br>lr %{y:.3g}<extra></extra>" }];
  }

  setCurve(curve) {
    this.curve = curve;
    this.drawnTo = Math.max(curve.horizon - 1, this.step ?? 0);
    this.el.dataset.horizon = curve.horizon;
    this.pacer.cancel(); // the redraw below places the marker too
    plot(this.el, this.traces(), this.layout);
  }

  setStep(step, lr) {
    if (step === this.step && lr === this.lr) return;
    this.step = step;
    this.lr = lr;
    if (this.curve && step > this.drawnTo * 1.05) {
      // past the horizon the LR holds: extend the flat part ahead of the marker (paced)
      this.drawnTo = Math.ceil(step * 1.25);
      this.pacer.run(() => this.el.isConnected && plot(this.el, this.traces(), this.layout));
    }
    this.place();
  }

  place() {
    const xa = this.el._fullLayout?.xaxis;
    const ya = this.el._fullLayout?.yaxis;
    if (!xa || !ya || this.step == null) return;
    if (!Number.isFinite(this.lr)) { this.marker.hidden = true; return; } // no point to mark
    const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));
    const x = clamp(xa._offset + xa.l2p(this.step), xa._offset, xa._offset + xa._length);
    const bottom = ya._offset + ya._length;
    const y = clamp(ya._offset + ya.l2p(this.lr), ya._offset, bottom);
    Object.assign(this.marker.style, { left: `${x}px`, top: `${y}px`, height: `${bottom - y}px` });
    this.marker.title = `now: step ${this.step}, lr ${this.lr.toPrecision(3)}`;
    this.marker.hidden = false;
    this.el.dataset.step = this.step;
  }
}
