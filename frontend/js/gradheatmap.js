// A layer x step heatmap of per-layer gradient norms (log10), from a trace the server
// encodes as base64 uint8 (see stats.Trace): byte 0 = no gradient, 255 = not finite,
// 1..255 linear over range = [lo, hi] in log10.

import { Pacer } from "./pace.js";
import { plot } from "./theme.js";

export function decodeTrace(trace) {
  const bytes = Uint8Array.from(atob(trace.data), (ch) => ch.charCodeAt(0));
  const n = trace.steps.length;
  const [lo, hi] = trace.range;
  const z = [];
  for (let layer = 0; layer < trace.layers; layer++) {
    const row = new Array(n);
    for (let j = 0; j < n; j++) {
      const b = bytes[layer * n + j];
      row[j] = b === 0 ? null : lo + ((b - 1) / 254) * (hi - lo);
    }
    z.push(row);
  }
  return z;
}

const LAYOUT = {
  margin: { l: 52, r: 8, t: 4, b: 36 },
  height: 156,
  xaxis: { title: { text: "step", font: { size: 11 }, standoff: 4 } },
  yaxis: { autorange: "reversed", tickfont: { size: 11 } },
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "rgba(0,0,0,0)",
  font: { family: "inherit", size: 12 },
};

export class GradHeatmap {
  // interval: ms between redraws (a heatmap react is heavier than a line update)
  constructor(el, { interval = 500 } = {}) {
    this.el = el;
    this.pacer = new Pacer(interval, el);
    plot(el, [], LAYOUT, { displayModeBar: false, responsive: true });
  }

  update(trace, layerNames) {
    this.pacer.run(() => this.draw(trace, layerNames));
  }

  draw(trace, layerNames) {
    if (!this.el.isConnected) return;
    this.el.dataset.columns = trace.steps.length;
    this.el.dataset.lastStep = trace.steps.at(-1) ?? "";
    const data = [{
      type: "heatmap",
      z: decodeTrace(trace),
      x: trace.steps,
      y: layerNames,
      zmin: trace.range[0],
      zmax: trace.range[1],
      colorscale: "Viridis",
      colorbar: { title: { text: "log₁₀‖g‖", side: "right", font: { size: 11 } }, thickness: 10, len: 1 },
      hovertemplate: "%{y}, step %{x}<br>log₁₀‖g‖ = %{z:.2f}<extra></extra>",
    }];
    plot(this.el, data, LAYOUT);
  }
}
