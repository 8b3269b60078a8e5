// Step-by-step numbers: for each racer's last step, the gradient, the update and
// w_new = w_old − lr·g (plain SGD), or the update torch.optim made and its per-coordinate
// effective learning rate −Δw/g (momentum and adaptive optimizers).
import { sig } from "../../view/index.js";
import { RACER_COLORS } from "./surface.js";

const vec = (v) => `(${sig(v[0])}, ${sig(v[1])})`;

function plainSgd(config) {
  return config.optimizer === "sgd" && !config.weight_decay;
}

export function renderSteps(root, views, racerConfigs, labels, step, noisy) {
  const rows = views.map((v, i) => {
    const cfg = racerConfigs[i] ?? {};
    const head = `<span class="step-racer" style="--racer:${RACER_COLORS[i]}">${i + 1}. ${labels(v.optimizer)}</span>`;
    const last = v.last;
    if (!last) {
      const g = v.grad ? `∇f(w) = ${vec(v.grad)}` : "";
      return `<div class="step-row">${head}<div>w = ${vec(v.point)} ${g}</div><div class="hint">no step yet</div></div>`;
    }
    const lines = [
      `w_old = ${vec(last.w_old)}`,
      `g = ∇f(w_old)${noisy ? " + noise" : ""} = ${vec(last.grad)}`,
    ];
    if (plainSgd(cfg)) {
      const lrg = [last.lr * last.grad[0], last.lr * last.grad[1]];
      lines.push(`lr·g = ${sig(last.lr)} × ${vec(last.grad)} = ${vec(lrg)}`);
      lines.push(`<b>w_new = w_old − lr·g = ${vec(last.w_new)}</b>`);
    } else {
      const eff = last.update.map((u, k) => (last.grad[k] ? -u / last.grad[k] : null));
      if (v.momentum) lines.push(`velocity (momentum buffer / 1st moment) = ${vec(v.momentum)}`);
      lines.push(`update Δw (torch.optim) = ${vec(last.update)}`);
      lines.push(`per-coordinate lr = −Δw/g = ${vec(eff)} <span class="hint">(plain SGD: ${sig(last.lr)} both)</span>`);
      lines.push(`<b>w_new = w_old + Δw = ${vec(last.w_new)}</b>`);
    }
    return `<div class="step-row">${head}${lines.map((l) => `<div>${l}</div>`).join("")}</div>`;
  });
  root.innerHTML = `<div class="step-title">step ${step}</div>${rows.join("")}`;
}
