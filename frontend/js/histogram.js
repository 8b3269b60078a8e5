// Small canvas bar charts: a histogram {lo, hi, counts} and a function with its derivative.

function setup(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const [cw, ch] = sizeOf(canvas);
  const w = cw || 200;
  const h = ch || 90;
  if (canvas.width !== Math.round(w * ratio)) { canvas.width = Math.round(w * ratio); canvas.height = Math.round(h * ratio); }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = `${projecting() ? 17 : 11}px system-ui, sans-serif`;
  return { ctx, w, h };
}

import { showNumber } from "./finite.js";
import { palette, projecting } from "./theme.js";
import { sizeOf } from "./view/size.js";

const short = (v) => showNumber(v, (x) => (Math.abs(x) >= 0.01 || x === 0 ? x.toFixed(2) : x.toExponential(0)), "not finite");

export function drawHistogram(canvas, hist, color, title) {
  const { ctx, w, h } = setup(canvas);
  const top = 14;
  const bottom = h - 14;
  const max = Math.max(1, ...hist.counts);
  const bw = w / hist.counts.length;
  ctx.fillStyle = color;
  hist.counts.forEach((c, i) => {
    const bh = ((bottom - top) * c) / max;
    ctx.fillRect(i * bw + 0.5, bottom - bh, Math.max(1, bw - 1), bh);
  });
  ctx.fillStyle = palette().muted;
  ctx.textBaseline = "top";
  ctx.fillText(title, 0, 0);
  ctx.textBaseline = "bottom";
  ctx.fillText(short(hist.lo), 0, h);
  const hiText = short(hist.hi);
  ctx.fillText(hiText, w - ctx.measureText(hiText).width, h);
  canvas.dataset.total = hist.counts.reduce((a, b) => a + b, 0);
}

// f and f' on the same axes ({x, y, dy} from the server): f solid, f' dashed.
export function drawActivation(canvas, curve) {
  const { ctx, w, h } = setup(canvas);
  const ys = [...curve.y, ...curve.dy];
  const lo = Math.min(-1, ...ys);
  const hi = Math.max(1, ...ys);
  const [x0, x1] = [curve.x[0], curve.x.at(-1)];
  const px = (x) => ((x - x0) / (x1 - x0)) * (w - 4) + 2;
  const py = (y) => h - 14 - ((y - lo) / (hi - lo)) * (h - 18);
  ctx.strokeStyle = palette().line;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(px(x0), py(0)); ctx.lineTo(px(x1), py(0));
  ctx.moveTo(px(0), py(lo)); ctx.lineTo(px(0), py(hi));
  ctx.stroke();
  const line = (values, color, dash) => {
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.setLineDash(dash);
    ctx.beginPath();
    values.forEach((v, i) => (i ? ctx.lineTo(px(curve.x[i]), py(v)) : ctx.moveTo(px(curve.x[i]), py(v))));
    ctx.stroke();
    ctx.setLineDash([]);
  };
  line(curve.y, "#0877bd", []);
  line(curve.dy, "#f59322", [5, 3]);
  ctx.textBaseline = "bottom";
  ctx.fillStyle = palette().muted;
  ctx.fillText(`x ∈ [${x0}, ${x1}]`, 2, h);
  // legend at the bottom right, laid out by measured widths
  const name = `${curve.name}(x)`;
  const deriv = "derivative";
  const dw = ctx.measureText(deriv).width;
  ctx.fillStyle = "#f59322";
  ctx.fillText(deriv, w - dw, h);
  ctx.fillStyle = "#0877bd";
  ctx.fillText(name, w - dw - 10 - ctx.measureText(name).width, h);
  canvas.dataset.activation = curve.name;
}
