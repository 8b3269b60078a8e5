// The MLP playground view: data, network and output columns, after TensorFlow Playground.
// Its parts: template.js (the page), controls.js (the controls table), runs.js (the loss chart,
// saved runs, fork), network.js (the diagram), boundary.js (the output plane), drawing.js
// (drawing points), thumbnails.js (the datasets), inspector.js (the gradient panel).
import { CodePanel } from "../../codepanel.js";
import { drawActivation } from "../../histogram.js";
import { pageOptions, setPageOption } from "../../hash.js";
import { ScheduleChart } from "../../schedulechart.js";
import { fixed, ForkControl, fullLabelOf, labelOf, percent, Plotly, refs, schemaEnum, showNumber } from "../../view/index.js";
import { BoundaryView } from "./boundary.js";
import { mountControls } from "./controls.js";
import { wireDrawing } from "./drawing.js";
import { Inspector } from "./inspector.js";
import { NetworkView } from "./network.js";
import { forkChoices, makeLossChart, wireSavedRuns } from "./runs.js";
import { TEMPLATE } from "./template.js";
import { Thumbnails } from "./thumbnails.js";

export const counter = "Epoch";

// What a light frame leaves out (a busy server sends the inside of the network and the
// inspector's slow statistics with every second, fourth or eighth frame only: backend labs/mlp/views.py
// DETAIL): the last of each stands.
const DETAIL = ["neurons", "weights", "biases", "histograms", "update_ratio", "optimizer_state"];

export async function mount(root, ctx) {
  root.innerHTML = TEMPLATE;
  const ref = refs(root);
  const datasets = await (await fetch("/api/datasets")).json();
  let current = null;
  const kept = {}; // the last detailed frame's DETAIL views
  const configure = (patch) => {
    // A new problem type brings its first dataset along (a circle cannot be regressed).
    if ("problem" in patch && !("dataset" in patch)) patch.dataset = datasets.find((d) => d.problem === patch.problem).name;
    // points drawn on one dataset do not belong to another
    if ("dataset" in patch && current && patch.dataset !== current.dataset && !("drawn" in patch)) patch.drawn = [];
    ctx.configure(patch);
  };

  const containers = { hyper: ctx.hyper, data: ref.dataControls, build: ref.buildControls, sched: ref.schedControls, optim: ref.optControls };
  const { controls, showUsed } = mountControls(ctx.schema, containers, configure);
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
  const chart = makeLossChart(ref.chart);
  wireSavedRuns(ref, chart, ctx.schema, () => current);
  const fork = new ForkControl(ref, forkChoices(ctx.schema), ctx.command, [chart]);
  const schedule = new ScheduleChart(ref.schedule);
  const inspector = new Inspector(ref);
  let lastActivation = null;
  const onTheme = () => { inspector.drawHistograms(); if (lastActivation) drawActivation(ref.activation, lastActivation); }; // canvases take the new colours
  document.addEventListener("descent-theme", onTheme);
  const thumbnails = new Thumbnails(ref.datasets, datasets, ctx.schema, configure);

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
  const maxDrawn = ctx.schema.properties.drawn.maxItems / 3;
  const showClasses = wireDrawing(ref, configure, () => current);
  // Losses that do not apply to the problem are greyed out in the loss list.
  const lossProblems = ctx.schema.properties.loss["x-problems"] ?? {};
  const lossSelect = containers.build.querySelector("#ctl-loss");
  const classesControl = containers.data.querySelector('[data-key="classes"]');
  const onResize = () => current && network.render(current);
  window.addEventListener("resize", onResize);

  return {
    reply(msg) {
      if (msg.name === "set_weight") ctx.toast(`Set the ${msg.kind} to ${msg.value}; training goes on from it.`, "info");
      if (msg.name === "code") codePanel.show(msg);
      fork.reply(msg);
    },
    config(config) {
      current = config;
      controls.update(config);
      network.render(config);
      ref.layerCount.textContent = config.hidden.length;
      showUsed(config);
      ref.optLabel.textContent = fullLabelOf(ctx.schema, "optimizer", config.optimizer);
      inspector.config(config);
      ref.accuracyLine.hidden = !["classification", "multiclass"].includes(config.problem);
      showClasses(config);
      boundary.setProblem(config.problem);
      classesControl.hidden = config.problem !== "multiclass";
      for (const option of lossSelect?.options ?? []) option.disabled = !(lossProblems[option.value] ?? [config.problem]).includes(config.problem);
      ref.drawnCount.textContent = `${config.drawn.length / 3} / ${maxDrawn} drawn`;
      thumbnails.config(config);
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
      for (const k of DETAIL) {
        if (v[k] === undefined) v[k] = kept[k];
        else kept[k] = v[k];
      }
      if (v.features) network.setFeatureMaps(v.features);
      network.update(v, boundary.override ? null : boundary.cells); // the output node: the heatmap, unscaled
      inspector.frame(v);
      if (v.schedule) schedule.setCurve(v.schedule);
      schedule.setStep(f.step, f.lr);
      ref.lrNow.textContent = `step ${f.step}, lr ${showNumber(f.lr, (x) => x.toPrecision(3), "not finite")}`;
      if (v.activation) drawActivation(ref.activation, (lastActivation = v.activation));
      chart.apply(f.history);
      chart.markSpikes(f.views.spikes ?? []);
      if ("diagnosis" in v) ctx.notice(v.diagnosis?.text ?? null); // a stalled run, explained
      fork.frame(f.views);
    },
    unmount() {
      window.removeEventListener("resize", onResize);
      document.removeEventListener("descent-theme", onTheme);
      codePanel.destroy();
      chart.destroy();
      for (const el of [ref.schedule, ref.heatmap]) Plotly.purge(el);
    },
  };
}
