// The network's shape: input features (click to toggle), hidden layers with +/- neurons,
// and the output, joined by links. Edits become config patches.
// Inside it (frames): each input and hidden neuron as a small map of its output over the
// plane, links coloured by weight sign (blue +, orange -) and as thick as |weight|, a bias
// square on each neuron; hovering shows values, clicking a link or bias edits it.
// Multiclass: one output node per class (edged in its colour), each showing its softmax probability.
import { CLASS_LUTS, LUT, classColor, decodeBase64, paintCells } from "../../colors.js";
import { state } from "../../view/index.js";
import { NetworkInteraction } from "./interaction.js";
import { layoutNetwork, NODE_FULL } from "./layout.js";

const SVG = "http://www.w3.org/2000/svg";
const linkWidth = (w) => (!Number.isFinite(w) ? 1 : 0.6 + Math.min(Math.abs(w), 4) * 1.35);
const linkColor = (w) => (!Number.isFinite(w) ? "#c62828" : w >= 0 ? "#0877bd" : "#f59322");

// One map (bytes at offset, n x n) into a canvas of n x n pixels (CSS scales it up).
export function paintMap(canvas, bytes, offset, n, lut = LUT) {
  paintCells(canvas, n, (i) => lut[bytes[offset + i]]);
}

export class NetworkView extends NetworkInteraction {
  // hooks: { onHoverNeuron(map | null), onEdit({layer, kind, to, from, value}) }
  constructor(root, featureLabels, maxLayers, maxWidth, onChange, hooks = {}) {
    super();
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
    const { outputs, columns, width, height, node: NODE, x, y } = layoutNetwork(this.root, names.length, hidden, this.multiclass ? config.classes : 1);
    this.nodeSize = NODE;

    this.root.replaceChildren();
    this.spots = []; // every map canvas and where it shows (see composite)
    this.links = []; // { el, layer, to, from } (from: index among the chosen features for layer 0)
    this.mapCanvases = []; // [layer][neuron] canvases of hidden neurons
    this.painted = null; // the neuron maps the canvases show (a light frame brings none new)
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
    // Every map is drawn on one canvas over the nodes: a canvas is a composited layer of its
    // own, and 56 of them (the big setup) cost the browser more per frame than the rest of the
    // page (layerizing, committing and compositing each). The nodes keep their own canvases,
    // unrendered, as the maps' pixels (display: none in style.css).
    this.mapsCanvas = document.createElement("canvas");
    this.mapsCanvas.className = "node-maps";
    this.mapsCanvas.setAttribute("aria-hidden", "true");
    this.mapsSize = [width, height];
    this.root.append(this.mapsCanvas);
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
    // where it shows: inside the node's 1 px border (style.css: .node, box-sizing border-box)
    const left = parseFloat(node.style.left) + 1;
    const top = parseFloat(node.style.top) + 1;
    (this.spots ??= []).push({ canvas, node, left, top, size: this.nodeSize - 2 });
    return canvas;
  }

  // The maps onto the one canvas, each where its node is (rounded as .node-map was; an input
  // not chosen faded and greyed as its node is).
  composite() {
    const c = this.mapsCanvas;
    if (!c) return;
    const ratio = devicePixelRatio || 1;
    const [width, height] = this.mapsSize;
    if (c.width !== Math.round(width * ratio) || c.height !== Math.round(height * ratio)) {
      c.width = Math.round(width * ratio);
      c.height = Math.round(height * ratio);
      c.style.width = `${width}px`;
      c.style.height = `${height}px`;
    }
    const ctx = c.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    for (const { canvas, node, left, top, size } of this.spots) {
      if (!canvas.width || !canvas.height) continue;
      const off = node.classList.contains("input") && !node.classList.contains("on");
      ctx.save();
      ctx.globalAlpha = off ? 0.35 : 1;
      ctx.filter = off ? "grayscale(0.6)" : "none";
      ctx.beginPath();
      ctx.roundRect(left, top, size, size, 5);
      ctx.clip();
      ctx.drawImage(canvas, left, top, size, size);
      ctx.restore();
    }
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
    this.composite();
  }

  // One frame: neuron maps, link colours and widths, the open card's value.
  update(views, boundaryCanvas) {
    this.views = views;
    if (!this.links) return;
    const maps = views.neurons;
    const n = maps.resolution;
    const fresh = maps !== this.painted; // (the same maps as last frame: a light frame kept them)
    this.painted = maps;
    if (fresh) {
      this.decoded = maps.layers.map((l) => decodeBase64(l.data));
      this.mapCanvases.forEach((canvases, layer) => {
        const bytes = this.decoded[layer];
        if (!bytes) return;
        canvases.forEach((canvas, i) => { if ((i + 1) * n * n <= bytes.length) paintMap(canvas, bytes, i * n * n, n); });
      });
    }
    if (this.multiclass && maps.outputs) {
      if (fresh) {
        this.decodedOutputs = decodeBase64(maps.outputs);
        this.outputCanvases.forEach((canvas, j) => {
          if ((j + 1) * n * n <= this.decodedOutputs.length) paintMap(canvas, this.decodedOutputs, j * n * n, n, CLASS_LUTS[j]);
        });
      }
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
    this.composite();
    if (this.cardTarget && !this.editing) this.fillCard();
    if (this.hovered) this.hoverNeuron(...this.hovered);
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
