// The main heatmap: the network's output over the input plane, with the data points on it.
// Binary and regression: the output on the diverging scale. Multiclass: each cell in the
// colour of its argmax class, faded toward the neutral as its confidence falls to 1/k.
import { CLASS_LUTS, LUT, decodeBase64, paintCells, pointColor } from "../../colors.js";

export class BoundaryView {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.cells = document.createElement("canvas"); // the heatmap at its own resolution
    this.dots = document.createElement("canvas"); // the data points, redrawn only when they change
    this.dotsKey = null;
    this.points = null;
    this.showTest = false;
    this.heatmap = null;
    this.override = null; // a hovered neuron's map { resolution, extent, bytes, lut? } shown instead
    this.problem = "classification";
  }

  setProblem(problem) { this.problem = problem; this.draw(); }

  setOverride(map) { this.override = map; this.draw(); }
  // Discretize: each cell takes its class colour (the sign of the output), as the Playground does.
  setDiscretize(on) { this.discretize = on; this.draw(); }

  setPoints(data) { this.points = data; this.draw(); }
  setShowTest(on) { this.showTest = on; this.draw(); }
  setHeatmap(heatmap) {
    const confidence = heatmap.confidence ? decodeBase64(heatmap.confidence) : null;
    this.heatmap = { ...heatmap, bytes: decodeBase64(heatmap.data), confidence };
    this.draw();
  }

  // cell i -> [r, g, b]
  cellColor(h, bytes) {
    if (h.encoding === "base64-uint8-class") {
      const floor = 255 / h.classes; // confidence 1/k: nothing known, the neutral colour
      const fade = (c) => (this.discretize ? 255 : Math.max(0, Math.round(((c - floor) * 255) / (255 - floor))));
      return (i) => CLASS_LUTS[bytes[i]][fade(h.confidence[i])];
    }
    const lut = h.lut ?? LUT;
    const discrete = this.discretize && !this.override;
    return (i) => lut[discrete ? (bytes[i] >= 128 ? 255 : 0) : bytes[i]];
  }

  draw() {
    const { canvas, ctx } = this;
    const size = canvas.width;
    ctx.clearRect(0, 0, size, size);
    const h = this.override ?? this.heatmap;
    if (h) {
      paintCells(this.cells, h.resolution, this.cellColor(h, h.bytes));
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(this.cells, 0, 0, size, size);
    }
    if (!this.points) return;
    const extent = h ? h.extent : 6;
    const key = [this.points, this.showTest, this.problem, size, extent];
    if (!this.dotsKey || key.some((v, i) => v !== this.dotsKey[i])) {
      this.dotsKey = key;
      this.drawDots(size, extent);
    }
    ctx.drawImage(this.dots, 0, 0);
  }

  drawDots(size, extent) {
    const canvas = this.dots;
    canvas.width = canvas.height = size;
    const ctx = canvas.getContext("2d");
    const toPx = (v) => ((v + extent) / (2 * extent)) * size;
    const r = Math.max(2.5, size / 130);
    const draw = (pts, stroke) => {
      for (let i = 0; i < pts.x1.length; i++) {
        ctx.beginPath();
        ctx.arc(toPx(pts.x1[i]), size - toPx(pts.x2[i]), r, 0, 2 * Math.PI);
        ctx.fillStyle = pointColor(pts.label[i], this.problem);
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
export function drawThumbnail(canvas, points, problem) {
  const ctx = canvas.getContext("2d");
  const size = canvas.width;
  ctx.fillStyle = "#f4f5f6";
  ctx.fillRect(0, 0, size, size);
  const toPx = (v) => ((v + 6) / 12) * size;
  for (let i = 0; i < points.x1.length; i++) {
    ctx.fillStyle = pointColor(points.label[i], problem);
    ctx.fillRect(toPx(points.x1[i]) - 1, size - toPx(points.x2[i]) - 1, 2.2, 2.2);
  }
}
