// The network's shape: input features (click to toggle), hidden layers with +/- neurons,
// and the output, joined by links. Edits become config patches.
// Inside it (frames): each input and hidden neuron as a small map of its output over the
// plane, links coloured by weight sign (blue +, orange -) and as thick as |weight|, a bias
// square on each neuron; hovering shows values, clicking a link or bias edits it.
// Multiclass: one output node per class (edged in its colour), each showing its softmax probability.
import { CLASS_LUTS, LUT, classColor, decodeBase64, paintCells } from "../../colors.js";
import { nonFinite } from "../../finite.js";
import { state } from "../../view/index.js";

const SVG = "http://www.w3.org/2000/svg";
const NODE_FULL = 40;
const ROW_FULL = 52;

const fmtValue = (v) => (!Number.isFinite(v) ? nonFinite(v) : Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 0.001) ? v.toExponential(2) : v.toFixed(3));
const linkWidth = (w) => (!Number.isFinite(w) ? 1 : 0.6 + Math.min(Math.abs(w), 4) * 1.35);
const linkColor = (w) => (!Number.isFinite(w) ? "#c62828" : w >= 0 ? "#0877bd" : "#f59322");

// One map (bytes at offset, n x n) into a canvas of n x n pixels (CSS scales it up).
export function paintMap(canvas, bytes, offset, n, lut = LUT) {
  paintCells(canvas, n, (i) => lut[bytes[offset + i]]);
}

export class NetworkView {
  // hooks: { onHoverNeuron(map | null), onEdit({layer, kind, to, from, value}) }
  constructor(root, featureLabels, maxLayers, maxWidth, onChange, hooks = {}) {
    this.root = root;
    this.hooks = hooks;
    this.views = null; // the last frame's views (weights, biases, neuron maps)
    this.featureMaps = null;
    this.featureLabels = featureLabels; // [[name, label], ...]
    this.maxLayers = maxLayers;
    this.maxWidth = maxWidth;
    this.onChange = onChange;
    this.config = null;
  }

  render(config) {
    this.config = config;
    const { features, hidden } = config;
    const names = this.featureLabels.map(([n]) => n);
    this.multiclass = config.problem === "multiclass";
    const outputs = this.multiclass ? config.classes : 1; // (binary ce's two logits show as one output)
    const columns = [names.length, ...hidden, outputs];
    const width = this.root.clientWidth || 420;
    // Embed mode: rows and nodes shrink to the height the frame leaves the diagram.
    const rows = Math.max(names.length, ...hidden, outputs);
    let ROW = ROW_FULL, NODE = NODE_FULL;
    if (document.body.classList.contains("embed")) {
      this.root.style.height = "";
      const room = this.root.clientHeight;
      if (room > 0) { ROW = Math.max(14, Math.min(ROW_FULL, (room - 36) / rows)); NODE = Math.min(NODE_FULL, ROW * 0.75); }
    }
    this.nodeSize = NODE;
    const height = rows * ROW + 36;
    const left = 64; // room for the feature labels
    const gap = (width - left - NODE) / (columns.length - 1);
    const x = (c) => left + c * gap;
    const y = (c, i) => {
      const n = columns[c];
      return 36 + (height - 36 - n * ROW) / 2 + i * ROW;
    };

    this.root.replaceChildren();
    this.links = []; // { el, layer, to, from } (from: index among the chosen features for layer 0)
    this.mapCanvases = []; // [layer][neuron] canvases of hidden neurons
    this.inputCanvases = {}; // feature name -> canvas
    this.biases = []; // { el, layer, to }
    this.root.style.height = `${height}px`;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.classList.add("links");
    const active = (c, i) => c > 0 || features.includes(names[i]);
    for (let c = 0; c < columns.length - 1; c++) {
      for (let i = 0; i < columns[c]; i++) {
        if (!active(c, i)) continue;
        for (let j = 0; j < columns[c + 1]; j++) {
          const line = document.createElementNS(SVG, "path");
          const x1 = x(c) + NODE, y1 = y(c, i) + NODE / 2, x2 = x(c + 1), y2 = y(c + 1, j) + NODE / 2;
          const mid = (x1 + x2) / 2;
          line.setAttribute("d", `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`);
          const from = c === 0 ? features.indexOf(names[i]) : i;
          line.dataset.layer = c; line.dataset.to = j; line.dataset.from = from;
          svg.append(line);
          this.links.push({ el: line, layer: c, to: j, from });
        }
      }
    }
    this.root.append(svg);

    names.forEach((name, i) => {
      const node = this.node(x(0), y(0, i), "input" + (features.includes(name) ? " on" : ""));
      node.title = `toggle feature ${this.featureLabels[i][1]}`;
      node.dataset.feature = name;
      this.inputCanvases[name] = this.mapCanvas(node);
      const label = document.createElement("span");
      label.className = "feature-label";
      label.textContent = this.featureLabels[i][1];
      node.append(label);
      node.addEventListener("click", () => {
        const next = features.includes(name) ? features.filter((f) => f !== name) : names.filter((n) => n === name || features.includes(n));
        if (next.length) this.onChange({ features: next });
      });
    });
    hidden.forEach((count, layer) => {
      const c = layer + 1;
      this.mapCanvases.push([]);
      for (let i = 0; i < count; i++) {
        const node = this.node(x(c), y(c, i), "hidden");
        node.dataset.layer = layer; node.dataset.neuron = i;
        this.mapCanvases[layer].push(this.mapCanvas(node));
        node.addEventListener("mouseenter", () => this.hoverNeuron(layer, i));
        node.addEventListener("mouseleave", () => this.hoverNeuron(null));
        this.bias(node, layer, i);
      }
      const head = document.createElement("div");
      head.className = "layer-head";
      head.style.left = `${x(c) + NODE / 2}px`;
      const fixed = (state.get("hidden") ?? []).includes("hidden"); // hidden_hide=true
      head.innerHTML = `${fixed ? "" : `<button class="round tiny" data-d="1" title="add a neuron">+</button><button class="round tiny" data-d="-1" title="remove a neuron">−</button>`}<div>${count} neuron${count === 1 ? "" : "s"}</div>`;
      head.querySelectorAll("button").forEach((b) =>
        b.addEventListener("click", () => {
          const next = [...hidden];
          next[layer] = Math.max(1, Math.min(this.maxWidth, count + Number(b.dataset.d)));
          if (next[layer] !== count) this.onChange({ hidden: next });
        }),
      );
      this.root.append(head);
    });
    this.outputCanvases = [];
    for (let j = 0; j < outputs; j++) {
      const out = this.node(x(columns.length - 1), y(columns.length - 1, j), "output");
      out.dataset.output = j;
      out.title = this.multiclass ? `output ${j}: p(class ${j})` : "output";
      if (this.multiclass) {
        out.style.borderColor = classColor(j);
        out.addEventListener("mouseenter", () => this.hoverOutput(j));
        out.addEventListener("mouseleave", () => this.hoverNeuron(null));
      }
      this.outputCanvases.push(this.mapCanvas(out));
      this.bias(out, hidden.length, j);
    }
    this.card = document.createElement("div");
    this.card.className = "value-card";
    this.card.hidden = true;
    this.root.append(this.card);
    for (const link of this.links) {
      link.el.addEventListener("mouseenter", () => this.showCard(link, "weight"));
      link.el.addEventListener("mouseleave", () => this.hideCard());
      link.el.addEventListener("click", () => this.editCard(link, "weight"));
    }
    this.paintInputs();
    if (this.views) this.update(this.views);
  }

  mapCanvas(node) {
    const canvas = document.createElement("canvas");
    canvas.className = "node-map";
    node.append(canvas);
    return canvas;
  }

  bias(node, layer, to) {
    const el = document.createElement("div");
    el.className = "bias";
    el.dataset.layer = layer; el.dataset.to = to;
    const b = { el, layer, to };
    el.addEventListener("mouseenter", (e) => { e.stopPropagation(); this.showCard(b, "bias"); });
    el.addEventListener("mouseleave", () => this.hideCard());
    el.addEventListener("click", (e) => { e.stopPropagation(); this.editCard(b, "bias"); });
    node.append(el);
    this.biases.push(b);
  }

  // Input feature maps: they never change, sent with full frames.
  setFeatureMaps(maps) { this.featureMaps = maps; this.paintInputs(); }

  paintInputs() {
    const m = this.featureMaps;
    if (!m || !this.inputCanvases) return;
    for (const [name, canvas] of Object.entries(this.inputCanvases)) {
      if (m.features[name]) paintMap(canvas, decodeBase64(m.features[name].data), 0, m.resolution);
    }
  }

  // One frame: neuron maps, link colours and widths, the open card's value.
  update(views, boundaryCanvas) {
    this.views = views;
    if (!this.links) return;
    const maps = views.neurons;
    const n = maps.resolution;
    this.decoded = maps.layers.map((l) => decodeBase64(l.data));
    this.mapCanvases.forEach((canvases, layer) => {
      const bytes = this.decoded[layer];
      if (!bytes) return;
      canvases.forEach((canvas, i) => { if ((i + 1) * n * n <= bytes.length) paintMap(canvas, bytes, i * n * n, n); });
    });
    if (this.multiclass && maps.outputs) {
      this.decodedOutputs = decodeBase64(maps.outputs);
      this.outputCanvases.forEach((canvas, j) => {
        if ((j + 1) * n * n <= this.decodedOutputs.length) paintMap(canvas, this.decodedOutputs, j * n * n, n, CLASS_LUTS[j]);
      });
    } else if (boundaryCanvas && this.outputCanvases?.length) {
      const canvas = this.outputCanvases[0];
      const ctx = canvas.getContext("2d");
      if (canvas.width !== 48) { canvas.width = 48; canvas.height = 48; }
      ctx.drawImage(boundaryCanvas, 0, 0, 48, 48);
    }
    for (const link of this.links) {
      const w = views.weights[link.layer]?.[link.to]?.[link.from];
      if (w === undefined) continue;
      // written only when the drawn value changes: a style write costs a restyle and a repaint
      const stroke = linkColor(w);
      const width = Math.round(linkWidth(w) * 4) / 4;
      if (link.stroke !== stroke) link.el.style.stroke = link.stroke = stroke;
      if (link.width !== width) link.el.style.strokeWidth = link.width = width;
    }
    for (const b of this.biases) {
      const v = views.biases[b.layer]?.[b.to];
      if (v !== undefined && b.color !== linkColor(v)) b.el.style.background = b.color = linkColor(v);
    }
    if (this.cardTarget && !this.editing) this.fillCard();
    if (this.hovered) this.hoverNeuron(...this.hovered);
  }

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

  node(left, top, cls) {
    const el = document.createElement("div");
    el.className = `node ${cls}`;
    el.style.left = `${left}px`;
    el.style.top = `${top}px`;
    if (this.nodeSize !== NODE_FULL) { el.style.width = el.style.height = `${this.nodeSize}px`; }
    this.root.append(el);
    return el;
  }

  addLayer() {
    const hidden = this.config.hidden;
    if (hidden.length < this.maxLayers) this.onChange({ hidden: [...hidden, 2] });
  }

  removeLayer() {
    const hidden = this.config.hidden;
    if (hidden.length > 0) this.onChange({ hidden: hidden.slice(0, -1) });
  }
}

// Per-layer gradient norms as horizontal bars on a log scale.
export function renderGradNorms(root, names, norms) {
  if (root.children.length !== norms.length) {
    root.replaceChildren(
      ...names.map((n) => {
        const row = document.createElement("div");
        row.className = "grad-row";
        row.innerHTML = `<span class="grad-name">${n}</span><span class="grad-bar"><span></span></span><span class="grad-value num"></span>`;
        return row;
      }),
    );
  }
  norms.forEach((v, i) => {
    const row = root.children[i];
    if (!row) return;
    // log scale: 1e-6 -> 0 %, 10 -> 100 %; an overflowed norm (inf) fills the bar, NaN/null none
    const t = v === Infinity ? 1 : Number.isFinite(v) && v > 0 ? Math.max(0, Math.min(1, (Math.log10(v) + 6) / 7)) : 0;
    row.querySelector(".grad-bar span").style.width = `${(t * 100).toFixed(1)}%`;
    row.querySelector(".grad-value").textContent = Number.isFinite(v) ? v.toExponential(1) : nonFinite(v);
    row.classList.toggle("not-finite", !Number.isFinite(v));
  });
}
