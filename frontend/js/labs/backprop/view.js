// Backprop by hand: one SGD step split into forward -> loss -> backward -> update. The
// page shows the network with its numbers, the forward pass and the loss written out, and
// per parameter its value, its .grad, the chain-rule product that gives it, and the update.
import { buildControls, LossChart, refs, state } from "../../view/index.js";
import { drawLine, drawNetwork } from "./diagram.js";
import { fmt, term } from "./numbers.js";

export const counter = "Step";

const LR_CHOICES = [0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10];
const SPEED_CHOICES = [1, 2, 5, 10, 30];
const CONTROLS = [
  { key: "preset", kind: "select", where: "hyper" },
  { key: "learning_rate", kind: "select", where: "hyper", options: () => LR_CHOICES },
  { key: "speed", kind: "select", where: "hyper", options: () => SPEED_CHOICES },
  { key: "forget_zero_grad", kind: "check", where: "step" },
];

// The PyTorch line(s) each phase runs.
const CODE = {
  forward: ["out = model(x)"],
  loss: ["loss = criterion(out, y)"],
  backward: ["optimizer.zero_grad()", "loss.backward()"],
  update: ["optimizer.step()"],
};
const PHASES = Object.keys(CODE);

const TEMPLATE = `
  <div class="backprop">
    <section class="column bp-step">
      <h2>One SGD step</h2>
      <ol class="bp-phases" data-ref="phases"></ol>
      <div class="bp-buttons">
        <button class="text-button bp-next" data-ref="next">next phase: <b data-ref="nextName">forward</b> →</button>
        <button class="text-button" data-ref="whole" title="finish this step (or do a whole new one)">whole step »</button>
      </div>
      <div class="bp-check" data-ref="stepControls"></div>
      <div class="hint" data-ref="zeroHint"></div>
      <h3>Data</h3>
      <div class="bp-inputs num" data-ref="inputs"></div>
    </section>
    <section class="column bp-picture">
      <h2 data-ref="label">Network</h2>
      <svg class="bp-svg" data-ref="svg" role="img" aria-label="the network with its numbers"></svg>
      <h3>Forward pass</h3>
      <div class="bp-forward num" data-ref="forward"></div>
      <h3>Loss</h3>
      <div class="bp-lossline num" data-ref="loss"></div>
    </section>
    <section class="column bp-curve">
      <h2>Loss <span class="hint">per step, log scale</span></h2>
      <div class="bp-lossvalue">L = <span class="num" data-ref="lossValue">—</span></div>
      <div class="bp-chart" data-ref="chart"></div>
      <p class="hint" data-ref="forgetNote" hidden>With zero_grad() forgotten, <code>.grad</code> keeps the sum of every step's gradient: like momentum
        with no friction, the weights swing past the minimum and back instead of settling. Watch the curve.</p>
    </section>
    <section class="column bp-table-wrap">
      <h2>Parameters <span class="hint" data-ref="tableHint"></span></h2>
      <table class="bp-table num" data-ref="table">
        <thead><tr><th>param</th><th>value</th><th>.grad</th><th>∂L/∂p by the chain rule (this step)</th><th>update p ← p − lr·.grad</th></tr></thead>
        <tbody data-ref="rows"></tbody>
      </table>
    </section>
  </div>`;

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

// The data: (xi, yi) pairs for linear regression, the named inputs and target otherwise.
function dataText(inputs) {
  const v = Object.fromEntries(inputs.map((q) => [q.name, q.value]));
  if (!("x3" in v)) return inputs.map((q) => `<span>${q.name} = ${fmt(q.value)}</span>`).join("");
  const pairs = inputs.filter((q) => /^x\d+$/.test(q.name)).map((q) => q.name.slice(1));
  return pairs.map((i) => `<span>(x${i}, y${i}) = (${fmt(v[`x${i}`])}, ${fmt(v[`y${i}`])})</span>`).join("");
}

function chainCell(p) {
  const c = p.chain;
  if (!c) return `<span class="hint">after backward</span>`;
  const several = c.terms.length > 1;
  const symbols = c.factors.join(" · ");
  const numbers = c.terms.map((t) => t.map(term).join(" · ")).join(several ? " + " : "");
  const head = several ? `∂L/∂${p.name} = Σᵢ ${symbols}` : `∂L/∂${p.name} = ${symbols}`;
  return `<div class="bp-chain-symbols">${esc(head)}</div><div>= ${numbers} = <b>${fmt(c.value)}</b></div>`;
}

function gradCell(p, views) {
  if (p.grad == null) return `<span class="hint">None</span>`;
  if (p.chain && p.grad_before != null && !views.zero_grad) {
    // forget_zero_grad: backward added this step's gradient to what .grad held
    return `<div class="bp-accum" title="old .grad + this step's gradient">${fmt(p.grad_before)} + ${term(p.chain.value)}</div><b>= ${fmt(p.grad)}</b>`;
  }
  return `<b>${fmt(p.grad)}</b>`;
}

function updateCell(p) {
  const u = p.update;
  if (!u) return `<span class="hint">after update</span>`;
  return `${p.name} ← ${fmt(u.old)} − ${fmt(u.lr)}·${term(u.grad)} = <b>${fmt(u.new)}</b>`;
}

export async function mount(root, ctx) {
  root.innerHTML = TEMPLATE;
  const ref = refs(root);
  const controls = buildControls(CONTROLS, ctx.schema, { hyper: ctx.hyper, step: ref.stepControls }, ctx.configure);

  const chart = new LossChart(ref.chart, [{ name: "loss", key: "loss", color: "#0877bd" }], {
    xaxis: { title: { text: "step", font: { size: 11 } }, zeroline: false },
    yaxis: { type: "log", exponentformat: "power" },
    height: 220,
  });

  let config = null;
  let views = null;
  ref.next.addEventListener("click", () => ctx.command("phase", {}));
  ref.whole.addEventListener("click", () => ctx.command("step", {}));

  function drawPhases() {
    const done = views ? PHASES.indexOf(views.phase) : -1; // "ready" = -1
    const next = views ? PHASES.indexOf(views.next_phase) : 0;
    const forget = config?.forget_zero_grad;
    ref.phases.innerHTML = PHASES.map((ph, i) => {
      const state = i === next ? "next" : i <= done ? "done" : "todo";
      const lines = CODE[ph].map((l) => `<code class="${forget && l.startsWith("optimizer.zero_grad") ? "bp-skipped" : ""}">${l}</code>`).join("");
      return `<li class="bp-phase ${state}" data-phase="${ph}"><span class="bp-phase-name">${ph}</span>${lines}</li>`;
    }).join("");
    ref.nextName.textContent = views?.next_phase ?? "forward";
    ref.forgetNote.hidden = !forget; // (said only while it is so)
    ref.zeroHint.textContent = forget
      ? "zero_grad() is skipped: each backward adds to .grad instead of replacing it."
      : "zero_grad() clears .grad before each backward.";
  }

  function render() {
    drawPhases();
    if (!views) return;
    ref.label.textContent = views.label;
    if (views.preset === "2-2-1") drawNetwork(ref.svg, views);
    else drawLine(ref.svg, views);
    ref.inputs.innerHTML = dataText(views.inputs);
    ref.forward.innerHTML = views.forward.length
      ? views.forward.map((q) => `<div><b>${esc(q.name)}</b> = ${esc(q.formula)} = ${esc(q.numbers)} = <b>${fmt(q.value)}</b></div>`).join("")
      : `<span class="hint">press “next phase” to run the forward pass</span>`;
    const l = views.loss;
    ref.loss.innerHTML = l ? `<div><b>L</b> = ${esc(l.formula)} = ${esc(l.numbers)} = <b>${fmt(l.value)}</b></div>` : `<span class="hint">after the loss phase</span>`;
    ref.lossValue.textContent = l ? fmt(l.value) : "—";
    ref.tableHint.textContent = `lr = ${fmt(config?.learning_rate)}, after the ${views.phase} phase`;
    ref.rows.innerHTML = views.params
      .map((p) => `<tr data-param="${p.name}"><th>${p.name}</th><td class="bp-value">${fmt(p.value)}</td><td class="bp-grad">${gradCell(p, views)}</td><td class="bp-chain">${chainCell(p)}</td><td class="bp-update">${updateCell(p)}</td></tr>`)
      .join("");
    state.set({ backpropPhase: views.phase });
  }

  return {
    config(c) {
      config = c;
      controls.update(c);
      render();
    },
    status(s) {
      chart.markDivergence(s.state === "diverged" ? s.step : null);
    },
    frame(f) {
      views = f.views;
      chart.apply(f.history);
      render();
    },
    unmount() {
      chart.destroy();
      state.set({ backpropPhase: undefined });
      root.replaceChildren();
    },
  };
}
