// Fork and compare, for any lab with the fork command: "Fork…" opens a picker (which setting
// the second run changes, and to what), "start" sends it, "End fork" stops it. The loss chart
// draws the second run's curves beside the main run's (LossChart.applyFork).
//
// choices: { key: [value or { value, label }, ...] }; values keep their JSON type (a number,
// a boolean, a list of blocks), so the picker works by index.
export const FORK_MARKUP = `
  <span class="fork-form" data-ref="forkForm" hidden>second run with
    <select data-ref="forkKey" aria-label="the setting the second run changes"></select>
    <select data-ref="forkValue" aria-label="its value in the second run"></select>
    <button class="text-button small" data-ref="forkGo">start</button></span>
  <button class="text-button small" data-ref="forkButton" title="a second run beside this one, on the same data: a training setting changed forks from this point; a network setting changed starts it from scratch">Fork…</button>
  <button class="text-button small" data-ref="unfork" hidden>End fork</button>`;

const pairs = (values) => values.map((v) => (v !== null && typeof v === "object" && "label" in v ? [v.value, v.label] : [v, String(v)]));

export class ForkControl {
  // ref: the template's refs (from FORK_MARKUP); charts: the LossCharts that draw the second run
  constructor(ref, choices, command, charts) {
    this.ref = ref;
    this.charts = charts;
    this.choices = Object.fromEntries(Object.entries(choices).map(([k, values]) => [k, pairs(values)]));
    ref.forkKey.replaceChildren(...Object.keys(this.choices).map((k) => new Option(k.replaceAll("_", " "), k)));
    const fill = () => ref.forkValue.replaceChildren(...this.choices[ref.forkKey.value].map(([, label], i) => new Option(label, String(i))));
    fill();
    ref.forkKey.addEventListener("change", fill);
    ref.forkButton.addEventListener("click", () => { ref.forkForm.hidden = !ref.forkForm.hidden; });
    ref.forkGo.addEventListener("click", () => {
      const key = ref.forkKey.value;
      command("fork", { patch: { [key]: this.choices[key][Number(ref.forkValue.value)][0] } });
    });
    ref.unfork.addEventListener("click", () => command("unfork", {}));
  }

  // the server's reply to fork / unfork (true when it was one of them)
  reply(msg) {
    if (msg.name !== "fork" && msg.name !== "unfork") return false;
    this.ref.forkForm.hidden = true;
    this.ref.unfork.hidden = !msg.label;
    return true;
  }

  // a frame's views: the second run's curves when they changed ("fork" absent: no news)
  frame(views) {
    if (!("fork" in views)) return;
    for (const chart of this.charts) chart.applyFork(views.fork);
    this.ref.unfork.hidden = !views.fork;
  }
}
