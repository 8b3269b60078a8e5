// What moves on the contour map, drawn on a canvas at every frame: the trajectories, each
// racer's point (an x where it diverged, with its label) and the arrows, as the overlay plot
// would draw them. A plotly restyle of the overlay costs 10-50 ms per frame on a laptop core;
// the overlay plot keeps its traces (at a slower pace, transparent) for its axes and clicks.
//
// scene: { paths: [{x, y}], marks: [[x, y]], racers, colors, arrows: {kind: [[tail, tip]]}, below: bool[] }
export const ARROW_COLORS = { grad: "#111111", momentum: "#0a58ca", coord: "#7a7a7a" };

export function drawOverlay(canvas, plotEl, scene) {
  const layout = plotEl._fullLayout;
  if (!layout?.xaxis?._length) return;
  const { xaxis: xa, yaxis: ya, width, height } = layout;
  const ratio = devicePixelRatio || 1;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
  }
  const px = (x) => xa._offset + xa.l2p(x);
  const py = (y) => ya._offset + ya.l2p(y);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.save();
  ctx.beginPath();
  ctx.rect(xa._offset, ya._offset, xa._length, ya._length); // lines stay inside the axes, as plotly clips them
  ctx.clip();
  ctx.lineJoin = "round";
  ctx.lineCap = "round";
  scene.paths.forEach((p, i) => {
    ctx.strokeStyle = scene.colors[i];
    ctx.lineWidth = 2.5;
    ctx.beginPath();
    let open = false;
    for (let k = 0; k < p.x.length; k++) {
      if (p.x[k] == null || p.y[k] == null) { open = false; continue; }
      if (open) ctx.lineTo(px(p.x[k]), py(p.y[k]));
      else { ctx.moveTo(px(p.x[k]), py(p.y[k])); open = true; }
    }
    ctx.stroke();
  });
  for (const [kind, segments] of Object.entries(scene.arrows)) {
    ctx.strokeStyle = ctx.fillStyle = ARROW_COLORS[kind];
    ctx.lineWidth = 2;
    ctx.setLineDash(kind === "coord" ? [2, 3] : []);
    for (const [[x0, y0], [x1, y1]] of segments) {
      const [ax, ay, bx, by] = [px(x0), py(y0), px(x1), py(y1)];
      ctx.beginPath();
      ctx.moveTo(ax, ay);
      ctx.lineTo(bx, by);
      ctx.stroke();
      arrowHead(ctx, ax, ay, bx, by);
    }
  }
  ctx.restore(); // (the points and their labels may sit on the axes' edge: not clipped)
  scene.marks.forEach(([x, y], i) => {
    const [cx, cy] = [px(x), py(y)];
    const diverged = scene.racers[i].status === "diverged";
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = "#fff";
    ctx.fillStyle = scene.colors[i];
    if (diverged) cross(ctx, cx, cy, scene.colors[i]);
    else { ctx.beginPath(); ctx.arc(cx, cy, 6, 0, 2 * Math.PI); ctx.fill(); ctx.stroke(); }
    if (diverged) {
      ctx.fillStyle = "#c62828";
      ctx.font = "13px system-ui, sans-serif";
      ctx.textAlign = "center";
      const below = scene.below[i];
      ctx.textBaseline = below ? "top" : "bottom";
      const text = `${scene.racers[i].index + 1} diverged`;
      const half = ctx.measureText(text).width / 2 + 2; // (kept inside the map, not cut at its edge)
      ctx.fillText(text, Math.min(width - half, Math.max(half, cx)), below ? cy + 8 : cy - 8);
    }
  });
}

// A filled arrowhead at (bx, by) pointing away from (ax, ay), as plotly's "arrow" marker (size 11).
function arrowHead(ctx, ax, ay, bx, by) {
  const angle = Math.atan2(by - ay, bx - ax);
  const size = 8;
  ctx.save();
  ctx.setLineDash([]);
  ctx.translate(bx, by);
  ctx.rotate(angle);
  ctx.beginPath();
  ctx.moveTo(size * 0.4, 0);
  ctx.lineTo(-size * 0.6, -size * 0.42);
  ctx.lineTo(-size * 0.6, size * 0.42);
  ctx.closePath();
  ctx.fill();
  ctx.restore();
}

// plotly's "x" marker (size 12): a thick cross in the racer's colour, edged in white.
function cross(ctx, cx, cy, color) {
  const r = 5;
  ctx.save();
  ctx.lineCap = "butt";
  for (const [width, stroke] of [[5, "#fff"], [3, color]]) {
    ctx.lineWidth = width;
    ctx.strokeStyle = stroke;
    ctx.beginPath();
    ctx.moveTo(cx - r, cy - r); ctx.lineTo(cx + r, cy + r);
    ctx.moveTo(cx - r, cy + r); ctx.lineTo(cx + r, cy - r);
    ctx.stroke();
  }
  ctx.restore();
}
