// The surface a race runs on, decoded from the frame's `surface` view (see the arena's
// Views schema): the grid of f over the window, and the z transform the plots share.
import { decodeBase64 } from "../../colors.js";

// apart from each other, and legible on the light and the dark panel (3:1 or more on both)
export const RACER_COLORS = ["#e8590c", "#1c7ed6", "#2b8a3e", "#ae3ec9", "#d6336c", "#0e7490"];

export function linspace(a, b, n) {
  return Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));
}

export class Surface {
  constructor(view) {
    Object.assign(this, view);
    const [x0, x1, y0, y1] = view.window;
    const n = view.grid.resolution;
    const bytes = decodeBase64(view.grid.data);
    const u16 = new DataView(bytes.buffer);
    const [lo, hi] = view.grid.range;
    // rows of z, row i at y = ys[i] (bottom to top)
    this.z = Array.from({ length: n }, (_, i) =>
      Array.from({ length: n }, (_, j) => lo + ((hi - lo) * u16.getUint16(2 * (i * n + j), true)) / 65535));
    this.xs = linspace(x0, x1, n);
    this.ys = linspace(y0, y1, n);
    this.span = Math.max(x1 - x0, y1 - y0);
  }

  // Plot height of a point whose f - f_min is `gap` (the history's gap series).
  zOf(gap) {
    if (gap == null) return null;
    return this.scale === "log" ? Math.log10(gap + this.delta) : gap + this.f_min;
  }
}
