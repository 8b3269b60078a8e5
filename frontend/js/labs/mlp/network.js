// The network's shape: input features (click to toggle), hidden layers with +/- neurons,
// and the output, joined by links. Edits become config patches.

const SVG = "http://www.w3.org/2000/svg";
const NODE = 34;
const ROW = 46;

export class NetworkView {
  constructor(root, featureLabels, maxLayers, maxWidth, onChange) {
    this.root = root;
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
    const columns = [names.length, ...hidden, 1];
    const width = this.root.clientWidth || 420;
    const height = Math.max(names.length, ...hidden) * ROW + 36;
    const left = 64; // room for the feature labels
    const gap = (width - left - NODE) / (columns.length - 1);
    const x = (c) => left + c * gap;
    const y = (c, i) => {
      const n = columns[c];
      return 36 + (height - 36 - n * ROW) / 2 + i * ROW;
    };

    this.root.replaceChildren();
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
          svg.append(line);
        }
      }
    }
    this.root.append(svg);

    names.forEach((name, i) => {
      const node = this.node(x(0), y(0, i), "input" + (features.includes(name) ? " on" : ""));
      node.title = `toggle feature ${this.featureLabels[i][1]}`;
      node.dataset.feature = name;
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
      for (let i = 0; i < count; i++) this.node(x(c), y(c, i), "hidden");
      const head = document.createElement("div");
      head.className = "layer-head";
      head.style.left = `${x(c) + NODE / 2}px`;
      head.innerHTML = `<button class="round tiny" data-d="1" title="add a neuron">+</button><button class="round tiny" data-d="-1" title="remove a neuron">−</button><div>${count} neuron${count === 1 ? "" : "s"}</div>`;
      head.querySelectorAll("button").forEach((b) =>
        b.addEventListener("click", () => {
          const next = [...hidden];
          next[layer] = Math.max(1, Math.min(this.maxWidth, count + Number(b.dataset.d)));
          if (next[layer] !== count) this.onChange({ hidden: next });
        }),
      );
      this.root.append(head);
    });
    const out = this.node(x(columns.length - 1), y(columns.length - 1, 0), "output");
    out.title = "output";
  }

  node(left, top, cls) {
    const el = document.createElement("div");
    el.className = `node ${cls}`;
    el.style.left = `${left}px`;
    el.style.top = `${top}px`;
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
    // log scale: 1e-6 -> 0 %, 10 -> 100 %
    const t = v > 0 ? Math.max(0, Math.min(1, (Math.log10(v) + 6) / 7)) : 0;
    row.querySelector(".grad-bar span").style.width = `${(t * 100).toFixed(1)}%`;
    row.querySelector(".grad-value").textContent = v.toExponential(1);
  });
}
