// The loss chart and the runs it compares: saved runs' curves and a fork with one setting changed
// (the fork's picker is the toolkit's ForkControl; forkChoices are the playground's settings for it).
import { LossChart, LR_LADDER, schemaEnum } from "../../view/index.js";

// Test and training loss, and the LR on its own axis, over epochs.
export function makeLossChart(el) {
  return new LossChart(el, [
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
}

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
// Saved runs: the test-loss curve, labelled with how the setup differs from the default
// (currentConfig() is the run's config now).
export function wireSavedRuns(ref, chart, schema, currentConfig) {
  ref.saveRun.addEventListener("click", () => {
    chart.save("test_loss", runLabel(currentConfig(), schema));
    ref.clearRuns.hidden = false;
  });
  ref.clearRuns.addEventListener("click", () => { chart.clearSaved(); ref.clearRuns.hidden = true; });
  ref.clearRuns.hidden = !chart.keepSavedIn("descent.saved-runs"); // saved runs outlive a reload
}

// What the playground's fork may change (how the network is trained: it forks from this point).
export const forkChoices = (schema) => ({
  optimizer: schemaEnum(schema, "optimizer"),
  learning_rate: LR_LADDER,
  schedule: schemaEnum(schema, "schedule"),
  regularization: schemaEnum(schema, "regularization"),
});
