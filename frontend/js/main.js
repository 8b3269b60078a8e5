// The playground page: wires the connection, the controls and the views together.
import { BoundaryView, drawThumbnail } from "./boundary.js";
import { Connection } from "./connection.js";
import { buildControls, schemaEnum } from "./controls.js";
import { readHash, writeHash } from "./hash.js";
import { LossChart } from "./losschart.js";
import { NetworkView, renderGradNorms } from "./network.js";

const $ = (id) => document.getElementById(id);
const FEATURE_LABELS = { x1: "X₁", x2: "X₂", x1sq: "X₁²", x2sq: "X₂²", x1x2: "X₁X₂", sinx1: "sin(X₁)", sinx2: "sin(X₂)" };

const state = { config: null, runState: "paused", connected: false, pendingHash: null };

function toast(text, kind = "error") {
  const el = document.createElement("div");
  el.className = `toast ${kind}`;
  el.textContent = text;
  $("toasts").append(el);
  setTimeout(() => el.remove(), 7000);
}

function fmtEpoch(n) {
  return String(n).padStart(6, "0").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function fmtNum(v) {
  return v == null ? "—" : v.toFixed(3);
}

async function main() {
  const schema = await (await fetch("/api/schema")).json();
  const configSchema = schema.labs.mlp.config;
  const defaults = Object.fromEntries(Object.entries(configSchema.properties).map(([k, p]) => [k, p.default]));

  const datasets = await (await fetch("/api/datasets")).json();
  let conn;
  const configure = (patch) => {
    // A new problem type brings its first dataset along (a circle cannot be regressed).
    if ("problem" in patch && !("dataset" in patch)) patch.dataset = datasets.find((d) => d.problem === patch.problem).name;
    conn.send({ type: "configure", config: patch });
  };
  const control = (action) => conn.send({ type: "control", action });

  const controls = buildControls(configSchema, { hyper: $("hyper"), data: $("data-controls") }, configure);
  const features = schemaEnum(configSchema, "features").map((f) => [f, FEATURE_LABELS[f] || f]);
  const hiddenProp = configSchema.properties.hidden;
  const network = new NetworkView($("network"), features, hiddenProp.maxItems, hiddenProp.items.maximum, configure);
  const boundary = new BoundaryView($("boundary"));
  const chart = new LossChart($("loss-chart"));

  // Dataset picker: thumbnails drawn from the server's own generators.
  const thumbs = {};
  for (const d of datasets) {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 72;
    canvas.className = "thumb";
    canvas.title = d.name;
    canvas.dataset.dataset = d.name;
    canvas.dataset.problem = d.problem;
    canvas.addEventListener("click", () => configure({ dataset: d.name, problem: d.problem }));
    drawThumbnail(canvas, { train: d.points, test: { x1: [], x2: [], label: [] } });
    thumbs[d.name] = canvas;
  }
  const showThumbs = () => {
    const problem = state.config?.problem ?? "classification";
    $("datasets").replaceChildren(...Object.values(thumbs).filter((c) => c.dataset.problem === problem));
    for (const [name, c] of Object.entries(thumbs)) c.classList.toggle("selected", name === state.config?.dataset);
  };

  function applyConfig(config) {
    const problemChanged = state.config?.problem !== config.problem;
    state.config = config;
    controls.update(config);
    network.render(config);
    $("layer-count").textContent = config.hidden.length;
    $("accuracy-line").hidden = config.problem !== "classification";
    if (problemChanged) showThumbs();
    else for (const [name, c] of Object.entries(thumbs)) c.classList.toggle("selected", name === config.dataset);
    writeHash(config, defaults);
  }

  function applyStatus(msg) {
    state.runState = msg.state;
    $("play").textContent = msg.state === "running" ? "❚❚" : "▶";
    $("play").setAttribute("aria-label", msg.state === "running" ? "pause" : "play");
    document.body.dataset.state = msg.state;
    const banner = $("banner");
    if (msg.state === "diverged") {
      banner.hidden = false;
      banner.textContent = `Diverged at epoch ${msg.epoch} with learning rate ${msg.lr}: ${msg.reason ?? "the loss is not finite"}. Lower the learning rate, then press reset.`;
      chart.markDivergence(msg.epoch);
    } else {
      banner.hidden = true;
      if (chart.marker != null) chart.markDivergence(null);
    }
  }

  function applyFrame(f) {
    $("epoch").textContent = fmtEpoch(f.epoch);
    $("train-loss").textContent = fmtNum(f.metrics.train_loss);
    $("test-loss").textContent = fmtNum(f.metrics.test_loss);
    $("test-acc").textContent = f.metrics.test_accuracy == null ? "—" : `${(100 * f.metrics.test_accuracy).toFixed(1)}%`;
    document.body.dataset.epoch = f.epoch;
    document.body.dataset.step = f.step;
    document.body.dataset.lr = f.lr;
    if (f.views.data) boundary.points = f.views.data;
    boundary.setHeatmap(f.views.boundary);
    renderGradNorms($("grad-norms"), f.views.layers, f.views.grad_norms);
    chart.apply(f.history);
  }

  function onMessage(msg) {
    switch (msg.type) {
      case "hello":
        $("device").textContent = `device: ${msg.device}`;
        $("device").classList.toggle("gpu", msg.device.startsWith("cuda"));
        conn.send({ type: "subscribe", frame_rate: 30 });
        if (state.pendingHash && Object.keys(state.pendingHash).length) configure(state.pendingHash);
        state.pendingHash = null;
        break;
      case "config": applyConfig(msg.config); if (msg.rebuilt === "optimizer") toast("optimizer state rebuilt; the network is kept", "info"); break;
      case "status": applyStatus(msg); break;
      case "frame": applyFrame(msg); break;
      case "error": toast(msg.message); break;
    }
  }

  state.pendingHash = readHash(configSchema);
  conn = new Connection(onMessage, (s) => {
    state.connected = s === "open";
    $("conn").textContent = state.connected ? "live" : "reconnecting…";
    $("conn").classList.toggle("ok", state.connected);
  });

  const togglePlay = () => control(state.runState === "running" ? "pause" : "play");
  $("play").addEventListener("click", togglePlay);
  $("step").addEventListener("click", () => control("step"));
  $("reset").addEventListener("click", () => control("reset"));
  $("regenerate").addEventListener("click", () => configure({ seed: Math.floor(Math.random() * 2 ** 31) }));
  $("add-layer").addEventListener("click", () => network.addLayer());
  $("remove-layer").addEventListener("click", () => network.removeLayer());
  $("show-test").addEventListener("change", (e) => boundary.setShowTest(e.target.checked));
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, select, textarea")) return;
    if (e.key === " ") { e.preventDefault(); togglePlay(); }
    else if (e.key === "ArrowRight") control("step");
    else if (e.key === "r") control("reset");
  });
  window.addEventListener("resize", () => state.config && network.render(state.config));
}

main();
