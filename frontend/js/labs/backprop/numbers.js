// Numbers as the server writes them in formulas: 6 significant digits, negatives in
// brackets inside products and differences.
export const fmt = (v) => (v == null ? "—" : String(Number(v.toPrecision(6))));
export const term = (v) => (v < 0 ? `(${fmt(v)})` : fmt(v));
