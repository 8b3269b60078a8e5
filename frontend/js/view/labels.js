// Labels come from the server's config schema (/api/schema), never from tables in the page:
// a field's `title` is its label, a choice field's `x-labels` name its values in a list,
// `x-titles` name them in full and `x-uses` list the fields each value reads (registry meta,
// see backend/descent/registry.py and labs/page.py).

// The property of `key` in a config schema (or a $defs model's schema).
export const property = (schema, key) => schema.properties?.[key] ?? {};

// A field's label on the page.
export const titleOf = (schema, key) => property(schema, key).title ?? key;

// A choice's name in a list (a number as it is).
export const labelOf = (schema, key, value) => property(schema, key)["x-labels"]?.[value] ?? String(value);

// A choice's full name (its list name where it has none).
export const fullLabelOf = (schema, key, value) => property(schema, key)["x-titles"]?.[value] ?? labelOf(schema, key, value);

// The fields a choice reads (e.g. the optimizer "adam": beta1, beta2, eps ...).
export const usesOf = (schema, key, value) => property(schema, key)["x-uses"]?.[value] ?? [];
