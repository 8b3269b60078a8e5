// The arena's plots: a contour map (trajectories, current points, arrows; a click picks the
// start) and a 3-D surface with the same trajectories.
import { RACER_COLORS } from "./surface.js";
import { ARROW_COLORS, drawOverlay } from "./overlay.js";
import { Pacer, plot, Plotly } from "../../view/index.js";

const COLORSCALE = [[0, "#fbfcfd"], [0.25, "#e3eef5"], [0.6, "#a9c5da"], [1, "#5a7f9e"]];
const PLOT_CONFIG = { displayModeBar: false, responsive: true };

// Scale a vector to a visible arrow: its direction, a length between 4% and 16% of the window
// (true sizes span decades; the numbers panel shows them exactly).
function arrowTip(x, y, vx, vy, span, scale = null) {
  const norm = Math.hypot(vx, vy);
  if (!(norm > 0)) return null;
  const k = scale ?? Math.min(Math.max(norm, 0.04 * span), 0.16 * span) / norm;
  return [x + vx * k, y + vy * k];
}

// A scatter trace drawing arrows: [tail, tip, gap] triples with an arrow marker at each tip.
function arrowTrace(kind, segments) {
  const x = [], y = [], size = [];
  for (const [[x0, y0], [x1, y1]] of segments) {
    x.push(x0, x1, null); y.push(y0, y1, null); size.push(0, 11, 0);
  }
  return {
    type: "scatter", mode: "lines+markers", x, y, hoverinfo: "skip",
    line: { color: ARROW_COLORS[kind], width: 2, dash: kind === "coord" ? "dot" : "solid" },
    marker: { symbol: "arrow", angleref: "previous", size, color: ARROW_COLORS[kind] },
    showlegend: false,
  };
}

// Two stacked plots with the same axes: the contour below is drawn once per surface, the
// transparent one above holds what moves (redrawing a contour every frame costs too much).
export class ContourPlot {
  constructor(el, onPick) {
    this.el = el;
    this.bg = document.createElement("div");
    this.fg = document.createElement("div");
    this.bg.className = "arena-layer";
    this.fg.className = "arena-layer arena-overlay";
    // what moves, drawn at every frame (overlay.js); the overlay plot's traces follow at a pace
    this.canvas = document.createElement("canvas");
    this.canvas.className = "arena-layer arena-canvas";
    this.canvas.setAttribute("aria-hidden", "true");
    this.pacer = new Pacer(300, this.fg);
    el.replaceChildren(this.bg, this.fg, this.canvas);
    this.count = 0;
    this.fg.addEventListener("click", (e) => {
      const layout = this.fg._fullLayout;
      if (!layout || !this.surface) return;
      const { xaxis: xa, yaxis: ya } = layout;
      const rect = this.fg.getBoundingClientRect();
      const px = e.clientX - rect.left - xa._offset;
      const py = e.clientY - rect.top - ya._offset;
      if (px < 0 || py < 0 || px > xa._length || py > ya._length) return;
      onPick([xa.p2l(px), ya.p2l(py)]);
    });
  }

  layout(surface, transparent) {
    const [x0, x1, y0, y1] = surface.window;
    return {
      margin: { l: 40, r: 10, t: 8, b: 30 }, dragmode: false, hovermode: transparent ? false : "closest", showlegend: false,
      xaxis: { range: [x0, x1], zeroline: false, constrain: "domain", fixedrange: true, visible: !transparent },
      yaxis: { range: [y0, y1], zeroline: false, scaleanchor: "x", constrain: "domain", fixedrange: true, visible: !transparent },
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", font: { family: "inherit", size: 12 },
    };
  }

  // Draw a new surface (or a new set of racers). Overlay traces: 0..R-1 trajectories,
  // R current points, R+1..R+3 arrows (gradient, momentum, per-coordinate).
  reset(surface, racers) {
    this.surface = surface;
    this.count = racers.length;
    const [x0, x1, y0, y1] = surface.window;
    this.el.style.aspectRatio = `${x1 - x0} / ${y1 - y0}`; // equal scales on both axes, no blank bands
    const below = [
      {
        type: "contour", x: surface.xs, y: surface.ys, z: surface.z, colorscale: COLORSCALE, showscale: false,
        ncontours: 28, contours: { coloring: "fill", showlines: true }, line: { color: "rgba(40,60,80,0.25)", width: 0.6 },
        hoverinfo: "skip",
      },
      { type: "scatter", mode: "markers", hoverinfo: "skip",
        x: [surface.start[0], ...surface.minima.map((m) => m[0])], y: [surface.start[1], ...surface.minima.map((m) => m[1])],
        marker: { symbol: ["circle-open", ...surface.minima.map(() => "star")], size: [16, ...surface.minima.map(() => 14)],
          color: ["#222", ...surface.minima.map(() => "#ffd400")], line: { color: "#222", width: 1.5 } } },
    ];
    const above = [
      ...racers.map((r, i) => ({
        type: "scatter", mode: "lines", name: `${i + 1}. ${r.label}`, x: [], y: [], hoverinfo: "skip",
        line: { color: RACER_COLORS[i], width: 2.5 },
      })),
      { type: "scatter", mode: "markers+text", x: [], y: [], hoverinfo: "skip", text: [], cliponaxis: false,
        textfont: { color: "#c62828", size: 13 },
        marker: { size: 12, color: RACER_COLORS.slice(0, racers.length), line: { color: "#fff", width: 1.5 } } },
      arrowTrace("grad", []), arrowTrace("momentum", []), arrowTrace("coord", []),
    ];
    plot(this.bg, below, this.layout(surface, false), PLOT_CONFIG);
    this.pacer.cancel();
    this.scene = null;
    this.canvas.getContext("2d").clearRect(0, 0, this.canvas.width, this.canvas.height);
    plot(this.fg, above.map((t) => ({ ...t, opacity: 0 })), this.layout(surface, true), PLOT_CONFIG); // (the canvas shows them)
  }

  // Trajectories (paths: per racer {x, y}), current points and arrows, in one redraw.
  // show = { grad, momentum, coord } toggles.
  update(paths, racers, show) {
    if (!this.count || racers.length !== this.count) return;
    const span = this.surface.span;
    const live = racers.filter((r) => r.status === "racing");
    const segments = { grad: [], momentum: [], coord: [] };
    for (const r of live) {
      const [x, y] = r.point;
      if (show.grad && r.grad) {
        const tip = arrowTip(x, y, -r.grad[0], -r.grad[1], span);
        if (tip) segments.grad.push([[x, y], tip]);
      }
      if (show.momentum && r.momentum) {
        const tip = arrowTip(x, y, -r.momentum[0], -r.momentum[1], span);
        if (tip) segments.momentum.push([[x, y], tip]);
      }
      if (show.coord && r.last) {
        // the last update split into its x and y parts, drawn from where it started, on one
        // common scale so their ratio shows (SGD: the gradient's ratio; Adam: about 1:1)
        const [ux, uy] = r.last.update;
        const [ox, oy] = r.last.w_old;
        const norm = Math.hypot(ux, uy);
        if (norm > 0) {
          const k = Math.min(Math.max(norm, 0.04 * span), 0.16 * span) / norm;
          if (ux) segments.coord.push([[ox, oy], [ox + ux * k, oy]]);
          if (uy) segments.coord.push([[ox, oy], [ox, oy + uy * k]]);
        }
      }
    }
    const arrows = ["grad", "momentum", "coord"].map((kind) => arrowTrace(kind, segments[kind]));
    const lines = paths.map(() => null);
    // a diverged racer is marked where it left the view (on the window's edge)
    const [x0, x1, y0, y1] = this.surface.window;
    const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
    const marks = racers.map((r) => (r.status === "diverged" ? [clamp(r.point[0], x0, x1), clamp(r.point[1], y0, y1)] : r.point));
    this.scene = { paths, marks, racers, colors: RACER_COLORS, arrows: segments, below: marks.map((m) => m[1] >= y1) };
    drawOverlay(this.canvas, this.fg, this.scene);
    this.pacer.run(() => this.fg.isConnected && Plotly.restyle(
      this.fg,
      {
        x: [...paths.map((p) => p.x), marks.map((m) => m[0]), ...arrows.map((a) => a.x)],
        y: [...paths.map((p) => p.y), marks.map((m) => m[1]), ...arrows.map((a) => a.y)],
        text: [...lines, racers.map((r) => (r.status === "diverged" ? `${r.index + 1} diverged` : "")), ...arrows.map(() => null)],
        textposition: [...lines, marks.map((m) => (m[1] >= y1 ? "bottom center" : "top center")), ...arrows.map(() => null)],
        "marker.symbol": [...lines, racers.map((r) => (r.status === "diverged" ? "x" : "circle")), ...arrows.map(() => "arrow")],
        "marker.size": [...lines, racers.map(() => 12), ...arrows.map((a) => a.marker.size)],
      },
      Array.from({ length: this.count + 4 }, (_, i) => i),
    ));
  }

  resize() {
    Plotly.Plots.resize(this.bg);
    Plotly.Plots.resize(this.fg)?.then?.(() => this.scene && drawOverlay(this.canvas, this.fg, this.scene));
  }

  purge() { this.pacer.cancel(); Plotly.purge(this.bg); Plotly.purge(this.fg); }
}

export class SurfacePlot3D {
  constructor(el) {
    this.el = el;
    this.count = 0;
  }

  reset(surface, racers) {
    this.surface = surface;
    this.count = racers.length;
    const traces = [
      { type: "surface", ...coarse(surface, 2), colorscale: COLORSCALE, showscale: false,
        hoverinfo: "skip" },
      ...racers.map((r, i) => ({
        type: "scatter3d", mode: "lines", name: r.label, x: [], y: [], z: [], hoverinfo: "skip",
        line: { color: RACER_COLORS[i], width: 5 },
      })),
      { type: "scatter3d", mode: "markers", x: [], y: [], z: [], hoverinfo: "skip",
        marker: { size: 5, color: RACER_COLORS.slice(0, racers.length), line: { color: "#fff", width: 1 } } },
    ];
    const zLabel = surface.scale === "log" ? "log₁₀(f − f*)" : "f";
    const layout = {
      margin: { l: 0, r: 0, t: 0, b: 0 }, showlegend: false, paper_bgcolor: "rgba(0,0,0,0)",
      scene: {
        xaxis: { title: { text: "x" }, range: [surface.window[0], surface.window[1]], nticks: 5 },
        yaxis: { title: { text: "y" }, range: [surface.window[2], surface.window[3]], nticks: 5 },
        zaxis: { title: { text: zLabel }, range: surface.grid.range, nticks: 5 },
        camera: { eye: { x: -1.3, y: -1.5, z: 1.1 } }, aspectmode: "manual", aspectratio: { x: 1, y: 1, z: 0.6 },
      },
      uirevision: surface.name, // keep the user's camera across updates of the same surface
    };
    plot(this.el, traces, layout, PLOT_CONFIG);
  }

  // paths: per racer {x, y, gap} arrays. Points outside the window are left out (a null
  // breaks the line there), so a diverging racer cannot squash the surface's z scale.
  update(paths) {
    if (!this.count || paths.length !== this.count) return;
    const s = this.surface;
    const [x0, x1, y0, y1] = s.window;
    const inside = (x, y) => x >= x0 && x <= x1 && y >= y0 && y <= y1;
    const lines = paths.map((p) => {
      const line = { x: [], y: [], z: [] };
      p.x.forEach((x, k) => {
        const ok = inside(x, p.y[k]);
        line.x.push(ok ? x : null); line.y.push(ok ? p.y[k] : null); line.z.push(ok ? s.zOf(p.gap[k]) : null);
      });
      return line;
    });
    const tips = lines.map((l) => l.x.length - 1);
    Plotly.restyle(
      this.el,
      {
        x: [...lines.map((l) => l.x), lines.map((l, i) => l.x[tips[i]])],
        y: [...lines.map((l) => l.y), lines.map((l, i) => l.y[tips[i]])],
        z: [...lines.map((l) => l.z), lines.map((l, i) => l.z[tips[i]])],
      },
      [...paths.map((_, i) => i + 1), paths.length + 1],
    );
  }

  resize() { Plotly.Plots.resize(this.el); }

  purge() { Plotly.purge(this.el); }
}

// Every k-th grid line: the 3-D view does not need the contour's resolution.
function coarse(surface, k) {
  const pick = (_, i, all) => i % k === 0 || i === all.length - 1;
  return { x: surface.xs.filter(pick), y: surface.ys.filter(pick), z: surface.z.filter(pick).map((row) => row.filter(pick)) };
}
