// Pacing for views that are costly to redraw (plotly charts): frames arrive up to 30 times
// a second, but a chart redrawn 5 times a second looks just as live and leaves the page's
// time to the canvases. run(fn) keeps only the latest fn; it runs at once when the last run
// was `interval` ms ago or more, else at the end of the interval, so the latest state is
// always drawn (a paused run shows its final frame).
export class Pacer {
  constructor(interval = 200) {
    this.interval = interval;
    this.last = -Infinity;
    this.pending = null;
    this.timer = null;
  }

  run(fn) {
    this.pending = fn;
    if (this.timer !== null) return;
    const wait = this.last + this.interval - performance.now();
    if (wait <= 0) this.flush();
    else this.timer = setTimeout(() => { this.timer = null; this.flush(); }, wait);
  }

  flush() {
    const fn = this.pending;
    this.pending = null;
    this.last = performance.now();
    if (fn) fn();
  }

  cancel() {
    clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }
}
