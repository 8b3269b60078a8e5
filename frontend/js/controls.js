// Controls built from a lab's table of controls. Labels, allowed values and ranges come from
// the server's JSON Schema (/api/schema), so the server's registries drive the page: a new
// optimizer or activation appears, with its label, without a page change.
// A control: { key, kind: "select" | "range" | "number" | "list" | "check", where: container name,
//              options?: () => values, step?, max?, format? }
// Its label is the field's `title`; a select names its values by the field's `x-labels`.
import { labelOf, titleOf } from "./view/labels.js";

// The playground's learning-rate ladder, shared by every lab's LR control.
export const LR_LADDER = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];

// Allowed values of a config key, read from the lab's JSON Schema.
export function schemaEnum(configSchema, key) {
  const prop = configSchema.properties[key];
  if (prop.enum) return prop.enum;
  if (prop.items?.enum) return prop.items.enum;
  const ref = prop.$ref || prop.items?.$ref;
  if (ref) return configSchema.$defs[ref.split("/").pop()].enum;
  return [];
}

export function schemaRange(configSchema, key) {
  const p = configSchema.properties[key];
  return { min: p.minimum ?? p.exclusiveMinimum ?? 0, max: p.maximum ?? p.exclusiveMaximum ?? 100 };
}

// Build the controls into their containers; returns {update(config)} to mirror the server's config.
export function buildControls(table, configSchema, containers, onChange) {
  const setters = {};
  for (const c of table) {
    const box = document.createElement("div");
    box.className = `control control-${c.kind}`;
    box.dataset.key = c.key;
    const label = document.createElement("label");
    label.htmlFor = `ctl-${c.key}`;
    label.textContent = titleOf(configSchema, c.key);
    box.append(label);
    if (c.kind === "select") {
      const select = document.createElement("select");
      select.id = `ctl-${c.key}`;
      const values = c.options ? c.options() : schemaEnum(configSchema, c.key);
      for (const v of values) select.add(new Option(labelOf(configSchema, c.key, v), String(v)));
      select.addEventListener("change", () => {
        const raw = select.value;
        onChange({ [c.key]: typeof values[0] === "number" ? Number(raw) : raw });
      });
      box.append(select);
      setters[c.key] = (v) => {
        // a value off the control's ladder (a lesson's lr 0.005, a URL's): offered as it is
        if (![...select.options].some((o) => o.value === String(v))) select.add(new Option(labelOf(configSchema, c.key, v), String(v)));
        select.value = String(v);
      };
    } else if (c.kind === "number" || c.kind === "list" || c.kind === "check") {
      setters[c.key] = inputControl(c, configSchema, box, label, onChange);
    } else {
      const range = schemaRange(configSchema, c.key);
      const input = document.createElement("input");
      input.type = "range";
      input.id = `ctl-${c.key}`;
      input.min = range.min;
      input.max = Math.min(range.max, c.max ?? range.max);
      input.step = c.step;
      const out = document.createElement("output");
      const show = (v) => { out.textContent = c.format ? c.format(v) : v; };
      input.addEventListener("input", () => show(input.value));
      input.addEventListener("change", () => onChange({ [c.key]: Number(input.value) }));
      label.append(": ", out);
      box.append(input);
      setters[c.key] = (v) => { input.value = v; show(v); };
    }
    containers[c.where].append(box);
  }
  return {
    update(config) {
      for (const [key, set] of Object.entries(setters)) if (key in config) set(config[key]);
    },
  };
}
// A typed number (any value; the server checks the range and names it on error), a
// comma-separated list of integers, or a checkbox. Returns the setter.
function inputControl(c, configSchema, box, label, onChange) {
  const prop = configSchema.properties[c.key] || {};
  const input = document.createElement("input");
  input.id = `ctl-${c.key}`;
  if (c.kind === "check") {
    input.type = "checkbox";
    input.addEventListener("change", () => onChange({ [c.key]: input.checked }));
    box.prepend(input);
    return (v) => { input.checked = Boolean(v); };
  }
  input.type = c.kind === "number" ? "number" : "text";
  if (c.kind === "number") {
    input.step = "any";
    if (prop.minimum != null) input.min = prop.minimum;
    if (prop.maximum != null) input.max = prop.maximum;
  }
  const range = prop.minimum ?? prop.exclusiveMinimum;
  const top = prop.maximum ?? prop.exclusiveMaximum;
  if (prop.description) input.title = prop.description + (range != null ? ` (${range} to ${top})` : "");
  input.addEventListener("change", () => {
    const raw = input.value.trim();
    if (c.kind === "list") {
      // "200, 400" -> [200, 400]; anything else goes as typed so the server names the problem
      const parts = raw.split(/[\s,]+/).filter(Boolean);
      onChange({ [c.key]: parts.every((x) => /^-?\d+$/.test(x)) ? parts.map(Number) : raw });
    } else if (raw !== "") {
      onChange({ [c.key]: Number(raw) });
    }
  });
  box.append(input);
  return (v) => { input.value = Array.isArray(v) ? v.join(", ") : v; };
}
