// The network diagram's hover and edit: a value card over a link or a bias (click it to
// type a new value into the live model), and a hovered neuron's map shown in the main heatmap.
import { CLASS_LUTS } from "../../colors.js";
import { nonFinite } from "../../view/index.js";

const fmtValue = (v) => (!Number.isFinite(v) ? nonFinite(v) : Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 0.001) ? v.toExponential(2) : v.toFixed(3));

// The base of NetworkView: these read its fields (views, config, card, decoded maps, hooks).
export class NetworkInteraction {
  valueOf(target, kind) {
    const v = this.views;
    if (!v) return undefined;
    return kind === "bias" ? v.biases[target.layer]?.[target.to] : v.weights[target.layer]?.[target.to]?.[target.from];
  }

  describe(target, kind) {
    const layers = this.config.hidden.length;
    const output = (i) => (this.multiclass ? `output ${i} (class ${i})` : "the output");
    const neuron = (layer, i) => (layer >= layers ? output(i) : `neuron ${i + 1} of layer ${layer + 1}`);
    if (kind === "bias") return `bias of ${neuron(target.layer, target.to)}`;
    const from = target.layer === 0
      ? (this.featureLabels.find(([n]) => n === this.config.features[target.from])?.[1] ?? "input")
      : `neuron ${target.from + 1} of layer ${target.layer}`;
    return `weight ${from} → ${neuron(target.layer, target.to)}`;
  }

  showCard(target, kind) {
    if (this.editing) return;
    this.cardTarget = target; this.cardKind = kind;
    this.fillCard();
    this.placeCard(target);
    this.card.hidden = false;
  }

  fillCard() {
    const { card, cardTarget: t, cardKind: kind } = this;
    card.dataset.kind = kind;
    card.dataset.layer = t.layer; card.dataset.to = t.to; card.dataset.from = kind === "bias" ? "" : t.from;
    const value = this.valueOf(t, kind);
    card.innerHTML = `<div class="value-what"></div><div class="value-number num"></div><div class="hint">click to edit</div>`;
    card.firstChild.textContent = this.describe(t, kind);
    card.children[1].textContent = value === undefined ? "—" : fmtValue(value);
    card.dataset.value = value ?? "";
  }

  placeCard(target) {
    const box = this.root.getBoundingClientRect();
    const r = target.el.getBoundingClientRect();
    const left = Math.min(box.width - 190, Math.max(0, r.left + r.width / 2 - box.left + 8));
    this.card.style.left = `${left}px`;
    this.card.style.top = `${r.top + r.height / 2 - box.top + 10}px`;
  }

  hideCard() {
    if (this.editing) return;
    this.card.hidden = true;
    this.cardTarget = null;
  }

  // Click: the card turns into a number field; Enter applies it to the live model.
  editCard(target, kind) {
    this.editing = false;
    this.showCard(target, kind);
    this.editing = true;
    const value = this.valueOf(target, kind);
    const input = document.createElement("input");
    input.type = "text";
    input.className = "value-input";
    input.value = value == null ? "" : String(value);
    input.setAttribute("aria-label", this.describe(target, kind));
    this.card.children[2].textContent = "Enter to apply · Esc to cancel";
    this.card.children[1].replaceChildren(input);
    // only this edit's own close counts (a late blur of an earlier field must not end a new edit)
    const edit = {};
    this.edit = edit;
    const close = () => { if (this.edit !== edit) return; this.edit = null; this.editing = false; this.hideCard(); };
    input.addEventListener("keydown", (e) => {
      if (e.key === "Escape") close();
      if (e.key !== "Enter") return;
      const text = input.value.trim();
      const number = Number(text);
      // sent as typed when it is not a number, so the server's message names the field
      this.hooks.onEdit?.({ layer: target.layer, kind, to: target.to, ...(kind === "weight" ? { from: target.from } : {}),
                            value: text !== "" && Number.isFinite(number) ? number : text });
      close();
    });
    input.addEventListener("blur", () => setTimeout(close, 150));
    input.focus();
    input.select();
  }

  // A multiclass output: its softmax probability over the plane, in its class colour.
  hoverOutput(j) {
    this.hovered = ["output", j];
    if (!this.hooks.onHoverNeuron || !this.decodedOutputs) return;
    const n = this.views.neurons.resolution;
    this.hooks.onHoverNeuron({
      resolution: n, extent: this.views.neurons.extent, lut: CLASS_LUTS[j], note: "probability 0 to 1",
      bytes: this.decodedOutputs.subarray(j * n * n, (j + 1) * n * n), label: `output ${j}, p(class ${j})`,
    });
  }

  hoverNeuron(layer, i) {
    if (layer === "output") { this.hoverOutput(i); return; }
    this.hovered = layer == null ? null : [layer, i];
    if (!this.hooks.onHoverNeuron) return;
    if (layer == null || !this.decoded?.[layer]) { this.hooks.onHoverNeuron(null); return; }
    const n = this.views.neurons.resolution;
    this.hooks.onHoverNeuron({
      resolution: n, extent: this.views.neurons.extent, scale: this.views.neurons.layers[layer].scale,
      bytes: this.decoded[layer].subarray(i * n * n, (i + 1) * n * n), label: `neuron ${i + 1} of layer ${layer + 1}`,
    });
  }
}
