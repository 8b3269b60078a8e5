// The architecture table (shape, the output-size formula with its numbers, parameters,
// receptive field per layer) and the feature-map panel, where clicking a pixel of a map
// outlines its receptive field on the input image.
import { widthOf } from "../../view/index.js";
import { decode, paintImage, paintMaps } from "./images.js";

const shapeText = (s) => s.join("×");
const KIND = { conv: "conv", act: "activation", bn: "BatchNorm", max: "max pool", avg: "avg pool", res: "residual", gap: "global avg pool", flatten: "flatten", dense: "dense", output: "output + softmax" };

// Rows are drawn again only when the network changes (a checkbox clicked between two frames
// must survive); ``show`` (config.show) ticks the "show" boxes of spatial layers.
export function renderTable(tbody, rows, size, show) {
  const key = `${size}|${JSON.stringify(rows.map((r) => [r.token, r.shape, r.params, r.rf]))}`;
  if (key !== tbody.dataset.key) {
    tbody.dataset.key = key;
    const input = `<tr class="cnn-input-row"><td></td><td></td><td>input</td><td class="num">1×${size}×${size}</td><td class="cnn-formula"></td><td></td><td class="num">1</td></tr>`;
    tbody.innerHTML = input + rows.map((r, i) => `
    <tr data-row="${i}" class="cnn-kind-${r.kind}">
      <td>${r.shape.length === 3 ? `<input type="checkbox" data-show="${i}" aria-label="show layer ${i + 1}">` : ""}</td>
      <td class="num">${i + 1}</td>
      <td><code>${r.token}</code> <span class="hint">${KIND[r.kind] ?? r.kind}</span></td>
      <td class="num">${shapeText(r.shape)}</td>
      <td class="num cnn-formula">${r.formula ?? ""}</td>
      <td class="num">${r.params ? r.params.toLocaleString("en") : ""}</td>
      <td class="num">${r.rf == null ? (r.shape.length === 1 ? "all" : "") : `${r.rf}×${r.rf}`}</td>
    </tr>`).join("");
  }
  tickShown(tbody, show);
}

// The "show" boxes as config.show says; at most ``max`` ticked (the others disabled then).
export function tickShown(tbody, show, max = 4) {
  const boxes = [...tbody.querySelectorAll("input[data-show]")];
  for (const box of boxes) box.checked = show.includes(+box.dataset.show);
  const full = show.length >= max;
  for (const box of boxes) box.disabled = full && !box.checked;
}

// Feature maps of one input: the input first (with the receptive-field outline), then one
// canvas per layer whose output is still an image.
export class MapsPanel {
  constructor(root) {
    this.root = root;
    this.picked = null; // { layer, channel, y, x }
  }

  render(prediction, rows, size) {
    this.rows = rows;
    this.size = size;
    const width = Math.max(160, widthOf(this.root) - 8);
    const maps = prediction.maps.map(decode);
    // one figure per layer, made once and kept while the network's layers stay the same
    const key = `${size}|${maps.map((m) => `${m.layer}:${m.shape}`).join(",")}`;
    if (key !== this.key) {
      this.key = key;
      this.picked = null;
      this.root.innerHTML = `<figure class="cnn-map cnn-map-input"><figcaption>input</figcaption><div class="cnn-input-wrap"><canvas class="cnn-pixels" data-ref="input"></canvas><canvas class="cnn-rf" data-ref="rf"></canvas></div></figure>`
        + maps.map((m) => `<figure class="cnn-map" data-layer="${m.layer}"><figcaption>${m.layer + 1}. <code>${rows[m.layer].token}</code> <span class="hint">${shapeText(m.shape)}</span></figcaption><canvas class="cnn-pixels"></canvas></figure>`).join("");
      for (const fig of this.root.querySelectorAll("figure[data-layer]")) {
        fig.querySelector("canvas").addEventListener("click", (e) => this.pick(e, +fig.dataset.layer));
      }
    }
    paintImage(this.root.querySelector('[data-ref="input"]'), prediction.image, size, 96);
    this.geometry = {};
    for (const m of maps) {
      const canvas = this.root.querySelector(`figure[data-layer="${m.layer}"] canvas`);
      this.geometry[m.layer] = paintMaps(canvas, m, width);
    }
    this.outline();
  }

  pick(e, layer) {
    const g = this.geometry[layer];
    const box = e.target.getBoundingClientRect();
    const px = Math.floor((e.clientX - box.left) / g.scale);
    const py = Math.floor((e.clientY - box.top) / g.scale);
    const col = Math.floor(px / (g.w + 1));
    const row = Math.floor(py / (g.h + 1));
    const x = px % (g.w + 1);
    const y = py % (g.h + 1);
    if (x >= g.w || y >= g.h) return;
    this.picked = { layer, channel: row * g.cols + col, x, y };
    this.outline();
  }

  // The picked pixel's receptive field on the input: centred at center + i * jump, rf wide
  // (clipped to the image: the part outside is padding).
  outline() {
    const rf = this.root.querySelector('[data-ref="rf"]');
    const input = this.root.querySelector('[data-ref="input"]');
    if (!rf || !input) return;
    if (rf.width !== input.width * 8 || rf.height !== input.height * 8) { rf.width = input.width * 8; rf.height = input.height * 8; }
    if (rf.style.width !== input.style.width) rf.style.width = input.style.width;
    if (rf.style.height !== input.style.height) rf.style.height = input.style.height;
    const ctx = rf.getContext("2d");
    ctx.clearRect(0, 0, rf.width, rf.height);
    const p = this.picked;
    const row = p && this.rows?.[p.layer];
    const caption = this.root.querySelector(".cnn-map-input figcaption");
    if (!row || row.rf == null) { if (caption) caption.textContent = "input · click a map pixel"; return; }
    const half = (row.rf - 1) / 2;
    const cx = row.center + p.x * row.jump;
    const cy = row.center + p.y * row.jump;
    const lo = (c) => Math.max(0, c - half);
    const hi = (c) => Math.min(this.size, c + half + 1);
    const s = 8; // the overlay has 8 canvas pixels per image pixel
    ctx.strokeStyle = "#e8590c";
    ctx.lineWidth = 3;
    ctx.strokeRect(lo(cx) * s + 1.5, lo(cy) * s + 1.5, (hi(cx) - lo(cx)) * s - 3, (hi(cy) - lo(cy)) * s - 3);
    caption.textContent = `receptive field of layer ${p.layer + 1}, map ${p.channel + 1}, (${p.y}, ${p.x}): ${row.rf}×${row.rf}`;
    for (const fig of this.root.querySelectorAll("figure[data-layer]")) fig.classList.toggle("picked", +fig.dataset.layer === p.layer);
  }
}
