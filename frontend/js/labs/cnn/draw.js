// Draw-your-own-digit pad: a square canvas you paint with the mouse (or a finger), read back
// as size x size values in [0, 1] (the mean ink of each cell, the darkest cell scaled to 1),
// as the dataset's images are. onDrawing(pixels) runs while drawing (at most every 150 ms)
// and when a stroke ends.
const PAD = 168;

export class DrawPad {
  constructor(canvas, onDrawing) {
    this.canvas = canvas;
    this.onDrawing = onDrawing;
    this.size = 8;
    canvas.width = PAD;
    canvas.height = PAD;
    this.ctx = canvas.getContext("2d", { willReadFrequently: true });
    this.down = false;
    this.last = null;
    this.sent = 0;
    canvas.addEventListener("pointerdown", (e) => { this.down = true; this.last = null; canvas.setPointerCapture(e.pointerId); this.paint(e); });
    canvas.addEventListener("pointermove", (e) => { if (this.down) this.paint(e); });
    const end = () => { if (!this.down) return; this.down = false; this.send(); };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    this.clear();
  }

  setSize(size) {
    if (size !== this.size) { this.size = size; this.clear(); }
  }

  clear() {
    this.ctx.clearRect(0, 0, PAD, PAD);
    this.inked = false;
  }

  paint(e) {
    const box = this.canvas.getBoundingClientRect();
    const x = ((e.clientX - box.left) / box.width) * PAD;
    const y = ((e.clientY - box.top) / box.height) * PAD;
    const ctx = this.ctx;
    ctx.strokeStyle = ctx.fillStyle = "#000";
    ctx.lineCap = "round";
    ctx.lineWidth = (PAD / this.size) * 1.1; // a stroke about one cell wide, as the digits' pen
    ctx.beginPath();
    if (this.last) { ctx.moveTo(this.last[0], this.last[1]); ctx.lineTo(x, y); ctx.stroke(); } else { ctx.arc(x, y, ctx.lineWidth / 2, 0, 2 * Math.PI); ctx.fill(); }
    this.last = [x, y];
    this.inked = true;
    if (performance.now() - this.sent > 150) this.send();
  }

  send() {
    this.sent = performance.now();
    if (this.inked) this.onDrawing(this.pixels());
  }

  // size*size values in [0, 1], row by row.
  pixels() {
    const n = this.size;
    const cell = PAD / n;
    const alpha = this.ctx.getImageData(0, 0, PAD, PAD).data;
    const out = new Array(n * n).fill(0);
    for (let y = 0; y < PAD; y++) {
      for (let x = 0; x < PAD; x++) out[Math.floor(y / cell) * n + Math.floor(x / cell)] += alpha[4 * (y * PAD + x) + 3];
    }
    const top = Math.max(...out) || 1;
    return out.map((v) => Math.round((100 * v) / top) / 100);
  }
}
