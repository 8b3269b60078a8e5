// The config in the URL hash, so a setup is a link: #dataset=spiral&hidden=8,8&learning_rate=0.03

// Page options live in the hash beside the config: they change the page, not the run
// (embed, hide_text, <control>_hide, show_test, discretize, theme, fps, projector).
const PAGE_KEYS = new Set(["embed", "hide_text", "show_test", "discretize", "theme", "fps", "projector", "log_loss"]);
export const isPageKey = (key) => PAGE_KEYS.has(key) || key.endsWith("_hide");

export function pageOptions() {
  const params = new URLSearchParams(location.hash.slice(1));
  return Object.fromEntries([...params].filter(([k]) => isPageKey(k)));
}

// Set (or, with null/false/"", drop) one page option, keeping the rest of the hash.
export function setPageOption(key, value) {
  const params = new URLSearchParams(location.hash.slice(1));
  if (value === null || value === false || value === "") params.delete(key);
  else params.set(key, String(value));
  history.replaceState(null, "", `#${params.toString().replaceAll("%2C", ",")}`);
}

// schema: the /api/schema document; the hash's `lab` key picks whose config it is.
export function readHash(schema) {
  const patch = {};
  const params = new URLSearchParams(location.hash.slice(1));
  const lab = params.get("lab");
  const configSchema = (schema.labs[lab] ?? Object.values(schema.labs)[0]).config;
  for (const [key, raw] of params) {
    if (isPageKey(key)) continue;
    const prop = configSchema.properties[key];
    if (!prop) { patch[key] = raw; continue; } // the server names unknown keys
    if (prop.type === "array") {
      const items = raw === "" ? [] : raw.split(",");
      patch[key] = ["integer", "number"].includes(prop.items?.type) ? items.map(Number) : items;
    } else if (prop.type === "integer" || prop.type === "number") {
      patch[key] = Number(raw);
    } else if (prop.type === "boolean") {
      patch[key] = raw === "true";
    } else {
      patch[key] = raw;
    }
  }
  return patch;
}

export function writeHash(config, defaults) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(config)) {
    const text = Array.isArray(value) ? value.join(",") : String(value);
    const base = defaults[key];
    const baseText = Array.isArray(base) ? base.join(",") : String(base);
    if (key === "lab" || text !== baseText) params.set(key, text);
  }
  for (const [key, value] of Object.entries(pageOptions())) params.set(key, value);
  history.replaceState(null, "", `#${params.toString().replaceAll("%2C", ",")}`);
}
