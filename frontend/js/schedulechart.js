// The planned LR: the whole schedule ahead of time (the server's ScheduleCurve, computed
// with the training code: {horizon, steps, lr, steps_per_epoch}), one chart for every lab.
//   setCurve(curve)      when the schedule changes (drawn at once)
//   setStep(step, lr)    on each frame: a marker at the current step (the curve runs on
//                        flat past the horizon, as the LR does)
//   apply(history)       with `used: true`: the LR each epoch used (history series "lr"),
//                        drawn over the plan (then dotted)
// Options: `epochs` puts the x axis in epochs (steps / steps_per_epoch), `layout` adds to
// the plotly layout.

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
const LINE = { color: "#0877bd", width: 2 };

export class ScheduleChart {
  constructor(el, { layout = {}, epochs = false, used = false } = {}) {
    this.el = el;
    this.layout = { ...LAYOUT, ...layout };
    this.epochs = epochs;
    this.used = used ? { x: [], y: [] } : null;
    this.curve = null;
    this.step = null;
    this.drawnTo = 0; // last step the curve is drawn to (it holds flat past the horizon)
    this.pacer = new Pacer(200, el);
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

  // a step on the x axis
  x(step) {
    return this.epochs && this.curve ? step / this.curve.steps_per_epoch : step;
  }

  traces() {
    const c = this.curve || { steps: [], lr: [] };
    const x = c.steps.map((s) => this.x(s));
    const y = [...c.lr];
    if (this.drawnTo > (c.steps.at(-1) ?? 0)) { x.push(this.x(this.drawnTo)); y.push(y.at(-1)); }
    if (!this.used) {
      return [{ x, y, mode: "lines", line: LINE, hovertemplate: "step %{x}<br>lr %{y:.3g}<extra></extra>" }];
    }
    return [
      { x, y, name: "planned", mode: "lines", line: { color: "--muted", width: 1.5, dash: "dot" }, hovertemplate: "planned %{y:.3g}<extra>epoch %{x:.1f}</extra>" },
      { x: [...this.used.x], y: [...this.used.y], name: "used", mode: "lines", line: LINE, hovertemplate: "used %{y:.3g}<extra>epoch %{x}</extra>" },
    ];
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
      this.redraw();
    }
    this.place();
  }

  apply(history) {
    if (!this.used || !history) return;
    const lr = history.series.lr || [];
    if (history.reset) {
      this.used = { x: [...history.epoch], y: [...lr] };
    } else if (history.epoch.length) {
      this.used.x.push(...history.epoch);
      this.used.y.push(...lr);
    } else return;
    this.redraw();
  }

  redraw() {
    this.pacer.run(() => this.el.isConnected && plot(this.el, this.traces(), this.layout));
  }

  place() {
    const xa = this.el._fullLayout?.xaxis;
    const ya = this.el._fullLayout?.yaxis;
    if (!xa || !ya || this.step == null) return;
    if (!Number.isFinite(this.lr)) { this.marker.hidden = true; return; } // no point to mark
    const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));
    const x = clamp(xa._offset + xa.l2p(this.x(this.step)), xa._offset, xa._offset + xa._length);
    const bottom = ya._offset + ya._length;
    const y = clamp(ya._offset + ya.l2p(this.lr), ya._offset, bottom);
    Object.assign(this.marker.style, { left: `${x}px`, top: `${y}px`, height: `${bottom - y}px` });
    this.marker.title = `now: step ${this.step}, lr ${this.lr.toPrecision(3)}`;
    this.marker.hidden = false;
    this.el.dataset.step = this.step;
  }
}
