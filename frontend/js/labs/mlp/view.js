// The MLP playground view: data, network and output columns, after TensorFlow Playground.
import { buildControls, LR_LADDER, schemaEnum } from "../../controls.js";
import { LossChart } from "../../losschart.js";
import { BoundaryView, drawThumbnail } from "./boundary.js";
import { NetworkView, renderGradNorms } from "./network.js";

export const title = "Playground";
export const counter = "Epoch";

const REG_RATE_LADDER = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const pct = (v) => `${v}%`;
const FEATURE_LABELS = { x1: "X₁", x2: "X₂", x1sq: "X₁²", x2sq: "X₂²", x1x2: "X₁X₂", sinx1: "sin(X₁)", sinx2: "sin(X₂)" };

// Every control of this lab, in one table (see controls.js).
const CONTROLS = [
  { key: "learning_rate", label: "Learning rate", kind: "select", where: "hyper", options: () => LR_LADDER },
  { key: "optimizer", label: "Optimizer", kind: "select", where: "hyper" },
  { key: "activation", label: "Activation", kind: "select", where: "hyper" },
  { key: "regularization", label: "Regularization", kind: "select", where: "hyper" },
  { key: "regularization_rate", label: "Regularization rate", kind: "select", where: "hyper", options: () => REG_RATE_LADDER },
  { key: "problem", label: "Problem type", kind: "select", where: "hyper" },
  { key: "train_ratio", label: "Ratio of training to test data", kind: "range", where: "data", step: 10, format: pct },
  { key: "noise", label: "Noise", kind: "range", where: "data", step: 5, format: pct },
  { key: "batch_size", label: "Batch size", kind: "range", where: "data", step: 1, max: 30 },
];

const TEMPLATE = `
  <div class="columns">
    <section class="column data-column">
      <h2>Data</h2>
      <div class="control-label">Which dataset do you want to use?</div>
      <div class="datasets" data-ref="datasets"></div>
      <div data-ref="dataControls"></div>
      <button class="text-button" data-ref="regenerate">Regenerate</button>
    </section>
    <section class="column network-column">
      <div class="network-header">
        <h2>Features</h2>
        <div class="layers-control">
          <button class="round tiny" data-ref="addLayer" title="add a hidden layer">+</button>
          <button class="round tiny" data-ref="removeLayer" title="remove a hidden layer">−</button>
          <h2><span data-ref="layerCount">2</span> hidden layers</h2>
        </div>
      </div>
      <div class="network" data-ref="network"></div>
      <div class="grad-panel">
        <h3>Gradient norm per layer <span class="hint">‖∂L/∂W‖, last step</span></h3>
        <div class="grad-norms" data-ref="gradNorms"></div>
      </div>
    </section>
    <section class="column output-column">
      <h2>Output</h2>
      <div class="losses">
        <div>Test loss <span class="num" data-ref="testLoss">—</span></div>
        <div>Training loss <span class="num" data-ref="trainLoss">—</span></div>
        <div data-ref="accuracyLine">Test accuracy <span class="num" data-ref="testAcc">—</span></div>
      </div>
      <div class="loss-chart" data-ref="chart"></div>
      <div class="boundary-wrap">
        <canvas class="boundary" width="480" height="480" data-ref="boundary" aria-label="decision boundary"></canvas>
        <div class="axis-labels"><span>−6</span><span>0</span><span>6</span></div>
      </div>
      <div class="legend">
        <span class="swatch neg"></span> −1 <span class="gradient"></span> +1 <span class="swatch pos"></span>
        <label class="check"><input type="checkbox" data-ref="showTest"> show test data</label>
      </div>
    </section>
  </div>`;

const fmt = (v) => (v == null ? "—" : v.toFixed(3));

export async function mount(root, ctx) {
  root.innerHTML = TEMPLATE;
  const ref = Object.fromEntries([...root.querySelectorAll("[data-ref]")].map((el) => [el.dataset.ref, el]));
  const datasets = await (await fetch("/api/datasets")).json();
  const configure = (patch) => {
    // A new problem type brings its first dataset along (a circle cannot be regressed).
    if ("problem" in patch && !("dataset" in patch)) patch.dataset = datasets.find((d) => d.problem === patch.problem).name;
    ctx.configure(patch);
  };

  const controls = buildControls(CONTROLS, ctx.schema, { hyper: ctx.hyper, data: ref.dataControls }, configure);
  const features = schemaEnum(ctx.schema, "features").map((f) => [f, FEATURE_LABELS[f] || f]);
  const hiddenProp = ctx.schema.properties.hidden;
  const network = new NetworkView(ref.network, features, hiddenProp.maxItems, hiddenProp.items.maximum, configure);
  const boundary = new BoundaryView(ref.boundary);
  const chart = new LossChart(ref.chart, [
    { name: "test", key: "test_loss", color: "#111" },
    { name: "train", key: "train_loss", color: "#9aa3ad" },
  ]);
  let current = null;

  const thumbs = datasets.map((d) => {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 72;
    canvas.className = "thumb";
    canvas.title = d.name;
    canvas.dataset.dataset = d.name;
    canvas.dataset.problem = d.problem;
    canvas.addEventListener("click", () => configure({ dataset: d.name, problem: d.problem }));
    drawThumbnail(canvas, d.points);
    return canvas;
  });

  ref.regenerate.addEventListener("click", () => configure({ seed: Math.floor(Math.random() * 2 ** 31) }));
  ref.addLayer.addEventListener("click", () => network.addLayer());
  ref.removeLayer.addEventListener("click", () => network.removeLayer());
  ref.showTest.addEventListener("change", (e) => boundary.setShowTest(e.target.checked));
  const onResize = () => current && network.render(current);
  window.addEventListener("resize", onResize);

  return {
    config(config) {
      current = config;
      controls.update(config);
      network.render(config);
      ref.layerCount.textContent = config.hidden.length;
      ref.accuracyLine.hidden = config.problem !== "classification";
      ref.datasets.replaceChildren(...thumbs.filter((c) => c.dataset.problem === config.problem));
      for (const c of thumbs) c.classList.toggle("selected", c.dataset.dataset === config.dataset);
    },
    status(msg) {
      chart.markDivergence(msg.state === "diverged" ? msg.epoch : null);
    },
    frame(f) {
      ref.trainLoss.textContent = fmt(f.metrics.train_loss);
      ref.testLoss.textContent = fmt(f.metrics.test_loss);
      ref.testAcc.textContent = f.metrics.test_accuracy == null ? "—" : `${(100 * f.metrics.test_accuracy).toFixed(1)}%`;
      if (f.views.data) boundary.points = f.views.data;
      boundary.setHeatmap(f.views.boundary);
      renderGradNorms(ref.gradNorms, f.views.layers, f.views.grad_norms);
      chart.apply(f.history);
    },
    unmount() {
      window.removeEventListener("resize", onResize);
      Plotly.purge(ref.chart);
    },
  };
}
