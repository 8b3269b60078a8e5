// Numbers that are not finite: a run that diverges sends null (JSON's stand-in for NaN and
// inf) and the page may compute NaN or ±inf itself. Every view formats through these, so a
// diverged frame draws as "not finite" instead of throwing.

// How a number that is not finite reads on the page.
export const nonFinite = (v) => (v == null ? "not finite" : Number.isNaN(v) ? "NaN" : v > 0 ? "∞" : "−∞");

// format(v) for a finite number, else its name (or `missing` for null/undefined).
export const showNumber = (v, format, missing = "—") => (Number.isFinite(v) ? format(v) : v == null ? missing : nonFinite(v));
