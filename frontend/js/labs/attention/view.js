// The attention lab view: setup column, the layer x head grid of attention maps (live, time-lapse
// or for a typed input), and the curves: loss, perplexity, accuracy, entropy per head, LR.
import { decodeBase64 } from "../../colors.js";
import { buildControls, fixed, LossChart, LR_LADDER, percent, Plotly, refs, usesOf } from "../../view/index.js";
import { ScheduleChart } from "../../schedulechart.js";
import { BASE, headStyle } from "./charts.js";
import { decodeMaps, Enlarged, MapGrid } from "./maps.js";

export const counter = "Epoch";

const HORIZONS = [100, 200, 500, 1000, 2000, 5000, 10000];
const WARMUPS = [0, 10, 20, 50, 100, 200, 500];
const MIN_LRS = [0, 0.00001, 0.0001, 0.001];
const STEP_SIZES = [20, 50, 100, 200, 500, 1000];
const GAMMAS = [0.1, 0.3, 0.5, 0.7, 0.9];

// Every control of this lab, in one table (see controls.js).
const CONTROLS = [
  { key: "task", kind: "select", where: "hyper" },
  { key: "learning_rate", kind: "select", where: "hyper", options: () => LR_LADDER },
  { key: "optimizer", kind: "select", where: "hyper" },
  { key: "schedule", kind: "select", where: "hyper" },
  { key: "length", kind: "range", where: "data", step: 1 },
  { key: "symbols", kind: "range", where: "data", step: 1 },
  { key: "batch_size", kind: "range", where: "data", step: 1 },
  { key: "layers", kind: "range", where: "model", step: 1 },
  { key: "heads", kind: "range", where: "model", step: 1 },
  { key: "d_model", kind: "range", where: "model", step: 8 },
  { key: "ffn", kind: "range", where: "model", step: 8 },
  { key: "positional", kind: "select", where: "model" },
  { key: "norm", kind: "select", where: "model" },
  { key: "ffn_activation", kind: "select", where: "model" },
  { key: "dropout", kind: "range", where: "model", step: 0.05 },
  { key: "horizon", kind: "select", where: "train", options: () => HORIZONS },
  { key: "warmup_steps", kind: "select", where: "train", options: () => WARMUPS },
  { key: "min_lr", kind: "select", where: "train", options: () => MIN_LRS },
  { key: "step_size", kind: "select", where: "train", options: () => STEP_SIZES },
  { key: "gamma", kind: "select", where: "train", options: () => GAMMAS },
];

const TEMPLATE = `
  <div class="columns attn-columns">
    <section class="column attn-setup">
      <h2>Data</h2>
      <div data-ref="data"></div>
      <p class="hint attn-epoch-note" data-ref="epochNote"></p>
      <h2>Model</h2>
      <label class="check attn-causal"><input type="checkbox" data-ref="causal"> causal mask</label>
      <div data-ref="model"></div>
      <h2 data-ref="scheduleTitle">Schedule</h2>
      <div data-ref="train"></div>
    </section>
    <section class="column attn-main">
      <div class="attn-head">
        <h2>Attention maps</h2>
        <div class="attn-example">
          <button class="round tiny" data-ref="prev" aria-label="previous example">‹</button>
          <span data-ref="exampleLabel">example 1</span>
          <button class="round tiny" data-ref="next" aria-label="next example">›</button>
        </div>
      </div>
      <div class="attn-caption" data-ref="caption">—</div>
      <div class="attn-grid" data-ref="grid"></div>
      <div class="attn-legend"><span>0</span><span class="attn-ramp"></span><span>1</span>
        <span class="hint">row = query, column = key; blue labels = positions the task scores; click a map to enlarge</span></div>
      <div class="attn-timelapse">
        <button class="round tiny" data-ref="replay" title="replay the time-lapse" aria-label="replay">▶</button>
        <label for="attn-scrub">Time-lapse</label>
        <input type="range" id="attn-scrub" data-ref="scrub" min="0" max="0" value="0">
        <span class="num" data-ref="scrubLabel">live</span>
      </div>
      <form class="attn-probe" data-ref="probe">
        <input type="text" data-ref="probeText" maxlength="200" spellcheck="false" aria-label="your own input">
        <button class="text-button" type="submit" data-ref="probeButton">Show maps</button>
        <button class="text-button" type="button" data-ref="live" hidden>Back to live</button>
      </form>
      <h3>Attention entropy per head <span class="hint">nats, mean over rows; low = focused</span></h3>
      <div class="attn-chart" data-ref="entropy"></div>
    </section>
    <section class="column attn-output">
      <h2>Output</h2>
      <div class="losses">
        <div>Test loss <span class="num" data-ref="testLoss">—</span></div>
        <div>Training loss <span class="num" data-ref="trainLoss">—</span></div>
        <div>Perplexity <span class="num" data-ref="ppl">—</span></div>
        <div>Token accuracy <span class="num" data-ref="acc">—</span></div>
        <div>Sequences right <span class="num" data-ref="seqAcc">—</span></div>
      </div>
      <h3>Loss and perplexity</h3>
      <div class="attn-chart" data-ref="loss"></div>
      <h3>Accuracy <span class="hint">held-out</span></h3>
      <div class="attn-chart" data-ref="accuracy"></div>
      <h3>Learning rate</h3>
      <div class="attn-chart" data-ref="lr"></div>
      <h3>Sample predictions <span class="hint">input → output</span></h3>
      <table class="attn-samples"><tbody data-ref="samples"></tbody></table>
    </section>
  </div>
  <div class="attn-zoom" data-ref="zoom" hidden></div>`;

const show = (s) => s.replaceAll(" ", "␣");

export async function mount(root, ctx) {
  root.innerHTML = TEMPLATE;
  const ref = refs(root);
  const tasks = ctx.schema.tasks || {};
  const exampleProp = ctx.schema.properties.example;
  const examples = exampleProp.exclusiveMaximum ?? (exampleProp.maximum ?? 15) + 1;
  let current = null;
  let resync = null;

  // Send a patch; if the server rejects it (an error toast, no config back), put the controls
  // back to the config the server kept.
  const configure = (patch) => {
    if ("task" in patch && current) {
      const meta = tasks[patch.task] || {};
      if (meta.causal_only && !current.causal) patch.causal = true;
      if (meta.max_length && current.length > meta.max_length) patch.length = meta.max_length;
    }
    ctx.configure(patch);
    clearTimeout(resync);
    resync = setTimeout(() => current && applyConfig(current), 800);
  };

  const controls = buildControls(CONTROLS, ctx.schema, { hyper: ctx.hyper, data: ref.data, model: ref.model, train: ref.train }, configure);
  ref.causal.addEventListener("change", () => configure({ causal: ref.causal.checked }));
  ref.prev.addEventListener("click", () => configure({ example: (current.example + examples - 1) % examples }));
  ref.next.addEventListener("click", () => configure({ example: (current.example + 1) % examples }));

  const grid = new MapGrid(ref.grid, (target) => zoom.open(target, shown()));
  const zoom = new Enlarged(ref.zoom);
  const loss = new LossChart(ref.loss, [
    { name: "test", key: "test_loss", color: "--ink" },
    { name: "train", key: "train_loss", color: "--muted" },
    { name: "perplexity", key: "perplexity", color: "#d97706", axis: "y2", width: 1.5 },
  ], { ...BASE, yaxis2: { overlaying: "y", side: "right", rangemode: "tozero", zeroline: false, showgrid: false, tickformat: ".1f", nticks: 4, title: { text: "ppl", font: { size: 10 } } } });
  const accuracy = new LossChart(ref.accuracy, [
    { name: "tokens", key: "test_accuracy", color: "#0877bd" },
    { name: "sequences", key: "sequence_accuracy", color: "#1098ad", dash: "dot" },
  ], { ...BASE, yaxis: { range: [0, 1.02], tickformat: ".0%", zeroline: false } });
  const entropy = new LossChart(ref.entropy, [], BASE);
  // the planned LR (dotted) and the LR each epoch used, by epoch
  const lr = new ScheduleChart(ref.lr, { epochs: true, used: true, layout: { ...BASE, yaxis: { rangemode: "tozero", zeroline: false, exponentformat: "e" } } });
  let headNames = [];

  // What the grid shows: the live example, a time-lapse frame, or the typed input.
  let live = null; // {maps, ideal, scored, caption}
  let probe = null;
  const timelapse = { epochs: [], frames: [] };
  let scrubbing = false; // the slider is off its live end
  const shown = () => {
    if (probe) return probe;
    if (scrubbing && live) {
      const i = +ref.scrub.value;
      const maps = decodeMaps({ shape: live.shape, tokens: live.maps.tokens }, timelapse.frames[i]);
      return { ...live, maps, caption: `${live.caption} · epoch ${timelapse.epochs[i]} of the time-lapse` };
    }
    return live;
  };
  const render = () => {
    const state = shown();
    if (!state) return;
    grid.render(state.maps, state.ideal, state.scored);
    ref.caption.textContent = state.caption;
    ref.caption.classList.toggle("probe", !!probe);
    zoom.render(state);
  };
  const resize = new ResizeObserver(() => render());
  resize.observe(ref.grid);
  document.addEventListener("descent-theme", render); // the map labels take the new colours

  const syncScrub = () => {
    const n = timelapse.epochs.length;
    ref.scrub.max = String(n); // the last position is "live"
    if (!scrubbing) ref.scrub.value = String(n);
    ref.scrubLabel.textContent = scrubbing ? `epoch ${timelapse.epochs[+ref.scrub.value]}` : "live";
  };
  ref.scrub.addEventListener("input", () => {
    scrubbing = +ref.scrub.value < timelapse.epochs.length;
    syncScrub();
    render();
  });
  let replayTimer = null;
  ref.replay.addEventListener("click", () => {
    clearInterval(replayTimer);
    let i = 0;
    replayTimer = setInterval(() => {
      if (i > timelapse.epochs.length) return clearInterval(replayTimer);
      ref.scrub.value = String(i++);
      ref.scrub.dispatchEvent(new Event("input"));
    }, 120);
  });

  // Type your own input: a lab command, answered by a reply with the maps.
  const canProbe = typeof ctx.command === "function";
  if (!canProbe) {
    ref.probeButton.disabled = true;
    ref.probeButton.title = "this page's shell does not route lab commands (ctx.command)";
  }
  ref.probe.addEventListener("submit", (e) => {
    e.preventDefault();
    if (canProbe) ctx.command("probe", { tokens: ref.probeText.value });
  });
  const backToLive = () => { probe = null; ref.live.hidden = true; render(); };
  ref.live.addEventListener("click", backToLive);

  function applyConfig(config) {
    controls.update(config);
    ref.causal.checked = config.causal;
    const meta = tasks[config.task] || {};
    ref.data.querySelector('[data-key="symbols"]').hidden = !!meta.fixed_vocab;
    ref.data.querySelector('[data-key="length"]').hidden = !!meta.fixed_length;
    const lengthInput = ref.data.querySelector("#ctl-length");
    lengthInput.max = meta.max_length ?? lengthInput.max;
    // schedule fields: only those the chosen schedule reads (the horizon whenever it is not constant)
    const uses = new Set(usesOf(ctx.schema, "schedule", config.schedule));
    for (const box of ref.train.querySelectorAll(".control")) {
      box.hidden = box.dataset.key === "horizon" ? config.schedule === "constant" : !uses.has(box.dataset.key);
    }
    ref.scheduleTitle.hidden = config.schedule === "constant";
    ref.exampleLabel.textContent = `example ${config.example + 1} of ${examples}`;
  }

  return {
    config(config, msg) {
      clearTimeout(resync);
      current = config;
      applyConfig(config);
      if (msg?.rebuilt === "network" || msg?.rebuilt === "lab") backToLive();
    },
    status() {},
    frame(f) {
      const m = f.metrics;
      ref.testLoss.textContent = fixed(m.test_loss);
      ref.trainLoss.textContent = fixed(m.train_loss);
      ref.ppl.textContent = fixed(m.perplexity, 2);
      ref.acc.textContent = percent(m.test_accuracy);
      ref.seqAcc.textContent = percent(m.sequence_accuracy);
      const v = f.views;
      if (v.heads.join() !== headNames.join()) {
        headNames = v.heads;
        entropy.layout.showlegend = v.heads.length <= 8; // beyond that, names on hover only
        entropy.setTraces(v.heads.map((key) => {
          const [, l, h] = key.split("_").map(Number);
          return { name: `L${l}H${h}`, key, ...headStyle(l - 1, h - 1), width: 1.5 };
        }));
      }
      for (const chart of [loss, accuracy, entropy, lr]) chart.apply(f.history);
      if (v.schedule) {
        lr.setCurve(v.schedule);
        ref.epochNote.textContent = `An epoch here is ${v.schedule.steps_per_epoch} batches of fresh examples; the metrics are measured on held-out ones.`;
      }
      if (v.timelapse) {
        if (v.timelapse.reset) { timelapse.epochs = []; timelapse.frames = []; scrubbing = false; }
        timelapse.epochs.push(...v.timelapse.epochs);
        timelapse.frames.push(...v.timelapse.frames.map(decodeBase64));
      }
      syncScrub();
      const scoredIdx = v.scored.map((s, i) => (s ? i : -1)).filter((i) => i >= 0);
      const sample = v.samples[0];
      if (sample && !ref.probeText.placeholder.includes(sample.input)) ref.probeText.placeholder = `type your own input, e.g. ${sample.input}`;
      live = {
        shape: v.maps.shape,
        maps: decodeMaps(v.maps),
        ideal: v.ideal ? decodeBase64(v.ideal) : null,
        scored: v.scored,
        caption: `held-out example ${current ? current.example + 1 : 1}: answer ${show(scoredIdx.map((i) => v.predictions[i]).join(""))}`,
      };
      render();
      ref.samples.replaceChildren(...v.samples.map((s) => {
        const tr = document.createElement("tr");
        tr.className = s.correct ? "right" : "wrong";
        tr.innerHTML = `<td class="in"></td><td>→</td><td class="out"></td><td class="mark">${s.correct ? "✓" : "✗"}</td>`;
        tr.querySelector(".in").textContent = show(s.input);
        tr.querySelector(".out").textContent = show(s.output);
        if (!s.correct) tr.querySelector(".out").title = `expected ${s.target}`;
        return tr;
      }));
    },
    reply(msg) {
      if (msg.name !== "probe") return;
      const answer = new Set(msg.answer);
      probe = {
        maps: decodeMaps(msg.maps),
        ideal: msg.ideal ? decodeBase64(msg.ideal) : null,
        scored: msg.maps.tokens.map((_, i) => answer.has(i)),
        caption: `your input ${show(msg.input)} → ${show(msg.output)}${msg.continuation ? ` · goes on: ${show(msg.continuation)}` : ""}`,
      };
      ref.live.hidden = false;
      render();
    },
    unmount() {
      clearInterval(replayTimer);
      clearTimeout(resync);
      resize.disconnect();
      document.removeEventListener("descent-theme", render);
      zoom.destroy();
      for (const chart of [loss, accuracy, entropy]) chart.destroy();
      Plotly.purge(ref.lr);
    },
  };
}
