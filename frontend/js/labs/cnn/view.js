// The convolution lab view: the setup (data, preset, blocks), the architecture table with
// shapes, formulas, parameters and receptive fields, the filters and feature maps, and the
// output: curves, draw-your-digit, confusion matrix, the most confident mistakes.
import { buildControls, CodePanel, FORK_MARKUP, ForkControl, LossChart, LR_LADDER, refs, schemaEnum, showNumber, widthOf } from "../../view/index.js";
import { DrawPad } from "./draw.js";
import { decode, paintFilters } from "./images.js";
import { MapsPanel, renderTable, tickShown } from "./layers.js";
import { renderConfusion, renderProbabilities, renderWrong } from "./output.js";

export const counter = "Epoch";

const CONTROLS = [
  { key: "dataset", kind: "select", where: "hyper" },
  { key: "learning_rate", kind: "select", where: "hyper", options: () => LR_LADDER },
  { key: "optimizer", kind: "select", where: "hyper" },
  { key: "activation", kind: "select", where: "hyper" },
  { key: "batch_size", kind: "range", where: "data", step: 1, max: 128 },
  { key: "init", kind: "select", where: "model" },
  { key: "schedule", kind: "select", where: "model" },
];

const TEMPLATE = `
  <div class="columns cnn-columns">
    <section class="column cnn-setup">
      <h2>Data</h2>
      <p class="hint" data-ref="about"></p>
      <div data-ref="data"></div>
      <h2>Network</h2>
      <label class="cnn-label" for="cnn-preset">Preset</label>
      <select id="cnn-preset" data-ref="preset"></select>
      <form data-ref="blocksForm" class="cnn-blocks">
        <label class="cnn-label" for="cnn-blocks">Blocks <span class="hint">(comma-separated)</span></label>
        <textarea id="cnn-blocks" data-ref="blocks" rows="4" spellcheck="false"></textarea>
        <button class="text-button" type="submit">Build</button>
      </form>
      <p class="hint cnn-grammar" data-ref="grammar"></p>
      <div data-ref="model"></div>
      <h3>Gradient norm per layer <span class="hint">log scale</span></h3>
      <div class="cnn-chart" data-ref="grads"></div>
    </section>
    <section class="column cnn-main">
      <h2>Architecture <span class="hint" data-ref="paramCount"></span></h2>
      <table class="cnn-table">
        <thead><tr><th title="show its filters and feature maps">show</th><th>#</th><th>block</th><th>output</th><th>(H + 2P − K)/S + 1</th><th>params</th><th>receptive field</th></tr></thead>
        <tbody data-ref="table"></tbody>
      </table>
      <h2 class="cnn-gap">Filters <span class="hint">a column per filter, a row per input channel; orange −, blue +</span></h2>
      <div class="cnn-filters" data-ref="filters"></div>
      <div class="cnn-head cnn-gap">
        <h2>Feature maps</h2>
        <div class="cnn-example">
          <button class="round tiny" data-ref="prev" aria-label="previous test image">‹</button>
          <span data-ref="exampleLabel">test image 1</span>
          <button class="round tiny" data-ref="next" aria-label="next test image">›</button>
          <button class="text-button" data-ref="back" hidden>Back to test image</button>
        </div>
      </div>
      <div class="cnn-caption" data-ref="caption">—</div>
      <div class="cnn-maps" data-ref="maps"></div>
    </section>
    <section class="column cnn-output">
      <div class="output-head"><h2>Output</h2><button class="text-button small" data-ref="showCode" title="the plain PyTorch code of this setup">&lt;/&gt; Show the code</button></div>
      <div class="losses">
        <div>Test accuracy <span class="num" data-ref="testAcc">—</span></div>
        <div>Train accuracy <span class="num" data-ref="trainAcc">—</span></div>
        <div>Test loss <span class="num" data-ref="testLoss">—</span></div>
        <div>Train loss <span class="num" data-ref="trainLoss">—</span></div>
      </div>
      <div class="cnn-chart" data-ref="loss"></div>
      <div class="saved-runs" data-ref="forkRow">${FORK_MARKUP}</div>
      <div class="cnn-chart" data-ref="accuracy"></div>
      <h3>Draw your own <span class="hint" data-ref="drawHint"></span></h3>
      <div class="cnn-draw">
        <div><canvas class="cnn-pad" data-ref="pad" aria-label="drawing pad"></canvas>
          <button class="text-button" data-ref="clear">Clear</button></div>
        <div><div class="cnn-verdict" data-ref="verdict">draw in the box</div><div class="cnn-probs" data-ref="probs"></div></div>
      </div>
      <h3>Confusion matrix <span class="hint">test set</span></h3>
      <table class="cnn-confusion" data-ref="confusion"></table>
      <h3>Most confidently wrong <span class="hint">test set</span></h3>
      <div class="cnn-wrongs" data-ref="wrong"></div>
    </section>
  </div>`;

const pct = (v) => showNumber(v, (x) => `${(100 * x).toFixed(1)}%`);
const fmt = (v) => showNumber(v, (x) => x.toFixed(3));
const GRAD_COLORS = ["#0877bd", "#e8590c", "#2b8a3e", "#ae3ec9", "#c92a2a", "#1098ad", "#8b5cf6", "#795548"];

export async function mount(root, ctx) {
  root.innerHTML = TEMPLATE;
  const ref = refs(root);
  const presets = ctx.schema["x-presets"] ?? {};
  const datasets = ctx.schema["x-datasets"] ?? {};
  const examples = ctx.schema.properties.example.exclusiveMaximum ?? 64;
  const maxShown = ctx.schema.properties.show?.maxItems ?? 4;
  ref.grammar.textContent = `Blocks: ${ctx.schema["x-grammar"] ?? ""}. The output layer is added last.`;
  ref.preset.add(new Option("custom", ""));
  for (const [name, p] of Object.entries(presets)) ref.preset.add(new Option(p.label, name));
  let current = null;
  let last = null; // the last frame's views
  let drawing = null; // the reply to the last drawing

  const controls = buildControls(CONTROLS, ctx.schema, { hyper: ctx.hyper, data: ref.data, model: ref.model }, (patch) => ctx.configure(patch));
  ref.preset.addEventListener("change", () => { if (ref.preset.value) ctx.configure({ blocks: presets[ref.preset.value].blocks }); });
  ref.blocksForm.addEventListener("submit", (e) => {
    e.preventDefault();
    ctx.configure({ blocks: ref.blocks.value.split(/[\s,]+/).filter(Boolean) });
  });
  ref.blocks.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); ref.blocksForm.requestSubmit(); } });
  ref.prev.addEventListener("click", () => current && ctx.configure({ example: (current.example + examples - 1) % examples }));
  ref.next.addEventListener("click", () => current && ctx.configure({ example: (current.example + 1) % examples }));
  // only the layers ticked under "show" travel in the frames (config.show; nothing is rebuilt)
  ref.table.addEventListener("change", (e) => {
    const box = e.target.closest("input[data-show]");
    if (!box || !current) return;
    const row = +box.dataset.show;
    const show = box.checked ? [...current.show.filter((r) => r !== row), row].sort((a, b) => a - b) : current.show.filter((r) => r !== row);
    ctx.configure({ show: show.slice(0, maxShown) });
  });
  ref.back.addEventListener("click", () => { drawing = null; ref.back.hidden = true; renderMaps(); });

  const maps = new MapsPanel(ref.maps);
  const canDraw = typeof ctx.command === "function";
  const codePanel = new CodePanel();
  ref.showCode.hidden = !canDraw;
  ref.showCode.addEventListener("click", () => ctx.command("code", {}));
  const pad = new DrawPad(ref.pad, (pixels) => { if (canDraw) ctx.command("predict", { pixels }); });
  ref.clear.addEventListener("click", () => {
    pad.clear(); drawing = null; ref.back.hidden = true;
    ref.verdict.textContent = "draw in the box"; ref.probs.innerHTML = ""; renderMaps();
  });

  const loss = new LossChart(ref.loss, [
    { name: "test loss", key: "test_loss", color: "--ink" },
    { name: "train loss", key: "train_loss", color: "--muted" },
  ], { height: 140 });
  const accuracy = new LossChart(ref.accuracy, [
    { name: "test acc", key: "test_accuracy", color: "#0877bd" },
    { name: "train acc", key: "train_accuracy", color: "#1098ad", dash: "dot" },
  ], { height: 140, yaxis: { range: [0, 1.02], tickformat: ".0%", zeroline: false } });
  // a second run on the same images: another network (from scratch) or training setting (forked here)
  const fork = new ForkControl(ref, {
    blocks: Object.values(presets).map((p) => ({ value: p.blocks, label: p.label })),
    optimizer: schemaEnum(ctx.schema, "optimizer"),
    learning_rate: LR_LADDER,
    activation: schemaEnum(ctx.schema, "activation"),
    seed: [1, 2, 3, 4, 5],
  }, ctx.command, [loss]);
  ref.forkRow.hidden = !canDraw;
  const grads = new LossChart(ref.grads, [], {
    height: 210, margin: { l: 40, r: 8, t: 8, b: 20 }, yaxis: { type: "log", nticks: 4, exponentformat: "power" },
    xaxis: { zeroline: false }, legend: { orientation: "h", x: 0, xanchor: "left", y: -0.18, yanchor: "top", font: { size: 11 } },
  });
  let gradKeys = "";

  function renderMaps() {
    if (!last) return;
    const shown = drawing ?? last.example;
    maps.render(shown, last.layers, last.size);
    const classes = last.classes;
    ref.caption.textContent = drawing
      ? `your drawing → ${classes[drawing.predicted]} (${(100 * drawing.probabilities[drawing.predicted]).toFixed(0)}%)`
      : `test image ${current ? current.example + 1 : 1}: true ${classes[shown.label]}, predicted ${classes[shown.predicted]} (${(100 * shown.probabilities[shown.predicted]).toFixed(0)}%)`;
    ref.caption.classList.toggle("wrong", !drawing && shown.label !== shown.predicted);
  }

  function renderFilters(filters, rows) {
    const width = Math.max(120, widthOf(ref.filters) / Math.min(3, filters.length || 1) - 16);
    const key = `${filters.map((f) => `${f.layer}:${f.shape}`).join(",")}|${rows.map((r) => r.kind).join()}`;
    if (key !== ref.filters.dataset.key) {
      ref.filters.dataset.key = key;
      ref.filters.innerHTML = filters.map((f) => `<figure class="cnn-bank" data-layer="${f.layer}"><figcaption>${f.layer + 1}. <code>${rows[f.layer].token}</code> <span class="hint">${f.shape[0]}×${f.shape[1]}×${f.shape[2]}×${f.shape[3]}</span></figcaption><canvas class="cnn-pixels"></canvas></figure>`).join("")
        || (rows.some((r) => r.kind === "conv" || r.kind === "res")
          ? `<p class="hint">tick a convolution under “show” in the table to see its filters</p>`
          : `<p class="hint">no convolution in this network: an MLP sees the pixels all at once</p>`);
    }
    for (const f of filters) paintFilters(ref.filters.querySelector(`figure[data-layer="${f.layer}"] canvas`), decode(f), width);
  }

  const resize = new ResizeObserver(() => { if (last) { renderFilters(last.filters, last.layers); renderMaps(); } });
  resize.observe(ref.maps);

  return {
    config(config) {
      current = config;
      controls.update(config);
      ref.blocks.value = config.blocks.join(", ");
      const match = Object.entries(presets).find(([, p]) => p.blocks.join() === config.blocks.join());
      ref.preset.value = match ? match[0] : "";
      const data = datasets[config.dataset];
      ref.about.textContent = data ? `${data.about}; ${data.size}×${data.size} pixels, ${data.classes.length} classes.` : "";
      ref.drawHint.textContent = data ? `(${data.size}×${data.size}, as the data)` : "";
      pad.setSize(data?.size ?? 8);
      ref.exampleLabel.textContent = `test image ${config.example + 1}`;
      tickShown(ref.table, config.show, maxShown);
    },
    status() {},
    frame(f) {
      const m = f.metrics;
      ref.testAcc.textContent = pct(m.test_accuracy);
      ref.trainAcc.textContent = pct(m.train_accuracy);
      ref.testLoss.textContent = fmt(m.test_loss);
      ref.trainLoss.textContent = fmt(m.train_loss);
      const v = f.views;
      last = v;
      const keys = v.layers.filter((r) => r.grad_key).map((r) => r.grad_key).join();
      if (keys !== gradKeys) {
        gradKeys = keys;
        grads.setTraces(v.layers.map((r, i) => [r, i]).filter(([r]) => r.grad_key).map(([r, i], n) => ({
          name: `${i + 1}. ${r.token}`, key: r.grad_key, color: GRAD_COLORS[n % GRAD_COLORS.length], width: 1.5,
        })));
      }
      for (const chart of [loss, accuracy, grads]) chart.apply(f.history);
      fork.frame(v);
      ref.paramCount.textContent = `${v.parameters.toLocaleString("en")} parameters`;
      renderTable(ref.table, v.layers, v.size, current?.show ?? []);
      renderFilters(v.filters, v.layers);
      renderMaps();
      renderConfusion(ref.confusion, v.confusion, v.classes);
      renderWrong(ref.wrong, v.wrong, v.classes, v.size);
    },
    reply(msg) {
      if (msg.name === "code") codePanel.show(msg);
      if (fork.reply(msg) || msg.name !== "predict" || !last) return;
      drawing = msg;
      ref.back.hidden = false;
      ref.verdict.innerHTML = `prediction: <strong>${last.classes[msg.predicted]}</strong>`;
      renderProbabilities(ref.probs, msg.probabilities, last.classes, msg.predicted, null);
      renderMaps();
    },
    unmount() {
      resize.disconnect();
      codePanel.destroy();
      for (const chart of [loss, accuracy, grads]) chart.destroy();
    },
  };
}
