// Number formats every view uses. Not-finite values (a diverged run sends null; the page may
// compute NaN or ±inf) read as their name instead of throwing (see finite.js).
import { nonFinite, showNumber } from "../finite.js";

export { nonFinite, showNumber };

// 0.123 (three decimals, or `digits`)
export const fixed = (v, digits = 3) => showNumber(v, (x) => x.toFixed(digits));
// 12.3%
export const percent = (v) => showNumber(v, (x) => `${(100 * x).toFixed(1)}%`);
// `digits` significant digits, exponent form beyond 1e4 and under 1e-3: "—" when not finite
export const sig = (v, digits = 4) => {
  if (v == null || !Number.isFinite(v)) return "—";
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(2) : Number(v.toPrecision(digits)).toString();
};
