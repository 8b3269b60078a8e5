// One student's tile on the wall: name, the main picture as a thumbnail, the loss curve as a
// sparkline, epoch, optimizer and learning rate, the run's state (diverged in red). Drawn
// from the summary the student's worker computed (runtime/summary.py), a few hundred bytes.
import { LUT } from "../colors.js";
import { decodeBase64 } from "../view/index.js";

let joined = 0;

export class TileView {
  constructor(tile, onClick) {
    this.tile = tile;
    this.order = joined++;
    this.loss = null;
    this.epoch = -1;
    this.el = document.createElement("button");
    this.el.className = "tile";
    this.el.dataset.tile = tile;
    this.el.innerHTML = `<div class="tile-head"><span class="tile-name"></span><span class="tile-state"></span></div>
      <div class="tile-body"><canvas class="tile-thumb" width="16" height="16"></canvas><canvas class="tile-spark"></canvas></div>
      <div class="tile-foot"><span class="tile-epoch num"></span><span class="tile-opt"></span><span class="tile-loss num"></span></div>`;
    this.ref = Object.fromEntries(["name", "state", "thumb", "spark", "epoch", "opt", "loss"].map((k) => [k, this.el.querySelector(`.tile-${k}`)]));
    this.el.addEventListener("click", onClick);
  }

  update(t) {
    this.ref.name.textContent = t.name; // (text: a name is never markup)
    this.el.classList.toggle("offline", !t.connected);
    const s = t.summary;
    if (!s) {
      this.ref.state.textContent = t.connected ? "joined" : "offline";
      return;
    }
    this.epoch = s.epoch;
    this.loss = s.loss;
    const state = s.diverged ? "diverged" : t.connected ? s.state : "offline";
    this.ref.state.textContent = state;
    this.el.dataset.state = state;
    this.el.classList.toggle("diverged", s.diverged);
    this.ref.epoch.textContent = `${s.lab === "arena" ? "step" : "epoch"} ${s.epoch}`;
    this.ref.opt.textContent = [s.optimizer, s.lr != null ? `lr ${Number(s.lr.toPrecision(3))}` : null].filter(Boolean).join(" · ");
    this.ref.loss.textContent = s.loss == null ? "" : `loss ${s.loss.toPrecision(3)}`;
    this.ref.loss.title = s.metrics ? Object.entries(s.metrics).map(([k, v]) => `${k} ${v}`).join("\n") : "";
    this.drawThumb(s);
    this.drawSpark(s.spark);
  }

  drawThumb(s) {
    const canvas = this.ref.thumb;
    canvas.hidden = !s.thumb;
    if (!s.thumb) return;
    const n = s.thumb_size;
    const bytes = decodeBase64(s.thumb);
    canvas.width = canvas.height = n;
    const g = canvas.getContext("2d");
    const image = g.createImageData(n, n);
    for (let i = 0; i < n * n; i++) {
      // the boundary on the playground's diverging scale; other labs' pictures in its blues
      const [r, gg, b] = s.lab === "mlp" ? LUT[bytes[i]] : LUT[128 + (bytes[i] >> 1)];
      image.data.set([r, gg, b, 255], i * 4);
    }
    g.putImageData(image, 0, 0);
  }

  drawSpark(values) {
    const canvas = this.ref.spark;
    const w = canvas.clientWidth || 120;
    const h = canvas.clientHeight || 40;
    const scale = devicePixelRatio || 1;
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    const g = canvas.getContext("2d");
    g.setTransform(scale, 0, 0, scale, 0, 0);
    const finite = values.filter((v) => v != null && Number.isFinite(v));
    if (finite.length < 2) return;
    const lo = Math.min(...finite);
    const hi = Math.max(...finite);
    const y = (v) => h - 3 - ((v - lo) / (hi - lo || 1)) * (h - 6);
    g.strokeStyle = getComputedStyle(canvas).color;
    g.lineWidth = 2;
    g.beginPath();
    let started = false;
    values.forEach((v, i) => {
      if (v == null) { started = false; return; }
      const x = (i / (values.length - 1)) * (w - 2) + 1;
      if (started) g.lineTo(x, y(v)); else g.moveTo(x, y(v));
      started = true;
    });
    g.stroke();
  }
}
