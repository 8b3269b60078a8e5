// The recurrent lab view: setup column; the inside of the network on a held-out sequence
// (hidden state, gates, cell state: time x unit heatmaps) and the BPTT view (||dL/dh_t||
// along time); the curves, the clipping trace, predictions vs targets and a text sample.
// (Its layout reuses the attention lab's column classes of the page's stylesheet, so embed and
// projector modes apply.)
import { buildControls, CHART_BASE as BASE, CodePanel, FORK_MARKUP, fixed, ForkControl, labelOf, LossChart, LR_LADDER, percent, Plotly, refs, schemaEnum } from "../../view/index.js";
import { decodeGrid, heatmap, rowZ } from "./grids.js";
import { BpttChart, ClipChart, LOG_AXIS, logAxis, PredictionChart } from "./charts.js";

export const counter = "Epoch";

const CONTROLS = [
  { key: "task", kind: "select", where: "hyper" },
  { key: "cell", kind: "select", where: "hyper" },
  { key: "learning_rate", kind: "select", where: "hyper", options: () => LR_LADDER },
  { key: "optimizer", kind: "select", where: "hyper" },
  { key: "length", kind: "range", where: "data", step: 1 },
  { key: "symbols", kind: "range", where: "data", step: 1 },
  { key: "batch_size", kind: "range", where: "data", step: 1 },
  { key: "nonlinearity", kind: "select", where: "model" },
  { key: "layers", kind: "range", where: "model", step: 1 },
  { key: "hidden", kind: "range", where: "model", step: 1 },
  { key: "forget_bias", kind: "select", where: "model", options: () => [0, 1, 2, 3, 5] },
  { key: "bidirectional", kind: "check", where: "model" },
  { key: "bptt", kind: "range", where: "train", step: 1 },
  { key: "carry_state", kind: "check", where: "train" },
  { key: "clip", kind: "check", where: "train" },
  { key: "max_norm", kind: "select", where: "train", options: () => [0.1, 0.25, 0.5, 1, 2, 5, 10, 100] },
  { key: "temperature", kind: "select", where: "train", options: () => [0.2, 0.5, 0.7, 1, 1.5, 2] },
];

const TEMPLATE = `
  <div class="columns attn-columns rnn-columns">
    <section class="column attn-setup">
      <h2>Data</h2><div data-ref="data"></div>
      <h2>Model</h2><div data-ref="model"></div>
      <h2>Training</h2><div data-ref="train"></div>
      <p class="hint" data-ref="note"></p>
    </section>
    <section class="column attn-main">
      <div class="attn-head">
        <h2>Inside the <span data-ref="cellName">GRU</span></h2>
        <div class="attn-example">
          <label>layer <select data-ref="layer"></select></label>
          <button class="round tiny" data-ref="prev" aria-label="previous example">‹</button>
          <span data-ref="exampleLabel">example 1</span>
          <button class="round tiny" data-ref="next" aria-label="next example">›</button>
        </div>
      </div>
      <div class="attn-caption rnn-inputs" data-ref="inputs">—</div>
      <h3>Hidden state h<sub>t</sub> <span class="hint">held-out sequence; unit × time</span></h3>
      <div class="rnn-heat" data-ref="hidden"></div>
      <h3 data-ref="gatesTitle">Gates <span class="hint">sigmoid gates in 0–1, candidate (tanh) in −1–1</span></h3>
      <div class="rnn-gates" data-ref="gates"></div>
      <h3>BPTT: ‖∂L/∂h<sub>t</sub>‖ at each step <span class="hint">log scale; decay toward t = 0 = vanishing, growth = exploding</span></h3>
      <div class="attn-chart rnn-bptt" data-ref="bptt"></div>
    </section>
    <section class="column attn-output">
      <h2>Output</h2>
      <div class="losses">
        <div>Test loss <span class="num" data-ref="testLoss">—</span></div>
        <div>Training loss <span class="num" data-ref="trainLoss">—</span></div>
        <div data-ref="accBox">Accuracy <span class="num" data-ref="acc">—</span></div>
      </div>
      <h3>Loss <button class="text-button small" data-ref="showCode" title="the plain PyTorch code of this setup">&lt;/&gt; Show the code</button></h3><div class="attn-chart" data-ref="loss"></div>
      <div class="saved-runs" data-ref="forkRow">${FORK_MARKUP}</div>
      <h3>Predictions vs targets <span class="hint" data-ref="predictionHint">the held-out sequence</span></h3>
      <div class="attn-chart" data-ref="prediction"></div>
      <div class="rnn-sample" data-ref="sample" hidden></div>
      <h3>Gradient norm <span class="hint">per step, before and after clipping</span></h3>
      <div class="attn-chart" data-ref="clip"></div>
      <h3>Weight gradient per layer <span class="hint">mean norm per epoch</span></h3>
      <div class="attn-chart" data-ref="layerGrads"></div>
    </section>
  </div>`;

const STYLE = `
.rnn-heat { width: 100%; }
.rnn-columns .attn-chart[data-ref=loss] { height: auto; } /* its box fits the plot: the fork row below stays clickable */
.rnn-gates { display: grid; grid-template-columns: 1fr 1fr; gap: 0 0.4rem; }
.rnn-inputs { overflow-x: auto; white-space: nowrap; }
.rnn-sample { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.82rem; padding: 0.3rem 0.5rem; border: 1px solid var(--line); border-radius: 6px; margin: 0.3rem 0 0.6rem; word-break: break-word; }
.rnn-sample b { color: #0877bd; }
.attn-setup .control-check { margin: 0.35rem 0; font-size: 0.85rem; }
`;

const LAYER_COLORS = ["#1c7ed6", "#e8590c", "#2b8a3e", "#ae3ec9"];
// the main picture: at least 40% of an embed 600 px high, and 200 px on a laptop screen
const HIDDEN_HEIGHT = 240;

export async function mount(root, ctx) {
  root.innerHTML = TEMPLATE;
  const style = document.createElement("style");
  style.textContent = STYLE;
  root.prepend(style);
  const ref = refs(root);
  const tasks = ctx.schema.tasks || {};
  const examples = ctx.schema.properties.example.exclusiveMaximum ?? 16;
  let current = null;
  let resync = null;
  const configure = (patch) => {
    if (current && "task" in patch && !(tasks[patch.task] || {}).bidirectional && current.bidirectional) patch.bidirectional = false;
    if (current && "length" in patch && current.bptt > patch.length) patch.bptt = 0;
    if (current && "layers" in patch && current.view_layer > patch.layers) patch.view_layer = 1;
    ctx.configure(patch);
    clearTimeout(resync);
    resync = setTimeout(() => current && applyConfig(current), 800);
  };
  const controls = buildControls(CONTROLS, ctx.schema, { hyper: ctx.hyper, data: ref.data, model: ref.model, train: ref.train }, configure);
  ref.prev.addEventListener("click", () => configure({ example: (current.example + examples - 1) % examples }));
  ref.next.addEventListener("click", () => configure({ example: (current.example + 1) % examples }));
  ref.layer.addEventListener("change", () => configure({ view_layer: Number(ref.layer.value) }));

  const LOSSES = [{ name: "test", key: "test_loss", color: "--ink" }, { name: "train", key: "train_loss", color: "--muted" }];
  const ACCURACY = { name: "accuracy", key: "test_accuracy", color: "#0877bd", axis: "y2", width: 1.5 };
  const loss = new LossChart(ref.loss, [...LOSSES, ACCURACY],
    { ...BASE, yaxis2: { overlaying: "y", side: "right", range: [0, 1.02], tickvals: [0, 0.5, 1], tickformat: ".0%", zeroline: false, showgrid: false } });
  let regression = null;
  const layerGrads = new LossChart(ref.layerGrads, [], { ...BASE, yaxis: LOG_AXIS });
  const bptt = new BpttChart(ref.bptt);
  // a second run on the same sequences: another cell or size (from scratch), or a training setting (forked here)
  const canCommand = typeof ctx.command === "function";
  const fork = new ForkControl(ref, {
    cell: schemaEnum(ctx.schema, "cell").map((c) => ({ value: c, label: labelOf(ctx.schema, "cell", c) })),
    learning_rate: LR_LADDER,
    optimizer: schemaEnum(ctx.schema, "optimizer"),
    hidden: [8, 16, 32, 64],
    clip: [true, false],
    forget_bias: [0, 1, 3, 5],
  }, ctx.command, [loss]);
  ref.forkRow.hidden = !canCommand;
  const codePanel = new CodePanel();
  ref.showCode.hidden = !canCommand;
  ref.showCode.addEventListener("click", () => ctx.command("code", {}));
  let twin = null; // the second run's view (its label and BPTT norms)
  const clip = new ClipChart(ref.clip);
  const prediction = new PredictionChart(ref.prediction);
  let layerKeys = "";
  let inside = null;

  const drawInside = () => {
    if (!inside || !current) return;
    const h = inside.hidden;
    const bounded = h.encoding === "base64-uint8";
    const hv = decodeGrid(h);
    heatmap(ref.hidden, rowZ(hv, h.shape, 0), { zmin: bounded ? -1 : undefined, zmax: bounded ? 1 : undefined, height: HIDDEN_HEIGHT });
    const panels = [];
    if (inside.gates) {
      const gv = decodeGrid(inside.gates);
      inside.gate_names.forEach((name, r) => panels.push([name, rowZ(gv, inside.gates.shape, r), name === "candidate" ? -1 : 0, 1]));
    }
    if (inside.cell) {
      const cv = decodeGrid(inside.cell);
      const top = Math.max(1e-6, ...Array.from(cv, (v) => (Number.isFinite(v) ? Math.abs(v) : 0)));
      panels.push(["cell state c", rowZ(cv, inside.cell.shape, 0), -top, top]);
    }
    ref.gatesTitle.hidden = panels.length === 0;
    while (ref.gates.children.length > panels.length) ref.gates.lastChild.remove();
    panels.forEach(([name, z, zmin, zmax], i) => {
      let el = ref.gates.children[i];
      if (!el) { el = document.createElement("div"); el.className = "rnn-gate"; ref.gates.append(el); }
      el.dataset.gate = name;
      heatmap(el, z, { zmin, zmax, title: name, height: 130, showscale: false,
        colorscale: zmin === 0 ? [[0, "rgba(140,140,140,0.08)"], [1, "#2b8a3e"]] : undefined });
    });
  };
  document.addEventListener("descent-theme", drawInside);

  function applyConfig(config) {
    controls.update(config);
    const meta = tasks[config.task] || {};
    const show = (where, key, on) => { const box = ref[where].querySelector(`[data-key="${key}"]`); if (box) box.hidden = !on; };
    show("data", "symbols", !!meta.uses_symbols);
    show("model", "nonlinearity", config.cell === "rnn");
    show("model", "forget_bias", config.cell === "lstm");
    show("model", "bidirectional", !!meta.bidirectional);
    show("train", "max_norm", config.clip);
    show("train", "temperature", config.task === "text");
    ref.train.querySelector("#ctl-bptt").max = config.length;
    ref.cellName.textContent = labelOf(ctx.schema, "cell", config.cell);
    if (regression !== (config.task === "sine")) { // a regressor has no accuracy
      regression = config.task === "sine";
      loss.setTraces(regression ? LOSSES : [...LOSSES, ACCURACY]);
      ref.predictionHint.textContent = regression ? "the held-out sequence: next value"
        : "held-out sequence; bars: probability of the target (green: predicted right), label: the prediction";
    }
    ref.layer.replaceChildren(...Array.from({ length: config.layers }, (_, i) => new Option(String(i + 1), String(i + 1))));
    ref.layer.value = String(config.view_layer);
    ref.exampleLabel.textContent = `example ${config.example + 1} of ${examples}`;
    ref.note.textContent = config.task === "delay"
      ? `The answer is the first symbol, due ${config.length - 1} steps later, after distracting symbols. Chance is ${percent(1 / config.symbols)}.`
      : "An epoch is 20 batches of fresh sequences; the metrics are measured on held-out ones.";
  }

  return {
    config(config) {
      clearTimeout(resync);
      current = config;
      applyConfig(config);
    },
    status() {},
    reply(msg) {
      if (msg.name === "code") codePanel.show(msg);
      fork.reply(msg);
    },
    frame(f) {
      const m = f.metrics;
      ref.testLoss.textContent = fixed(m.test_loss, 4);
      ref.trainLoss.textContent = fixed(m.train_loss, 4);
      ref.acc.textContent = m.test_accuracy == null ? "—" : percent(m.test_accuracy);
      ref.accBox.hidden = !!regression;
      const v = f.views;
      if (v.layer_grads.join() !== layerKeys) {
        layerKeys = v.layer_grads.join();
        layerGrads.setTraces(v.layer_grads.map((key, i) => ({
          name: key === "grad_head" ? "head" : `layer ${key.split("_")[1]}`, key, color: LAYER_COLORS[i % LAYER_COLORS.length], width: 1.5,
        })));
      }
      for (const chart of [loss, layerGrads]) chart.apply(f.history);
      layerGrads.layout.yaxis = logAxis(v.layer_grads.flatMap((key) => layerGrads.ys[key] ?? [])); // (its next redraw)
      inside = v.inside;
      drawInside();
      fork.frame(v);
      if ("fork" in v) twin = v.fork?.views?.bptt ? v.fork : null;
      bptt.render(v.bptt, current?.length ?? 0, twin);
      clip.render(v.clip, current?.clip ? current.max_norm : null);
      prediction.render(v.prediction);
      const p = v.prediction;
      ref.inputs.textContent = `input: ${p.inputs.map((s) => (typeof s === "number" ? s.toFixed(2) : s === " " ? "␣" : s)).join(" ")}`;
      ref.sample.hidden = v.sample == null;
      if (v.sample != null) {
        const prompt = p.inputs.join("");
        ref.sample.innerHTML = "";
        const b = document.createElement("b");
        b.textContent = "sampled → ";
        ref.sample.append(document.createTextNode(prompt.slice(-24)), b, document.createTextNode(v.sample));
      }
    },
    unmount() {
      clearTimeout(resync);
      document.removeEventListener("descent-theme", drawInside);
      codePanel.destroy();
      for (const chart of [loss, layerGrads]) chart.destroy();
      for (const el of [ref.bptt, ref.clip, ref.prediction, ref.hidden, ...ref.gates.children]) Plotly.purge(el);
    },
  };
}
