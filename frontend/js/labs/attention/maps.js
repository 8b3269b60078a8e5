// Attention maps on canvas: decode the frame's bytes, draw one (layer, head) map with the
// tokens on both axes, a grid of them, and an enlarged map with hover values.
import { decodeBase64 } from "../../colors.js";
import { palette, projecting } from "../../theme.js";
import { widthOf } from "../../view/size.js";

// White -> the accent blue -> deep blue: byte b (weight b/255) to a colour.
const RAMP = [[255, 255, 255], [107, 174, 214], [8, 119, 189], [8, 48, 107]];
const LUT = Array.from({ length: 256 }, (_, b) => {
  const t = (b / 255) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(t));
  const f = t - i;
  return RAMP[i].map((c, k) => Math.round(c + (RAMP[i + 1][k] - c) * f));
});
const IDEAL = [28, 150, 80]; // the ideal map is drawn in green, to tell it apart

// {shape: [L, H, T, T], data: base64, tokens} -> {layers, heads, T, bytes, tokens}; `bytes`
// when the data is already decoded (time-lapse frames)
export function decodeMaps(view, bytes = decodeBase64(view.data)) {
  const [layers, heads, T] = view.shape;
  return { layers, heads, T, bytes, tokens: view.tokens };
}

export function weightAt(maps, layer, head, q, k) {
  const T = maps.T;
  return maps.bytes[((layer * maps.heads + head) * T + q) * T + k] / 255;
}

// Draw map (layer, head) of `maps` (or an ideal T*T byte array) into `canvas`, with token
// labels when cells are big enough. opts: { ideal: bool, scored: [bool], labels: bool }
export function drawMap(canvas, maps, layer, head, opts = {}) {
  const T = maps.T;
  const dpr = window.devicePixelRatio || 1;
  const css = widthOf(canvas) || canvas.width;
  const cell0 = css / (T + 1.6);
  // token labels where the cells have room for them (on a projector: 16 px labels, or none)
  const smallest = projecting() ? 16 : 8;
  const labels = opts.labels !== false && cell0 * 0.8 >= smallest;
  const fontSize = Math.max(smallest, Math.min(projecting() ? 22 : 15, cell0 * 0.8));
  const margin = labels ? Math.round(fontSize * 1.8) : 0;
  const cell = (css - margin) / T;
  canvas.width = Math.round(css * dpr);
  canvas.height = Math.round(css * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, css, css);
  // the map itself, through an offscreen T x T image scaled up without smoothing
  const img = new ImageData(T, T);
  const base = opts.ideal ? 0 : ((layer * maps.heads + head) * T * T);
  for (let i = 0; i < T * T; i++) {
    const b = maps.bytes[base + i];
    const [r, g, bl] = opts.ideal ? LUT[0].map((c, k) => Math.round(c + (IDEAL[k] - c) * (b / 255))) : LUT[b];
    img.data.set([r, g, bl, 255], i * 4);
  }
  const off = new OffscreenCanvas(T, T);
  off.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, margin, margin, cell * T, cell * T);
  ctx.strokeStyle = "#c9d1d9";
  ctx.lineWidth = 1;
  ctx.strokeRect(margin + 0.5, margin + 0.5, cell * T - 1, cell * T - 1);
  if (!labels) return { margin, cell };
  ctx.font = `${fontSize}px ui-monospace, Menlo, Consolas, monospace`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  const muted = palette().muted;
  maps.tokens.forEach((tok, i) => {
    const shown = tok === " " ? "␣" : tok;
    ctx.fillStyle = muted;
    ctx.fillText(shown, margin + (i + 0.5) * cell, margin / 2); // keys along the top
    ctx.fillStyle = opts.scored?.[i] ? "#1c7ed6" : muted; // scored queries in blue
    ctx.fillText(shown, margin / 2, margin + (i + 0.5) * cell); // queries down the side
  });
  return { margin, cell };
}

// The layer x head grid of small maps, plus the ideal map when the task has one.
export class MapGrid {
  constructor(el, onOpen) {
    this.el = el;
    this.onOpen = onOpen;
    this.shape = null;
    this.canvases = [];
  }

  // maps: decoded; ideal: decoded T*T bytes or null; scored: [bool] or null
  render(maps, ideal, scored) {
    const shape = `${maps.layers}x${maps.heads}x${ideal ? 1 : 0}`;
    if (shape !== this.shape) this.build(maps, !!ideal);
    this.last = { maps, ideal, scored };
    for (const c of this.canvases) {
      if (c.dataset.kind === "ideal") drawMap(c, { ...maps, bytes: ideal }, 0, 0, { ideal: true, scored });
      else drawMap(c, maps, +c.dataset.layer, +c.dataset.head, { scored });
    }
  }

  build(maps, withIdeal) {
    this.shape = `${maps.layers}x${maps.heads}x${withIdeal ? 1 : 0}`;
    const cols = maps.heads + (withIdeal ? 1 : 0);
    this.el.style.gridTemplateColumns = `2.2rem repeat(${cols}, minmax(0, 1fr))`;
    this.el.style.setProperty("--map-rows", maps.layers); // (an embed sizes the grid to its height)
    this.el.style.setProperty("--map-cols", cols);
    this.el.replaceChildren();
    this.canvases = [];
    const cellOf = (text, cls) => Object.assign(document.createElement("div"), { className: cls, textContent: text });
    this.el.append(cellOf("", "map-corner"));
    for (let h = 0; h < maps.heads; h++) this.el.append(cellOf(`head ${h + 1}`, "map-col-label"));
    if (withIdeal) this.el.append(cellOf("ideal", "map-col-label ideal"));
    for (let l = 0; l < maps.layers; l++) {
      this.el.append(cellOf(`L${l + 1}`, "map-row-label"));
      for (let h = 0; h < maps.heads; h++) this.el.append(this.canvas({ layer: l, head: h, kind: "head" }, `layer ${l + 1}, head ${h + 1}`));
      if (withIdeal) {
        if (l === 0) this.el.append(this.canvas({ layer: 0, head: 0, kind: "ideal" }, "the ideal map"));
        else this.el.append(cellOf("", "map-empty"));
      }
    }
  }

  canvas(data, title) {
    const c = document.createElement("canvas");
    c.className = `attn-map ${data.kind}`;
    Object.assign(c.dataset, data);
    c.title = `${title} — click to enlarge`;
    c.setAttribute("role", "button");
    c.addEventListener("click", () => this.onOpen(data));
    this.canvases.push(c);
    return c;
  }
}

// One map, large, with the value under the pointer. Stays open across frames (live).
export class Enlarged {
  constructor(el) {
    this.el = el;
    this.el.innerHTML = `<div class="attn-zoom-box" role="dialog" aria-label="attention map">
      <div class="attn-zoom-head"><span data-z="title"></span><button class="round tiny" data-z="close" aria-label="close">×</button></div>
      <canvas class="attn-zoom-canvas" data-z="canvas"></canvas>
      <div class="attn-zoom-hover" data-z="hover">hover a cell: query (row) → key (column)</div></div>`;
    this.z = Object.fromEntries([...el.querySelectorAll("[data-z]")].map((e) => [e.dataset.z, e]));
    this.target = null;
    this.z.close.addEventListener("click", () => this.close());
    el.addEventListener("click", (e) => { if (e.target === el) this.close(); });
    this.onKey = (e) => { if (e.key === "Escape") this.close(); };
    document.addEventListener("keydown", this.onKey);
    this.z.canvas.addEventListener("mousemove", (e) => this.hover(e));
  }

  open(target, state) {
    this.target = target;
    this.el.hidden = false;
    this.render(state);
  }

  close() {
    this.target = null;
    this.cell = null;
    this.el.hidden = true;
  }

  destroy() {
    document.removeEventListener("keydown", this.onKey);
  }

  render(state) {
    if (!this.target || !state) return;
    const { maps, ideal, scored, caption } = state;
    this.scored = scored;
    const t = this.target;
    const isIdeal = t.kind === "ideal";
    if (isIdeal && !ideal) return this.close();
    if (!isIdeal && (+t.layer >= maps.layers || +t.head >= maps.heads)) return this.close();
    this.state = { maps: isIdeal ? { ...maps, bytes: ideal, heads: 1, layers: 1 } : maps, layer: isIdeal ? 0 : +t.layer, head: isIdeal ? 0 : +t.head };
    this.z.title.textContent = `${isIdeal ? "Ideal map" : `Layer ${+t.layer + 1}, head ${+t.head + 1}`} — ${caption}`;
    this.geom = drawMap(this.z.canvas, this.state.maps, this.state.layer, this.state.head, { ideal: isIdeal, scored });
    this.outline();
  }

  // Outline the hovered cell, and its row and column faintly.
  outline() {
    if (!this.cell || !this.geom) return;
    const { q, k } = this.cell;
    const { margin, cell } = this.geom;
    const ctx = this.z.canvas.getContext("2d");
    const span = cell * this.state.maps.T;
    ctx.fillStyle = "rgba(245, 147, 34, 0.12)";
    ctx.fillRect(margin, margin + q * cell, span, cell);
    ctx.fillRect(margin + k * cell, margin, cell, span);
    ctx.strokeStyle = "#f59322";
    ctx.lineWidth = 2;
    ctx.strokeRect(margin + k * cell + 1, margin + q * cell + 1, cell - 2, cell - 2);
  }

  hover(e) {
    if (!this.state || !this.geom) return;
    const rect = this.z.canvas.getBoundingClientRect();
    const { margin, cell } = this.geom;
    const k = Math.floor((e.clientX - rect.left - margin) / cell);
    const q = Math.floor((e.clientY - rect.top - margin) / cell);
    const { maps, layer, head } = this.state;
    if (q < 0 || k < 0 || q >= maps.T || k >= maps.T) return;
    const tok = (i) => JSON.stringify(maps.tokens[i]);
    const w = weightAt(maps, layer, head, q, k);
    this.z.hover.textContent = `query ${q} ${tok(q)} → key ${k} ${tok(k)}: weight ${w.toFixed(3)}`;
    if (this.cell?.q !== q || this.cell?.k !== k) {
      this.cell = { q, k };
      this.geom = drawMap(this.z.canvas, maps, layer, head, { ideal: this.target?.kind === "ideal", scored: this.scored });
      this.outline();
    }
  }
}
