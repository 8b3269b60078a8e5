// The main heatmap: the network's output over the input plane, with the data points on it.
import { LUT, colorOf, decodeBase64 } from "../../colors.js";

export class BoundaryView {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.cells = document.createElement("canvas");
    this.points = null;
    this.showTest = false;
    this.heatmap = null;
    this.override = null; // a hovered neuron's map { resolution, extent, bytes } shown instead
  }

  setOverride(map) { this.override = map; this.draw(); }
  // Discretize: each cell takes its class colour (the sign of the output), as the Playground does.
  setDiscretize(on) { this.discretize = on; this.draw(); }

  setPoints(data) { this.points = data; this.draw(); }
  setShowTest(on) { this.showTest = on; this.draw(); }
  setHeatmap(heatmap) { this.heatmap = heatmap; this.draw(); }

  draw() {
    const { canvas, ctx } = this;
    const size = canvas.width;
    ctx.clearRect(0, 0, size, size);
    const h = this.override ?? this.heatmap;
    if (h) {
      const n = h.resolution;
      const bytes = h.bytes ?? decodeBase64(h.data);
      if (this.cells.width !== n) { this.cells.width = n; this.cells.height = n; }
      const cctx = this.cells.getContext("2d");
      const img = cctx.createImageData(n, n);
      const discrete = this.discretize && !this.override;
      for (let i = 0; i < n * n; i++) {
        const c = LUT[discrete ? (bytes[i] >= 128 ? 255 : 0) : bytes[i]];
        img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2]; img.data[4 * i + 3] = 255;
      }
      cctx.putImageData(img, 0, 0);
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(this.cells, 0, 0, size, size);
    }
    if (!this.points) return;
    const extent = h ? h.extent : 6;
    const toPx = (v) => ((v + extent) / (2 * extent)) * size;
    const r = Math.max(2.5, size / 130);
    const draw = (pts, stroke) => {
      for (let i = 0; i < pts.x1.length; i++) {
        ctx.beginPath();
        ctx.arc(toPx(pts.x1[i]), size - toPx(pts.x2[i]), r, 0, 2 * Math.PI);
        ctx.fillStyle = colorOf(pts.label[i] * 1.0);
        ctx.fill();
        ctx.lineWidth = 1;
        ctx.strokeStyle = stroke;
        ctx.stroke();
      }
    };
    draw(this.points.train, "#fff");
    // the points the user drew: the last `drawn` training points, ringed
    const drawn = this.points.drawn ?? 0;
    const train = this.points.train;
    for (let i = train.x1.length - drawn; i < train.x1.length; i++) {
      ctx.beginPath();
      ctx.arc(toPx(train.x1[i]), size - toPx(train.x2[i]), r + 2.5, 0, 2 * Math.PI);
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#111";
      ctx.stroke();
    }
    if (this.showTest) draw(this.points.test, "#000");
  }
}

// A small static preview of a dataset for the dataset picker.
export function drawThumbnail(canvas, points) {
  const ctx = canvas.getContext("2d");
  const size = canvas.width;
  ctx.fillStyle = "#f4f5f6";
  ctx.fillRect(0, 0, size, size);
  const toPx = (v) => ((v + 6) / 12) * size;
  for (let i = 0; i < points.x1.length; i++) {
    ctx.fillStyle = colorOf(points.label[i]);
    ctx.fillRect(toPx(points.x1[i]) - 1, size - toPx(points.x2[i]) - 1, 2.2, 2.2);
  }
}
