// The playground's diverging palette: orange for -1, near-white for 0, blue for +1.
const NEG = [245, 147, 34];
const MID = [232, 234, 235];
const POS = [8, 119, 189];

function mix(a, b, t) {
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t));
}

// 256-entry lookup table: byte b encodes the value -1 + 2 * b / 255.
export const LUT = Array.from({ length: 256 }, (_, b) => {
  const v = -1 + (2 * b) / 255;
  return v < 0 ? mix(MID, NEG, -v) : mix(MID, POS, v);
});

export function colorOf(value) {
  const b = Math.max(0, Math.min(255, Math.round((value + 1) * 127.5)));
  const [r, g, bl] = LUT[b];
  return `rgb(${r},${g},${bl})`;
}

export function decodeBase64(text) {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}
