// The gradient panel under the network: per-layer gradient norms and update ratios, the
// layer x step heatmap, a chosen layer's weight and gradient histograms, the optimizer's state.
import { GradHeatmap } from "../../gradheatmap.js";
import { drawHistogram } from "../../histogram.js";
import { Pacer } from "../../pace.js";
import { renderGradNorms, renderOptimizerState } from "./bars.js";

export class Inspector {
  constructor(ref) {
    this.ref = ref;
    this.heatmap = new GradHeatmap(ref.heatmap);
    this.histLayer = 0;
    this.histPacer = new Pacer(200, ref.histWeights);
    this.lastHistograms = null;
    ref.histLayer.addEventListener("change", () => { this.histLayer = Number(ref.histLayer.value); this.drawHistograms(); });
  }

  drawHistograms() {
    const h = this.lastHistograms?.[this.histLayer];
    if (!h) return;
    drawHistogram(this.ref.histWeights, h.weights, "#0877bd", "weights");
    drawHistogram(this.ref.histGrads, h.grads, "#f59322", "gradients");
  }

  // The histogram's layer list follows the network's depth.
  config(config) {
    const ref = this.ref;
    const layerCount = config.hidden.length + 1;
    if (ref.histLayer.options.length !== layerCount) {
      ref.histLayer.replaceChildren(...Array.from({ length: layerCount }, (_, i) => new Option(`layer ${i + 1}`, i)));
      this.histLayer = Math.min(this.histLayer, layerCount - 1);
      ref.histLayer.value = this.histLayer;
    }
  }

  frame(v) {
    const ref = this.ref;
    renderGradNorms(ref.gradNorms, v.layers, v.grad_norms);
    renderGradNorms(ref.ratios, v.layers, v.update_ratio.length ? v.update_ratio : v.layers.map(() => 0));
    this.heatmap.update(v.grad_trace, v.layers);
    if (v.histograms !== this.lastHistograms) { // (a light frame kept the last: drawn already)
      this.lastHistograms = v.histograms;
      this.histPacer.run(() => this.drawHistograms()); // small print that changes little frame to frame
    }
    renderOptimizerState(ref.optState, v.layers, v.optimizer_state);
  }
}
