// Axis ticks for the canvas charts: where they go and how they read. A linear axis steps by 1, 2
// or 5 times a power of ten; a log axis marks decades (every k-th when they are many), or 1, 2
// and 5 in each decade when few decades show, or linear steps inside a fraction of a decade.
// Labels follow the plotly tickformats the labs write (".0%", ".1f", "~g") and its
// exponentformat "power" (10⁻³).

const SUPERSCRIPT = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
const superscript = (n) => String(n).replace(/[-0-9]/g, (c) => SUPERSCRIPT[c]);

// 10^k written out: 1, 10, then 10² ... and 10⁻¹ ...
export const power = (k) => (k === 0 ? "1" : k === 1 ? "10" : `10${superscript(k)}`);

// The 1-2-5 step that cuts `span` into about `count` parts.
export function niceStep(span, count) {
  const rough = span / Math.max(1, count);
  const p = 10 ** Math.floor(Math.log10(rough));
  const m = rough / p;
  return (m < 1.42 ? 1 : m < 3.17 ? 2 : m < 7.08 ? 5 : 10) * p; // (the nearest, on a log scale)
}

// Decimals that a step of this size needs (0.05 -> 2, 2 -> 0).
const decimalsOf = (step) => Math.max(0, Math.min(12, -Math.floor(Math.log10(step) + 1e-9)));

// Tick values over [lo, hi] (data units), about `count` of them: { values, step }.
export function linearTicks(lo, hi, count) {
  const values = [];
  if (!(hi > lo) || !Number.isFinite(hi - lo)) return { values, step: 0 };
  const step = niceStep(hi - lo, count);
  const digits = decimalsOf(step);
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) values.push(Number((i * step).toFixed(digits)));
  return { values, step };
}

// Ticks of a log axis over [lo, hi] (powers of ten: the axis runs from 10^lo to 10^hi), about
// `count` of them: { values (data units), minor (per value: a 2 or a 5 inside a decade), step }.
export function logTicks(lo, hi, count) {
  const values = [];
  const minor = [];
  const first = Math.ceil(lo - 1e-9);
  const last = Math.floor(hi + 1e-9);
  let digits = 0; // the 1-2-5 ticks in range
  for (let k = first - 1; k <= last; k++) for (const d of [1, 2, 5]) { const v = k + Math.log10(d); if (v >= lo - 1e-9 && v <= hi + 1e-9) digits++; }
  if (last - first + 1 > Math.max(2, count * 0.75)) { // many decades: every k-th
    const every = Math.ceil((last - first + 1) / count);
    for (let k = Math.ceil(first / every) * every; k <= last; k += every) { values.push(10 ** k); minor.push(false); }
    return { values, minor, step: 0 };
  }
  if (digits >= 2 && digits <= count * 1.5) { // a few decades: 1, 2 and 5 in each
    for (let k = first - 1; k <= last; k++) {
      for (const d of [1, 2, 5]) {
        const v = k + Math.log10(d);
        if (v >= lo - 1e-9 && v <= hi + 1e-9) { values.push(Number((d * 10 ** k).toPrecision(6))); minor.push(d !== 1); }
      }
    }
    if (values.length >= 2) return { values, minor, step: 0 };
    values.length = minor.length = 0;
  }
  if (last >= first && last - first + 1 >= 2) { // decades only (the 2s and 5s would crowd)
    for (let k = first; k <= last; k++) { values.push(10 ** k); minor.push(false); }
    return { values, minor, step: 0 };
  }
  const t = linearTicks(10 ** lo, 10 ** hi, count); // within a decade: plain steps
  return { values: t.values, minor: t.values.map(() => false), step: t.step };
}

const PERCENT = /^\.(\d+)%$/;
const FIXED = /^\.(\d+)f$/;

// The shortest plain reading of a value (0.001, 25, 1e-7).
const shortest = (v) => String(Number(v.toPrecision(12)));

// "2×10⁻⁴" (power) or "2e-4" (e): a value too small or large for plain digits.
function exponent(v, format) {
  if (v === 0) return "0";
  const k = Math.floor(Math.log10(Math.abs(v)) + 1e-9);
  const m = Number((v / 10 ** k).toPrecision(3));
  if (format === "e") return `${m}e${k}`;
  return m === 1 ? power(k) : m === -1 ? `−${power(k)}` : `${m}×${power(k)}`;
}

// A tick label. axis: the layout's axis ({type, tickformat, exponentformat}); step: the
// linear step (0 on a log axis's own ticks); minor: a log axis's 2 or 5 inside a decade.
export function tickLabel(v, axis, step, minor = false) {
  const format = axis.tickformat;
  let m = format && PERCENT.exec(format);
  if (m) return `${(100 * v).toFixed(Number(m[1]))}%`;
  m = format && FIXED.exec(format);
  if (m) return v.toFixed(Number(m[1]));
  if (format === "~g") return shortest(v);
  if (axis.type === "log") {
    if (minor) return axis.exponentformat === "power" ? minorLabel(v, axis) : shortest(v);
    const k = Math.round(Math.log10(v));
    return axis.exponentformat === "power" ? power(k) : shortest(v);
  }
  const a = Math.abs(v);
  if (a && (a >= 1e5 || (step && step < 1e-3))) return exponent(v, axis.exponentformat);
  return shortest(step ? Number(v.toFixed(decimalsOf(step))) : v).replace(/^-0$/, "0"); // (0, 0.5, 1: as plotly writes them)
}

// A log axis's 2s and 5s: plotly writes them as small digits; written out whole when the
// layout asks (minorloglabels "complete": the projector's layout).
export const minorLabel = (v, axis) => (axis.minorloglabels === "complete" ? shortest(v) : String(Math.round(v / 10 ** Math.floor(Math.log10(v) + 1e-9))));
