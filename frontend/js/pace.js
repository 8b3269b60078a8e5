// Pacing for views that are costly to redraw (plotly charts, ~20 ms each): frames arrive up
// to 30 times a second, but a chart redrawn 5 times a second looks just as live and leaves
// the page's time to the canvases.
//
// run(fn) keeps only the latest fn. It runs at once when this pacer's interval has passed
// and no other pacer has just drawn (at most one costly redraw per incoming frame, right
// after that frame is handled, so it never delays the next). Otherwise it waits for a later
// call; if none comes (training paused), a timer draws the latest state a moment later.

const SPACING = 20; // ms between any two pacers' redraws (frames come every 33 ms)
const FALLBACK = 150; // ms past the interval before the timer draws a state no call took
let lastDraw = -Infinity; // when the last redraw of any pacer ended

export class Pacer {
  constructor(interval = 200) {
    this.interval = interval;
    this.last = -Infinity;
    this.pending = null;
    this.timer = null;
  }

  run(fn) {
    this.pending = fn;
    const now = performance.now();
    if (now - this.last >= this.interval && now - lastDraw >= SPACING) {
      this.flush();
      return;
    }
    if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), Math.max(0, this.last + this.interval - now) + FALLBACK);
    }
  }

  flush() {
    clearTimeout(this.timer);
    this.timer = null;
    const fn = this.pending;
    this.pending = null;
    this.last = performance.now();
    if (fn) fn();
    lastDraw = performance.now();
  }

  cancel() {
    clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }
}
