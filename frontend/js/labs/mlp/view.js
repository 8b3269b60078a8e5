// The MLP playground view: data, network and output columns, after TensorFlow Playground.
import { CodePanel } from "../../codepanel.js";
import { GradHeatmap } from "../../gradheatmap.js";
import { drawActivation, drawHistogram } from "../../histogram.js";
import { pageOptions, setPageOption } from "../../hash.js";
import { Pacer } from "../../pace.js";
import { ScheduleChart } from "../../schedulechart.js";
import { classColor } from "../../colors.js";
import {
  buildControls, fixed, fullLabelOf, labelOf, LossChart, LR_LADDER, percent, Plotly, refs, schemaEnum, showNumber, usesOf,
} from "../../view/index.js";
import { BoundaryView, drawThumbnail } from "./boundary.js";
import { NetworkView, renderGradNorms } from "./network.js";

export const counter = "Epoch";

const REG_RATE_LADDER = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const inPercent = (v) => `${v}%`;
const DROPOUT_LADDER = [0, 0.1, 0.2, 0.3, 0.5];

// Every control of this lab, in one table (see controls.js).
const CONTROLS = [
  { key: "learning_rate", kind: "select", where: "hyper", options: () => LR_LADDER },
  { key: "optimizer", kind: "select", where: "hyper" },
  { key: "schedule", kind: "select", where: "hyper" },
  { key: "activation", kind: "select", where: "hyper" },
  { key: "regularization", kind: "select", where: "hyper" },
  { key: "regularization_rate", kind: "select", where: "hyper", options: () => REG_RATE_LADDER },
  { key: "problem", kind: "select", where: "hyper" },
  { key: "train_ratio", kind: "range", where: "data", step: 10, format: inPercent },
  { key: "noise", kind: "range", where: "data", step: 5, format: inPercent },
  { key: "classes", kind: "range", where: "data", step: 1 }, // shown for multiclass only
  { key: "batch_size", kind: "range", where: "data", step: 1, max: 30 },
  // the network's building blocks (data column)
  { key: "init", kind: "select", where: "build" },
  { key: "init_scale", kind: "number", where: "build" },
  { key: "init_value", kind: "number", where: "build" },
  { key: "loss", kind: "select", where: "build" },
  { key: "norm", kind: "select", where: "build" },
  { key: "dropout", kind: "select", where: "build", options: () => DROPOUT_LADDER },
  // schedule and optimizer hyper-parameters (output column); each shown only where it is used
  { key: "schedule_steps", kind: "number", where: "sched" },
  { key: "step_size", kind: "number", where: "sched" },
  { key: "milestones", kind: "list", where: "sched" },
  { key: "gamma", kind: "number", where: "sched" },
  { key: "factor", kind: "number", where: "sched" },
  { key: "min_lr", kind: "number", where: "sched" },
  { key: "power", kind: "number", where: "sched" },
  { key: "warmup_steps", kind: "number", where: "sched" },
  { key: "div_factor", kind: "number", where: "sched" },
  { key: "final_div_factor", kind: "number", where: "sched" },
  { key: "momentum", kind: "number", where: "optim" },
  { key: "beta1", kind: "number", where: "optim" },
  { key: "beta2", kind: "number", where: "optim" },
  { key: "rho", kind: "number", where: "optim" },
  { key: "eps", kind: "number", where: "optim" },
  { key: "weight_decay", kind: "number", where: "optim" },
  { key: "bias_correction", kind: "check", where: "optim" },
];
// Which choice decides whether a parameter control shows (x-uses in the schema).
const USED_BY = { build: "init", sched: "schedule", optim: "optimizer" };
const ALWAYS = new Set(["init", "loss", "norm", "dropout", "schedule_steps"]);

const TEMPLATE = `
  <div class="columns">
    <section class="column data-column">
      <h2>Data</h2>
      <div class="control-label">Which dataset do you want to use?</div>
      <div class="datasets" data-ref="datasets" data-control="dataset"></div>
      <div data-ref="dataControls"></div>
      <button class="text-button" data-ref="regenerate" data-control="seed">Regenerate</button>
      <h2 class="section-gap">Network</h2>
      <div class="param-grid" data-ref="buildControls"></div>
      <h3>Activation <span class="hint">f (solid) and f′ (dashed)</span></h3>
      <canvas class="activation-plot" data-ref="activation" aria-label="activation and its derivative"></canvas>
    </section>
    <section class="column network-column">
      <div class="network-header">
        <h2>Features</h2>
        <div class="layers-control" data-control="hidden">
          <button class="round tiny" data-ref="addLayer" title="add a hidden layer">+</button>
          <button class="round tiny" data-ref="removeLayer" title="remove a hidden layer">−</button>
          <h2><span data-ref="layerCount">2</span> hidden layers</h2>
        </div>
      </div>
      <div class="network" data-ref="network"></div>
      <div class="grad-panel">
        <h3>Gradient norm per layer <span class="hint">‖∂L/∂W‖, last step</span></h3>
        <div class="grad-norms" data-ref="gradNorms"></div>
        <h3>Update / weight per layer <span class="hint">‖ΔW‖/‖W‖ of one step (≈1e-3 is healthy)</span></h3>
        <div class="grad-norms" data-ref="ratios"></div>
        <h3>Gradient norm, layer × step <span class="hint">log₁₀, sampled each frame</span></h3>
        <div class="grad-heatmap" data-ref="heatmap"></div>
        <h3>Histograms of <select data-ref="histLayer" aria-label="layer for the histograms"></select></h3>
        <div class="histograms">
          <canvas data-ref="histWeights" aria-label="weight histogram"></canvas>
          <canvas data-ref="histGrads" aria-label="gradient histogram"></canvas>
        </div>
        <h3>Optimizer state <span class="hint" data-ref="stateHint">per layer</span></h3>
        <div data-ref="optState"></div>
      </div>
    </section>
    <section class="column output-column">
      <div class="output-head"><h2>Output</h2><button class="text-button small" data-ref="showCode" title="the plain PyTorch code of this setup">&lt;/&gt; Show the code</button></div>
      <div class="losses">
        <div>Test loss <span class="num" data-ref="testLoss">—</span></div>
        <div>Training loss <span class="num" data-ref="trainLoss">—</span></div>
        <div data-ref="accuracyLine">Test accuracy <span class="num" data-ref="testAcc">—</span></div>
      </div>
      <div class="loss-chart" data-ref="chart"></div>
      <div class="saved-runs">
        <span class="fork-form" data-ref="forkForm" hidden>fork with
          <select data-ref="forkKey" aria-label="the setting the fork changes"></select>
          <select data-ref="forkValue" aria-label="its value in the fork"></select>
          <button class="text-button small" data-ref="forkGo">start</button></span>
        <button class="text-button small" data-ref="forkButton" title="a second run from this point, on the same batches, with one setting changed">Fork…</button>
        <button class="text-button small" data-ref="unfork" hidden>End fork</button>
        <button class="text-button small" data-ref="saveRun" title="keep this run's test-loss curve on the chart, to compare with the next">Save this run</button>
        <button class="text-button small" data-ref="clearRuns" hidden>Clear saved</button>
        <label class="check log-scale" data-control="log_loss"><input type="checkbox" data-ref="logLoss"> log scale</label></div>
      <div class="boundary-wrap">
        <canvas class="boundary" width="480" height="480" data-ref="boundary" aria-label="decision boundary"></canvas>
        <div class="axis-labels"><span>−6</span><span class="hover-note" data-ref="hoverNote"></span><span>6</span></div>
      </div>
      <div class="legend">
        <span class="legend-scale" data-ref="valueLegend"><span class="swatch neg"></span> −1 <span class="gradient"></span> +1 <span class="swatch pos"></span></span>
        <span class="legend-scale" data-ref="classLegend" hidden></span>
        <label class="check" data-control="show_test"><input type="checkbox" data-ref="showTest"> show test data</label>
        <label class="check" data-control="discretize"><input type="checkbox" data-ref="discretize"> discretize output</label>
      </div>
      <div class="draw-tools" data-control="drawn">
        <span>Draw points:</span>
        <span class="draw-classes" data-ref="drawClasses"></span>
        <button class="text-button small" data-ref="clearDrawn">clear</button>
        <span class="hint num" data-ref="drawnCount"></span>
      </div>
      <h3>Learning rate <span class="hint">the whole schedule; the red dot is now (<span class="num" data-ref="lrNow">—</span>)</span></h3>
      <div class="schedule-chart" data-ref="schedule"></div>
      <div class="param-grid" data-ref="schedControls"></div>
      <h3>Optimizer <span class="hint" data-ref="optLabel"></span></h3>
      <div class="param-grid" data-ref="optControls"></div>
    </section>
  </div>`;


// "adam, lr 0.1, spiral": the settings that differ from the defaults, for a saved run's legend.
function runLabel(config, schema) {
  const parts = [];
  for (const [key, value] of Object.entries(config)) {
    const base = schema.properties[key]?.default;
    if (key === "lab" || key === "seed" || JSON.stringify(value) === JSON.stringify(base)) continue;
    parts.push(key === "learning_rate" ? `lr ${value}` : typeof value === "string" ? value : `${key} ${value}`);
  }
  return `saved: ${parts.join(", ") || "default"}`.slice(0, 60);
}

export async function mount(root, ctx) {
  root.innerHTML = TEMPLATE;
  const ref = refs(root);
  const datasets = await (await fetch("/api/datasets")).json();
  const configure = (patch) => {
    // A new problem type brings its first dataset along (a circle cannot be regressed).
    if ("problem" in patch && !("dataset" in patch)) patch.dataset = datasets.find((d) => d.problem === patch.problem).name;
    // points drawn on one dataset do not belong to another
    if ("dataset" in patch && current && patch.dataset !== current.dataset && !("drawn" in patch)) patch.drawn = [];
    ctx.configure(patch);
  };

  const containers = { hyper: ctx.hyper, data: ref.dataControls, build: ref.buildControls, sched: ref.schedControls, optim: ref.optControls };
  const controls = buildControls(CONTROLS, ctx.schema, containers, configure);
  // Show only the parameters the chosen optimizer / schedule / initializer reads.
  const showUsed = (config) => {
    for (const [where, choice] of Object.entries(USED_BY)) {
      const used = new Set(usesOf(ctx.schema, choice, config[choice]));
      for (const box of containers[where].querySelectorAll(".control")) {
        box.hidden = !(ALWAYS.has(box.dataset.key) || used.has(box.dataset.key));
      }
    }
  };
  const features = schemaEnum(ctx.schema, "features").map((f) => [f, labelOf(ctx.schema, "features", f)]);
  const hiddenProp = ctx.schema.properties.hidden;
  const boundary = new BoundaryView(ref.boundary);
  const network = new NetworkView(ref.network, features, hiddenProp.maxItems, hiddenProp.items.maximum, configure, {
    // hovering a neuron shows its output in the main heatmap
    onHoverNeuron(map) {
      boundary.setOverride(map);
      ref.hoverNote.textContent = map ? `showing ${map.label} (${map.note ?? `colour range ±${map.scale}`})` : "";
    },
    onEdit: (args) => ctx.command("set_weight", args),
  });
  const chart = new LossChart(ref.chart, [
    { name: "test", key: "test_loss", color: "--ink" }, // the theme's ink: near-black, or near-white on dark
    { name: "train", key: "train_loss", color: "--muted" },
    // the LR the schedule gave at each epoch's end, on its own scale, same epoch axis as the loss
    { name: "lr", key: "lr", color: "#d62728", dash: "dot", width: 1.5, axis: "y2" },
  ], {
    margin: { l: 44, r: 44, t: 24, b: 30 },
    // an embedded page shares its frame's height: the chart takes a fifth of it
    height: document.body.classList.contains("embed") ? Math.max(80, Math.min(150, Math.round(innerHeight * 0.2))) : 150,
    showlegend: !document.body.classList.contains("embed") || innerHeight >= 560,
    yaxis2: { overlaying: "y", side: "right", rangemode: "tozero", showgrid: false, zeroline: false,
              exponentformat: "power", tickfont: { color: "#d62728", size: 10 } },
  });
  // Saved runs: the test-loss curve, labelled with how the setup differs from the default.
  ref.saveRun.addEventListener("click", () => {
    chart.save("test_loss", runLabel(current, ctx.schema));
    ref.clearRuns.hidden = false;
  });
  ref.clearRuns.addEventListener("click", () => { chart.clearSaved(); ref.clearRuns.hidden = true; });
  ref.clearRuns.hidden = !chart.keepSavedIn("descent.saved-runs"); // saved runs outlive a reload
  // Fork and compare: which setting the fork changes, and to what.
  const forkChoices = {
    optimizer: schemaEnum(ctx.schema, "optimizer"),
    learning_rate: LR_LADDER,
    schedule: schemaEnum(ctx.schema, "schedule"),
    regularization: schemaEnum(ctx.schema, "regularization"),
  };
  ref.forkKey.replaceChildren(...Object.keys(forkChoices).map((k) => new Option(k.replace("_", " "), k)));
  const fillForkValues = () => {
    ref.forkValue.replaceChildren(...forkChoices[ref.forkKey.value].map((v) => new Option(String(v), String(v))));
  };
  fillForkValues();
  ref.forkKey.addEventListener("change", fillForkValues);
  ref.forkButton.addEventListener("click", () => { ref.forkForm.hidden = !ref.forkForm.hidden; });
  ref.forkGo.addEventListener("click", () => {
    const key = ref.forkKey.value;
    const value = key === "learning_rate" ? Number(ref.forkValue.value) : ref.forkValue.value;
    ctx.command("fork", { patch: { [key]: value } });
  });
  ref.unfork.addEventListener("click", () => ctx.command("unfork", {}));
  const schedule = new ScheduleChart(ref.schedule);
  const heatmap = new GradHeatmap(ref.heatmap);
  let histLayer = 0;
  const histPacer = new Pacer();
  let lastHistograms = null;
  const drawHistograms = () => {
    const h = lastHistograms?.[histLayer];
    if (!h) return;
    drawHistogram(ref.histWeights, h.weights, "#0877bd", "weights");
    drawHistogram(ref.histGrads, h.grads, "#f59322", "gradients");
  };
  ref.histLayer.addEventListener("change", () => { histLayer = Number(ref.histLayer.value); drawHistograms(); });
  let lastActivation = null;
  const onTheme = () => { drawHistograms(); if (lastActivation) drawActivation(ref.activation, lastActivation); }; // canvases take the new colours
  document.addEventListener("descent-theme", onTheme);
  let current = null;

  const thumbs = datasets.map((d) => {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 72;
    canvas.className = "thumb";
    canvas.title = labelOf(ctx.schema, "dataset", d.name);
    canvas.dataset.dataset = d.name;
    canvas.dataset.problem = d.problem;
    canvas.addEventListener("click", () => configure({ dataset: d.name, problem: d.problem }));
    drawThumbnail(canvas, d.points, d.problem);
    return canvas;
  });

  // The multiclass previews show as many classes as the run has: redrawn when that changes.
  let previewClasses = ctx.schema.properties.classes.default; // what /api/datasets gave above
  const drawPreviews = async (classes) => {
    previewClasses = classes;
    const fresh = await (await fetch(`/api/datasets?classes=${classes}`)).json();
    if (classes !== previewClasses) return; // a later change overtook this one
    for (const d of fresh.filter((f) => f.problem === "multiclass")) {
      const canvas = thumbs.find((c) => c.dataset.dataset === d.name);
      if (!canvas) continue;
      drawThumbnail(canvas, d.points, d.problem);
      canvas.dataset.classes = classes;
    }
  };

  ref.regenerate.addEventListener("click", () => configure({ seed: Math.floor(Math.random() * 2 ** 31) }));
  ref.addLayer.addEventListener("click", () => network.addLayer());
  ref.removeLayer.addEventListener("click", () => network.removeLayer());
  const codePanel = new CodePanel();
  ref.showCode.addEventListener("click", () => ctx.command("code", {}));
  // page toggles, kept in the hash so a link shows the same
  const page = pageOptions();
  for (const [key, el, apply] of [["show_test", ref.showTest, (on) => boundary.setShowTest(on)],
                                  ["discretize", ref.discretize, (on) => boundary.setDiscretize(on)],
                                  ["log_loss", ref.logLoss, (on) => chart.setLogScale(on)]]) {
    el.checked = page[key] === "true";
    apply(el.checked);
    el.addEventListener("change", () => { apply(el.checked); setPageOption(key, el.checked && "true"); });
  }
  // Draw your own data: pick a class, click the plane; the points join the training set.
  // The classes: -1 and +1, or the k classes of a multiclass run (in their colours).
  const maxDrawn = ctx.schema.properties.drawn.maxItems / 3;
  let drawClass = null;
  const pickClass = (label) => {
    drawClass = drawClass === label ? null : label;
    for (const b of ref.drawClasses.children) b.setAttribute("aria-pressed", String(Number(b.dataset.label) === drawClass));
    ref.boundary.classList.toggle("drawing", drawClass !== null);
  };
  const showClasses = (config) => { // the class chooser for drawing and the colour legend
    const multi = config.problem === "multiclass";
    const key = multi ? `classes ${config.classes}` : "binary";
    if (ref.drawClasses.dataset.key === key) return;
    ref.drawClasses.dataset.key = key;
    const labels = multi ? Array.from({ length: config.classes }, (_, c) => c) : [-1, 1];
    ref.drawClasses.replaceChildren(...labels.map((label) => {
      const b = document.createElement("button");
      const text = multi ? String(label) : label < 0 ? "−1" : "+1";
      b.className = `draw-class${multi ? "" : label < 0 ? " neg" : " pos"}`;
      if (multi) b.style.background = classColor(label);
      else b.dataset.ref = label < 0 ? "drawNeg" : "drawPos";
      b.dataset.label = label;
      b.setAttribute("aria-pressed", "false");
      b.title = `click the plane to add ${multi ? "class " : ""}${text} points`;
      b.textContent = text;
      b.addEventListener("click", () => pickClass(label));
      return b;
    }));
    drawClass = null;
    ref.boundary.classList.remove("drawing");
    // the colour legend: the classes, or the diverging scale
    ref.valueLegend.hidden = multi;
    ref.classLegend.hidden = !multi;
    ref.classLegend.replaceChildren(...(multi ? labels : []).map((c) => {
      const item = document.createElement("span");
      item.className = "class-item";
      item.dataset.class = c;
      item.innerHTML = `<span class="swatch"></span> class ${c}`;
      item.firstChild.style.background = classColor(c);
      return item;
    }));
    if (multi) ref.classLegend.insertAdjacentHTML("beforeend", `<span class="hint">pale = unsure</span>`);
  };
  // Losses that do not apply to the problem are greyed out in the loss list.
  const lossProblems = ctx.schema.properties.loss["x-problems"] ?? {};
  const lossSelect = containers.build.querySelector("#ctl-loss");
  const classesControl = containers.data.querySelector('[data-key="classes"]');
  ref.boundary.addEventListener("click", (e) => {
    if (drawClass === null || !current) return;
    const r = ref.boundary.getBoundingClientRect();
    const extent = 6;
    const x1 = ((e.clientX - r.left) / r.width) * 2 * extent - extent;
    const x2 = extent - ((e.clientY - r.top) / r.height) * 2 * extent;
    const round = (v) => Math.round(Math.max(-extent, Math.min(extent, v)) * 100) / 100;
    // past the limit the server refuses with a message naming it; nothing drawn is lost
    configure({ drawn: [...current.drawn, round(x1), round(x2), drawClass] });
  });
  ref.clearDrawn.addEventListener("click", () => configure({ drawn: [] }));
  const onResize = () => current && network.render(current);
  window.addEventListener("resize", onResize);

  return {
    reply(msg) {
      if (msg.name === "set_weight") ctx.toast(`Set the ${msg.kind} to ${msg.value}; training goes on from it.`, "info");
      if (msg.name === "code") codePanel.show(msg);
      if (msg.name === "fork" || msg.name === "unfork") {
        ref.forkForm.hidden = true;
        ref.unfork.hidden = !msg.label;
      }
    },
    config(config) {
      current = config;
      controls.update(config);
      network.render(config);
      ref.layerCount.textContent = config.hidden.length;
      showUsed(config);
      ref.optLabel.textContent = fullLabelOf(ctx.schema, "optimizer", config.optimizer);
      const layerCount = config.hidden.length + 1;
      if (ref.histLayer.options.length !== layerCount) {
        ref.histLayer.replaceChildren(...Array.from({ length: layerCount }, (_, i) => new Option(`layer ${i + 1}`, i)));
        histLayer = Math.min(histLayer, layerCount - 1);
        ref.histLayer.value = histLayer;
      }
      ref.accuracyLine.hidden = !["classification", "multiclass"].includes(config.problem);
      showClasses(config);
      boundary.setProblem(config.problem);
      classesControl.hidden = config.problem !== "multiclass";
      for (const option of lossSelect?.options ?? []) option.disabled = !(lossProblems[option.value] ?? [config.problem]).includes(config.problem);
      ref.drawnCount.textContent = `${config.drawn.length / 3} / ${maxDrawn} drawn`;
      ref.datasets.replaceChildren(...thumbs.filter((c) => c.dataset.problem === config.problem));
      if (config.problem === "multiclass" && config.classes !== previewClasses) drawPreviews(config.classes);
      for (const c of thumbs) c.classList.toggle("selected", c.dataset.dataset === config.dataset);
    },
    status(msg) {
      chart.markDivergence(msg.state === "diverged" ? msg.epoch : null);
    },
    frame(f) {
      ref.trainLoss.textContent = fixed(f.metrics.train_loss);
      ref.testLoss.textContent = fixed(f.metrics.test_loss);
      ref.testAcc.textContent = percent(f.metrics.test_accuracy);
      if (f.views.data) boundary.points = f.views.data;
      boundary.setHeatmap(f.views.boundary);
      const v = f.views;
      if (v.features) network.setFeatureMaps(v.features);
      network.update(v, boundary.override ? null : boundary.cells); // the output node: the heatmap, unscaled
      renderGradNorms(ref.gradNorms, v.layers, v.grad_norms);
      renderGradNorms(ref.ratios, v.layers, v.update_ratio.length ? v.update_ratio : v.layers.map(() => 0));
      heatmap.update(v.grad_trace, v.layers);
      lastHistograms = v.histograms;
      histPacer.run(drawHistograms); // small print that changes little frame to frame
      renderOptimizerState(ref.optState, v.layers, v.optimizer_state);
      if (v.schedule) schedule.setCurve(v.schedule);
      schedule.setStep(f.step, f.lr);
      ref.lrNow.textContent = `step ${f.step}, lr ${showNumber(f.lr, (x) => x.toPrecision(3), "not finite")}`;
      if (v.activation) drawActivation(ref.activation, (lastActivation = v.activation));
      chart.apply(f.history);
      chart.markSpikes(f.views.spikes ?? []);
      if ("diagnosis" in v) ctx.notice(v.diagnosis?.text ?? null); // a stalled run, explained
      if ("fork" in f.views) {
        chart.applyFork(f.views.fork);
        ref.unfork.hidden = !f.views.fork;
      }
    },
    unmount() {
      window.removeEventListener("resize", onResize);
      document.removeEventListener("descent-theme", onTheme);
      codePanel.destroy();
      for (const el of [ref.chart, ref.schedule, ref.heatmap]) Plotly.purge(el);
    },
  };
}

// Each optimizer-state tensor (velocity, moments ...) as per-layer norm bars.
function renderOptimizerState(root, layers, states) {
  if (!states.length) {
    if (root.dataset.keys !== "") { root.innerHTML = `<span class="hint">none yet (SGD keeps none; the others start at the first step)</span>`; root.dataset.keys = ""; }
    return;
  }
  const keys = states.map((s) => s.key).join(",");
  if (root.dataset.keys !== keys) {
    root.dataset.keys = keys;
    root.replaceChildren(...states.map((s) => {
      const box = document.createElement("div");
      box.className = "state-block";
      box.innerHTML = `<div class="state-label"></div><div class="grad-norms"></div>`;
      box.firstChild.textContent = s.label;
      return box;
    }));
  }
  states.forEach((s, i) => renderGradNorms(root.children[i].lastChild, layers, s.values));
}
