// This lab's controls, in one table (see controls.js), and which of them show for a setup.
import { buildControls, LR_LADDER, usesOf } from "../../view/index.js";

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

// The controls in their containers (where: hyper, data, build, sched, optim); showUsed(config)
// shows only the parameters the chosen optimizer / schedule / initializer reads.
export function mountControls(schema, containers, configure) {
  const controls = buildControls(CONTROLS, schema, containers, configure);
  const showUsed = (config) => {
    for (const [where, choice] of Object.entries(USED_BY)) {
      const used = new Set(usesOf(schema, choice, config[choice]));
      for (const box of containers[where].querySelectorAll(".control")) {
        box.hidden = !(ALWAYS.has(box.dataset.key) || used.has(box.dataset.key));
      }
    }
  };
  return { controls, showUsed };
}
