// The embed API's messages (docs/embed.md): what a parent page may post to an embedded
// Descent, checked before anything happens. Like the websocket protocol, a bad message gets
// an error that names the field (loc) and the allowed values, and changes nothing.
// Pure functions, no page state: tests import this module on its own.

export const VERSION = 1; // the `descent` field of every message, both ways
export const EVENTS = ["frame", "status", "diverged", "config", "error"];
export const ACTIONS = ["play", "pause", "step", "reset"];
export const FRAME_RATE = { min: 0.1, max: 30, default: 4 }; // frame events per second
export const MAX_ID = 64; // characters of a string id
export const MAX_CONFIG = 60_000; // characters of a config's JSON (the server takes messages up to 64 KiB by default)

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const shown = (v) => {
  let text;
  try { text = JSON.stringify(v); } catch { text = String(v); }
  return text === undefined ? String(v) : text.length > 40 ? `${text.slice(0, 40)}…` : text;
};

// Each message type: its fields beside descent, type and id. check(value) returns null when
// the value is fine, else what is allowed (the error's wording).
const FIELDS = {
  configure: {
    config: {
      required: true,
      check: (v) => (!isObject(v) ? "an object: a full config or a patch, e.g. {\"learning_rate\": 3}"
        : JSON.stringify(v).length > MAX_CONFIG ? `at most ${MAX_CONFIG} characters of JSON` : null),
    },
  },
  control: { action: { required: true, check: (v) => (ACTIONS.includes(v) ? null : ACTIONS.join(", ")) } },
  lesson: {
    lesson: { required: true, check: (v) => (typeof v === "string" && v.length > 0 && v.length <= 64 ? null : "a lesson id (a string, as in /?lesson=<id>)") },
    step: { check: (v) => (Number.isInteger(v) && v >= 0 ? null : "an integer from 0 (the lesson's first \"try this\" step)") },
  },
  subscribe: {
    events: {
      required: true,
      check: (v) => (Array.isArray(v) && v.every((e) => EVENTS.includes(e)) && new Set(v).size === v.length
        ? null : `a list of distinct events from ${EVENTS.join(", ")} ([] for none)`),
    },
    frame_rate: {
      check: (v) => (typeof v === "number" && v >= FRAME_RATE.min && v <= FRAME_RATE.max
        ? null : `a number of frame events per second from ${FRAME_RATE.min} to ${FRAME_RATE.max}`),
    },
  },
  get: {},
};
export const TYPES = Object.keys(FIELDS);

// Is it meant for us? Other scripts post messages too (extensions, other widgets): anything
// without a `descent` field is none of our business and is ignored, not answered.
export const isOurs = (data) => isObject(data) && "descent" in data;

// A message from the parent: { message, id } when valid, else { error: { message, loc }, id }
// (the id only when it is itself valid, so the reply can carry it).
export function validate(data) {
  const id = data.id;
  const idOk = id === undefined || (typeof id === "string" && id.length <= MAX_ID) || (typeof id === "number" && Number.isFinite(id));
  const fail = (field, message) => ({ error: { message: `${field}: ${message}`, loc: [field] }, id: idOk ? id : undefined });
  if (data.descent !== VERSION) return fail("descent", `version ${shown(data.descent)} is not spoken here; allowed: ${VERSION}`);
  if (!idOk) return fail("id", `${shown(id)} is not allowed; allowed: a string of at most ${MAX_ID} characters, or a number`);
  if (!Object.hasOwn(FIELDS, data.type)) return fail("type", `unknown message type ${shown(data.type)}; allowed: ${TYPES.join(", ")}`);
  const fields = FIELDS[data.type];
  for (const key of Object.keys(data)) {
    if (!["descent", "type", "id"].includes(key) && !Object.hasOwn(fields, key)) {
      const allowed = Object.keys(fields);
      return fail(key, `unknown field for ${data.type}; allowed: ${allowed.length ? allowed.join(", ") : "none (only descent, type, id)"}`);
    }
  }
  for (const [key, field] of Object.entries(fields)) {
    if (!(key in data)) {
      if (field.required) return fail(key, `required; allowed: ${field.check(undefined)}`);
      continue;
    }
    const allowed = field.check(data[key]);
    if (allowed !== null) return fail(key, `${shown(data[key])} is not allowed; allowed: ${allowed}`);
  }
  return { message: data, id };
}

// A frame's summary for the parent: the counters, the losses, the accuracy where the lab
// measures one, and every metric as the server sent it.
export function frameSummary(frame) {
  const m = frame.metrics ?? {};
  const has = (k) => m[k] !== undefined;
  return {
    lab: frame.lab,
    state: frame.state,
    epoch: frame.epoch,
    step: frame.step,
    lr: frame.lr,
    losses: { train: m.train_loss ?? null, test: m.test_loss ?? null },
    accuracy: has("train_accuracy") || has("test_accuracy") ? { train: m.train_accuracy ?? null, test: m.test_accuracy ?? null } : null,
    metrics: m,
  };
}
