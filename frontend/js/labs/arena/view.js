// The descent arena: optimizers racing down a 2-D loss surface from one start point.
// Contour map (click = new start) and 3-D surface with the trajectories, racer cards with LR
// presets, f − f* per racer, and step-by-step numbers.
import { buildControls, LossChart, refs, sig, state } from "../../view/index.js";
import { ContourPlot, SurfacePlot3D } from "./plots.js";
import { RacerCards } from "./racers.js";
import { ScheduleParams } from "./schedule.js";
import { renderSteps } from "./stepper.js";
import { RACER_COLORS, Surface } from "./surface.js";

// The 3-D view is live while racing wherever WebGL runs on a GPU. A software renderer (no
// GPU: SwiftShader, llvmpipe) would spend the page's time redrawing it, so there it stays one
// click away ("live while racing").
function webglOnGpu() {
  try {
    const gl = document.createElement("canvas").getContext("webgl");
    const info = gl?.getExtension("WEBGL_debug_renderer_info");
    const renderer = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : "";
    return Boolean(gl) && !/swiftshader|llvmpipe|software|basic render/i.test(renderer);
  } catch {
    return false;
  }
}
export const counter = "Step";

const NOISE_LADDER = [0, 0.01, 0.1, 0.3, 1, 3, 10, 30, 100];
const SPEED_LADDER = [1, 3, 10, 30, 100, 300, 1000];
const HORIZON_LADDER = [100, 200, 500, 1000, 2000, 5000, 10000];
const THREE_D_INTERVAL = 1000; // ms between live 3-D redraws while racing
const CHART_INTERVAL = 250; // ms between loss-chart redraws while racing

const CONTROLS = [
  { key: "surface", kind: "select", where: "hyper" },
  { key: "noise", kind: "select", where: "hyper", options: () => NOISE_LADDER },
  { key: "speed", kind: "select", where: "hyper", options: () => SPEED_LADDER },
  { key: "schedule", kind: "select", where: "hyper" },
  { key: "horizon", kind: "select", where: "hyper", options: () => HORIZON_LADDER },
];

const TEMPLATE = `
  <div class="arena">
    <section class="column arena-racers">
      <h2>Racers</h2>
      <div class="racer-cards" data-ref="cards"></div>
      <h3>Show</h3>
      <label class="check"><input type="checkbox" data-ref="showGrad" checked> <span class="arrow-key grad"></span> gradient arrow (−∇f, downhill)</label>
      <label class="check"><input type="checkbox" data-ref="showMomentum"> <span class="arrow-key momentum"></span> velocity / momentum arrow</label>
      <label class="check"><input type="checkbox" data-ref="showCoord"> <span class="arrow-key coord"></span> per-coordinate step (Adam)</label>
      <label class="check"><input type="checkbox" data-ref="stepMode"> step-by-step numbers</label>
    </section>
    <section class="column arena-map">
      <div class="arena-map-head">
        <h2 data-ref="surfaceLabel">Surface</h2>
        <span class="arena-start">start <span class="num" data-ref="start">—</span>
          <button class="text-button small" data-ref="defaultStart" title="back to this surface's default start">default</button></span>
      </div>
      <div class="hint" data-ref="note"></div>
      <div class="arena-contour" data-ref="contour" aria-label="contour map: click to choose the start point"></div>
      <div class="hint">Click the map to start the race from there. ☆ = global minimum, ○ = start.</div>
    </section>
    <section class="column arena-side">
      <div class="arena-steps" data-ref="steps" hidden>
        <div class="arena-steps-head"><h2>Step by step</h2><button class="text-button small" data-ref="stepButton">one step →</button></div>
        <div data-ref="stepNumbers"></div>
      </div>
      <div class="arena-3d-head"><h2>Surface in 3-D</h2>
        <label class="check" title="redraw the 3-D view every second while racing (WebGL: heavy on machines without a GPU)"><input type="checkbox" data-ref="live3d"> live while racing</label></div>
      <div class="arena-3d" data-ref="surface3d"></div>
      <h2>f − f* per racer <span class="hint">log scale</span></h2>
      <div class="arena-loss" data-ref="chart"></div>
    </section>
  </div>`;

export async function mount(root, ctx) {
  root.innerHTML = TEMPLATE;
  const ref = refs(root);
  const configure = (patch) => {
    if ("surface" in patch && !("start" in patch)) patch.start = null; // each surface has its own window
    ctx.configure(patch);
  };
  const controls = buildControls(CONTROLS, ctx.schema, { hyper: ctx.hyper }, configure);
  const scheduleParams = new ScheduleParams(ctx.hyper, ctx.schema, configure);
  const maxRacers = ctx.schema.properties.racers.maxItems;
  const cards = new RacerCards(ref.cards, ctx.schema, maxRacers, (racers) => configure({ racers }));
  const contour = new ContourPlot(ref.contour, ([x, y]) => configure({ start: [Number(x.toFixed(3)), Number(y.toFixed(3))] }));
  const plot3d = new SurfacePlot3D(ref.surface3d);
  let config = null;
  let surface = null;
  let chart = null;
  let paths = []; // per racer {x, y, gap}: the trajectory so far (finite points only)
  let last3d = 0;
  let lastFrame = null;

  const show = () => ({ grad: ref.showGrad.checked, momentum: ref.showMomentum.checked, coord: ref.showCoord.checked });
  for (const box of [ref.showGrad, ref.showMomentum, ref.showCoord]) {
    box.addEventListener("change", () => lastFrame && draw());
  }
  ref.stepMode.addEventListener("change", () => {
    ref.steps.hidden = !ref.stepMode.checked;
    if (ref.stepMode.checked) ctx.control("pause"); // numbers are for reading, one step at a time
    if (lastFrame) renderNumbers(lastFrame);
  });
  ref.stepButton.addEventListener("click", () => ctx.control("step"));
  ref.live3d.checked = webglOnGpu();
  ref.defaultStart.addEventListener("click", () => configure({ start: null }));

  const racerLabels = () => config.racers.map((r) => cards.label(r.optimizer));

  function rebuildPlots() {
    const racers = racerLabels().map((label) => ({ label }));
    contour.reset(surface, racers);
    plot3d.reset(surface, racers);
    chart?.destroy();
    chart = new LossChart(
      ref.chart,
      racers.map((r, i) => ({ name: `${i + 1}. ${r.label}`, key: `gap${i}`, color: RACER_COLORS[i] })),
      { xaxis: { title: { text: "step", font: { size: 11 } }, zeroline: false }, yaxis: { type: "log", exponentformat: "power" }, height: 170 },
    );
    paths = racers.map(() => ({ x: [], y: [], gap: [] }));
  }

  // The history's new points per racer (nulls dropped: a diverged racer's path just ends).
  function chunksOf(history) {
    return paths.map((_, i) => {
      const xs = history.series[`x${i}`] ?? [], ys = history.series[`y${i}`] ?? [], gs = history.series[`gap${i}`] ?? [];
      const c = { x: [], y: [], gap: [] };
      xs.forEach((x, k) => { if (x != null && ys[k] != null) { c.x.push(x); c.y.push(ys[k]); c.gap.push(gs[k]); } });
      return c;
    });
  }

  // Frames can come faster than the page draws: each frame only records what it brings,
  // and one animation frame draws everything recorded since the last draw. The loss chart
  // and the 3-D view redraw less often (their redraws cost the most).
  let pendingHistory = null;
  let latest = null;
  let drawScheduled = false;
  let lastChart = 0;

  function record(f) {
    const history = f.history;
    latest = f;
    if (!history) return;
    const chunks = chunksOf(history);
    if (history.reset) paths = chunks;
    else chunks.forEach((c, i) => { paths[i].x.push(...c.x); paths[i].y.push(...c.y); paths[i].gap.push(...c.gap); });
    pendingHistory = mergeHistory(pendingHistory, history);
  }

  function draw() {
    drawScheduled = false;
    const f = latest;
    if (!f || !surface || f.views.racers.length !== paths.length) return;
    const now = performance.now();
    const settled = f.state !== "running";
    contour.update(paths, f.views.racers, show());
    if (pendingHistory && (settled || pendingHistory.reset || now - lastChart > CHART_INTERVAL)) {
      chart.apply(pendingHistory);
      pendingHistory = null;
      lastChart = now;
    }
    // 3-D redraws are WebGL scene redraws: always when the race stops, live only on request
    if (settled || (ref.live3d.checked && now - last3d > THREE_D_INTERVAL)) {
      plot3d.update(paths);
      last3d = now;
    }
    cards.status(f.views.racers);
    renderNumbers(f);
    state.set({ arenaPoints: paths.map((p) => p.x.length).join(",") });
  }

  function renderNumbers(f) {
    if (!ref.stepMode.checked || !config) return;
    renderSteps(ref.stepNumbers, f.views.racers, config.racers, (o) => cards.label(o), f.step, config.noise > 0);
  }

  const onResize = () => { if (surface) { contour.resize(); plot3d.resize(); } };
  window.addEventListener("resize", onResize);

  return {
    config(next) {
      const racersChanged = !config || JSON.stringify(config.racers) !== JSON.stringify(next.racers);
      config = next;
      controls.update(next);
      // the URL hash writes arrays with join(","): give each racer its compact text form
      for (const r of next.racers) Object.defineProperty(r, "toString", { value: () => racerText(r, ctx.schema), enumerable: false });
      if (racersChanged) cards.render(next.racers);
      scheduleParams.render(next);
      const start = next.start ?? surface?.start;
      ref.start.textContent = start ? `(${sig(start[0], 3)}, ${sig(start[1], 3)})` : "default";
      ref.defaultStart.hidden = next.start == null;
    },
    status() {},
    frame(f) {
      const v = f.views;
      if (v.surface) cards.setPresets(v.surface.presets);
      if (v.schedules) scheduleParams.setCatalog(v.schedules);
      if (v.surface) {
        surface = new Surface(v.surface);
        ref.surfaceLabel.textContent = surface.label;
        ref.note.textContent = surface.note;
        if (config.start == null) ref.start.textContent = `(${sig(surface.start[0], 3)}, ${sig(surface.start[1], 3)})`;
        rebuildPlots();
        pendingHistory = null;
        last3d = lastChart = 0;
      }
      if (!surface || v.racers.length !== paths.length) return; // a frame from before the racers changed
      record(f);
      lastFrame = f;
      if (!drawScheduled) {
        drawScheduled = true;
        requestAnimationFrame(draw);
      }
    },
    unmount() {
      window.removeEventListener("resize", onResize);
      contour.purge();
      plot3d.purge();
      chart?.destroy();
      state.set({ arenaPoints: undefined });
    },
  };
}

// "optimizer lr key=value ...": the racer text form the server accepts (see schema.Racer).
function racerText(r, configSchema) {
  const props = configSchema.$defs.Racer.properties;
  const extra = Object.entries(r)
    .filter(([k, v]) => k !== "optimizer" && k !== "learning_rate" && props[k] && v !== props[k].default)
    .map(([k, v]) => `${k}=${v}`);
  return [r.optimizer, r.learning_rate, ...extra].join(" ");
}

// Two consecutive history messages as one (a reset replaces what came before).
function mergeHistory(a, b) {
  if (!a || b.reset) return b;
  const series = Object.fromEntries(Object.keys(b.series).map((k) => [k, [...(a.series[k] ?? []), ...b.series[k]]]));
  return { reset: a.reset, epoch: [...a.epoch, ...b.epoch], series };
}
