// The racer cards: each racer's optimizer, a log-scale LR slider with the four regime presets,
// the hyper-parameters its optimizer reads, and its race status (badge). The optimizers, their
// names and the fields each reads come from the schema of a racer (x-titles, x-uses, titles).
import { fullLabelOf, sig, titleOf, usesOf } from "../../view/index.js";
import { RACER_COLORS } from "./surface.js";

const LOG_LR = { min: -5, max: 2 }; // slider range, log10(lr); the server allows (0, 100]
const roundLr = (v) => Number(v.toPrecision(2));
const REVERT_MS = 2000;

export class RacerCards {
  constructor(root, configSchema, maxRacers, onChange) {
    this.root = root;
    this.schema = configSchema.$defs.Racer;
    this.props = this.schema.properties;
    this.maxRacers = maxRacers;
    this.onChange = onChange;
    this.racers = [];
    this.presets = null; // optimizer name -> {regime: lr}, from the surface
    this.badges = [];
  }

  label(name) { return fullLabelOf(this.schema, "optimizer", name); }

  setPresets(presets) {
    this.presets = presets;
    this.render(this.racers);
  }

  change(i, patch) {
    this.send(this.racers.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  }

  // Send new racers; if the server refuses them (its error is shown as a toast), no config
  // comes back, so the cards go back to the server's racers after a moment.
  send(racers) {
    this.onChange(racers);
    clearTimeout(this.revert);
    this.revert = setTimeout(() => this.render(this.racers), REVERT_MS);
  }

  render(racers) {
    clearTimeout(this.revert);
    this.racers = racers;
    this.badges = [];
    const cards = racers.map((r, i) => this.card(r, i));
    const add = document.createElement("button");
    add.className = "text-button add-racer";
    add.textContent = "+ add a racer";
    add.disabled = racers.length >= this.maxRacers;
    add.title = `at most ${this.maxRacers} racers`;
    add.addEventListener("click", () => {
      const used = new Set(racers.map((r) => r.optimizer));
      const next = this.props.optimizer.enum.find((o) => !used.has(o)) ?? "sgd";
      const lr = this.presets?.[next]?.good ?? 0.01;
      this.send([...racers, { optimizer: next, learning_rate: lr }]);
    });
    this.root.replaceChildren(...cards, add);
  }

  card(r, i) {
    const el = document.createElement("div");
    el.className = "racer-card";
    el.dataset.index = i;
    el.style.setProperty("--racer", RACER_COLORS[i]);
    el.innerHTML = `
      <div class="racer-head">
        <span class="racer-swatch">${i + 1}</span>
        <select class="racer-optimizer" aria-label="optimizer of racer ${i + 1}"></select>
        <button class="racer-remove" title="remove this racer" aria-label="remove racer ${i + 1}">×</button>
      </div>
      <div class="racer-lr">
        <label>lr <output></output></label>
        <input type="range" min="${LOG_LR.min}" max="${LOG_LR.max}" step="0.01" aria-label="learning rate of racer ${i + 1}">
      </div>
      <div class="racer-presets"></div>
      <div class="racer-hp"></div>
      <div class="racer-badge">—</div>`;
    const q = (s) => el.querySelector(s);
    const select = q(".racer-optimizer");
    for (const name of this.props.optimizer.enum) select.add(new Option(this.label(name), name));
    select.value = r.optimizer;
    select.addEventListener("change", () => {
      // a new optimizer starts at its "good" LR: an SGD rate is far too small for Adam and vice versa
      const lr = this.presets?.[select.value]?.good ?? r.learning_rate;
      this.change(i, { optimizer: select.value, learning_rate: lr });
    });
    const remove = q(".racer-remove");
    remove.disabled = this.racers.length <= 1;
    remove.addEventListener("click", () => this.send(this.racers.filter((_, j) => j !== i)));

    const slider = q(".racer-lr input");
    const out = q(".racer-lr output");
    slider.value = Math.log10(r.learning_rate);
    out.textContent = sig(r.learning_rate, 3);
    slider.addEventListener("input", () => { out.textContent = sig(roundLr(10 ** Number(slider.value)), 3); });
    slider.addEventListener("change", () => this.change(i, { learning_rate: roundLr(10 ** Number(slider.value)) }));

    const presets = this.presets?.[r.optimizer] ?? {};
    for (const [regime, lr] of Object.entries(presets)) {
      const b = document.createElement("button");
      b.className = `preset preset-${regime.replace(" ", "-")}`;
      b.textContent = regime;
      b.title = `lr = ${lr}`;
      b.classList.toggle("active", Math.abs(lr - r.learning_rate) < 1e-12);
      b.addEventListener("click", () => this.change(i, { learning_rate: lr }));
      q(".racer-presets").append(b);
    }
    for (const key of usesOf(this.schema, "optimizer", r.optimizer)) q(".racer-hp").append(this.hpControl(r, i, key));
    this.badges.push(q(".racer-badge"));
    return el;
  }

  hpControl(r, i, key) {
    const prop = this.props[key];
    const label = document.createElement("label");
    label.className = "hp";
    label.title = prop.description ?? key;
    label.append(`${titleOf(this.schema, key)} `);
    const input = document.createElement("input");
    if (prop.type === "boolean") {
      input.type = "checkbox";
      input.checked = r[key] ?? prop.default;
      input.addEventListener("change", () => this.change(i, { [key]: input.checked }));
    } else {
      input.type = "number";
      input.step = "any";
      input.value = r[key] ?? prop.default;
      if (prop.minimum != null) input.min = prop.minimum;
      const max = prop.maximum ?? prop.exclusiveMaximum;
      if (max != null) input.max = max;
      // send as typed: the server checks the range and names it if the value is out of it
      input.addEventListener("change", () => this.change(i, { [key]: Number(input.value) }));
    }
    label.append(input);
    return label;
  }

  // Race status per racer: the "reached the minimum" badge, divergence, or the current f.
  status(views) {
    views.forEach((v, i) => {
      const badge = this.badges[i];
      if (!badge) return;
      let text, kind;
      if (v.status === "diverged") {
        text = "diverged"; kind = "diverged";
        badge.title = v.reason ?? "";
      } else if (v.reached != null) {
        text = `reached the minimum in ${v.reached} steps`; kind = "reached";
        badge.title = "";
      } else {
        text = `f = ${sig(v.value)} · lr ${sig(v.lr, 3)}`; kind = "racing";
        badge.title = "";
      }
      if (badge.textContent !== text) badge.textContent = text;
      badge.dataset.kind = kind;
    });
  }
}
