// The page's state in one place: the run (state, epoch, step, lr), the session, the mounted
// lab, the page options a view redraws by (hidden controls), and what a view reports about
// itself. Modules read it with get() and follow it with watch() instead of passing values
// through <body> attributes.
//
// A few keys are mirrored on <body> as data-* attributes: they are the hooks the browser
// tests and bench/page.py wait on (body[data-epoch], data-state ...). Only these; the page
// itself never reads them back.
export const MIRRORED = ["state", "lab", "epoch", "step", "lr", "session", "viewFailures", "arenaPoints", "backpropPhase"];

const values = {};
const watchers = new Set();

export const get = (key) => values[key];

// Change some keys; undefined removes a key. Watchers hear every change.
export function set(patch) {
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete values[key];
    else values[key] = value;
    if (MIRRORED.includes(key)) {
      if (value === undefined) delete document.body.dataset[key];
      else document.body.dataset[key] = value;
    }
  }
  for (const fn of watchers) fn(patch);
}

// fn(patch) after each set(); returns the function that stops it.
export function watch(fn) {
  watchers.add(fn);
  return () => watchers.delete(fn);
}
