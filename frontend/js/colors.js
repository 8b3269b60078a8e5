// The playground's diverging palette: orange for -1, near-white for 0, blue for +1.
const NEG = [245, 147, 34];
const MID = [232, 234, 235];
const POS = [8, 119, 189];

// Multiclass: one colour per class (at most 6), the binary orange and blue first, then
// green, red, purple, brown (Tableau's order): apart from each other at full strength and
// faded toward the neutral, and readable on the light and the dark page.
export const CLASS_COLORS = [NEG, POS, [44, 160, 44], [214, 39, 40], [148, 103, 189], [140, 86, 75]];

function mix(a, b, t) {
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t));
}

const rgb = ([r, g, b]) => `rgb(${r},${g},${b})`;

// 256-entry lookup table: byte b encodes the value -1 + 2 * b / 255.
export const LUT = Array.from({ length: 256 }, (_, b) => {
  const v = -1 + (2 * b) / 255;
  return v < 0 ? mix(MID, NEG, -v) : mix(MID, POS, v);
});

// Per class, a 256-entry table from the neutral (byte 0) to the class colour (byte 255):
// a probability map of that class, or a cell of the class faded by its confidence.
export const CLASS_LUTS = CLASS_COLORS.map((c) => Array.from({ length: 256 }, (_, b) => mix(MID, c, b / 255)));

export function colorOf(value) {
  const b = Math.max(0, Math.min(255, Math.round((value + 1) * 127.5)));
  return rgb(LUT[b]);
}

export const classColor = (label) => rgb(CLASS_COLORS[label] ?? MID);

// A data point's colour: its class's for multiclass, on the diverging scale otherwise.
export const pointColor = (label, problem) => (problem === "multiclass" ? classColor(label) : colorOf(label));

// An n x n canvas painted cell by cell: color(i) -> [r, g, b] for cell i (row-major); CSS
// or drawImage scales it up. Every map of the page (boundary, neurons) is drawn with it.
export function paintCells(canvas, n, color) {
  if (canvas.width !== n) { canvas.width = n; canvas.height = n; }
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(n, n);
  for (let i = 0; i < n * n; i++) {
    const c = color(i);
    img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2]; img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

export function decodeBase64(text) {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}
