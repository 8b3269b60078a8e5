// Pacing for views that are costly to redraw (plotly charts, 10-100 ms each on a laptop core):
// frames arrive up to 30 times a second, but a chart redrawn a few times a second looks just
// as live and leaves the page's time to the frames and the canvases.
//
// run(fn) keeps only the latest fn of a pacer. One scheduler serves every pacer: it runs one
// redraw per task of its own (never inside the animation frame that handles a data frame, so
// that frame paints first), the pacer waiting longest first, and after each redraw it leaves
// the main thread free for IDLE_RATIO times what that redraw cost. So on a slow core the
// charts slow down, not the frames: redraws take at most 1 / (1 + IDLE_RATIO) of the thread.
// A pacer redraws at most once per its interval, and no more often than leaves it 1 / OWN_RATIO of
// the thread (a chart that costs 40 ms redraws every 320 ms at most); cancel() drops what it
// has not drawn. A pacer given its element redraws it only every OFF_SCREEN ms while it is
// scrolled out of view (its latest state is drawn as soon as it comes back).

const SPACING = 20; // ms between any two redraws at the least
const IDLE_RATIO = 3; // after a redraw of c ms, the next waits c * IDLE_RATIO ms (25 % of the thread at most)
const OWN_RATIO = 8; // one pacer's redraws: at most 1 / OWN_RATIO of the thread
const OFF_SCREEN = 2000; // ms between redraws of a chart out of view
const waiting = new Set(); // pacers with a pending redraw
let nextAt = 0; // performance.now() before which no redraw starts
let timer = null;
let timerAt = Infinity; // when that timer fires

// The timer set for the earliest redraw due (moved earlier when a sooner one comes).
function schedule() {
  let due = Infinity;
  for (const p of waiting) due = Math.min(due, Math.max(nextAt, p.due()));
  if (due >= timerAt) return;
  clearTimeout(timer);
  timerAt = due;
  timer = setTimeout(tick, Math.max(0, due - performance.now()));
}

function tick() {
  timer = null;
  timerAt = Infinity;
  const now = performance.now();
  let pick = null;
  for (const p of waiting) if (now >= p.due() && (!pick || p.last < pick.last)) pick = p;
  if (pick && now >= nextAt) {
    const cost = pick.flush();
    nextAt = performance.now() + Math.max(SPACING, cost * IDLE_RATIO);
  }
  schedule();
}

const pacersOf = new WeakMap(); // element -> its pacers
const visibility = typeof IntersectionObserver === "undefined" ? null : new IntersectionObserver((entries) => {
  for (const e of entries) {
    for (const p of pacersOf.get(e.target) ?? []) p.visible = e.isIntersecting;
  }
  schedule(); // what came into view may be due now
}, { rootMargin: "100px" });

export class Pacer {
  constructor(interval = 200, el = null) {
    this.interval = interval;
    this.visible = true;
    if (el && visibility) {
      if (!pacersOf.has(el)) { pacersOf.set(el, []); visibility.observe(el); }
      pacersOf.get(el).push(this);
    }
    this.last = -Infinity;
    this.cost = 0; // ms, a moving average of its redraws
    this.pending = null;
  }

  due() {
    return this.last + Math.max(this.visible ? this.interval : OFF_SCREEN, this.cost * OWN_RATIO);
  }

  run(fn) {
    this.pending = fn;
    waiting.add(this);
    schedule();
  }

  // Draw the pending state now; returns what it cost (ms).
  flush() {
    waiting.delete(this);
    const fn = this.pending;
    this.pending = null;
    const started = performance.now();
    this.last = started;
    try {
      if (fn) fn();
    } catch (e) { // a chart that fails must not stop the others (the view's own guard is upstream)
      console.warn("a paced redraw failed:", e);
    }
    const cost = performance.now() - started;
    this.cost = this.cost ? 0.7 * this.cost + 0.3 * cost : cost;
    return cost;
  }

  cancel() {
    waiting.delete(this);
    this.pending = null;
  }
}
