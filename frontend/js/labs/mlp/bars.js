// Per-layer bars: gradient norms, update ratios, the optimizer's state tensors.
import { nonFinite } from "../../view/index.js";

// Per-layer gradient norms as horizontal bars on a log scale.
export function renderGradNorms(root, names, norms) {
  if (root.children.length !== norms.length) {
    root.replaceChildren(
      ...names.map((n) => {
        const row = document.createElement("div");
        row.className = "grad-row";
        row.innerHTML = `<span class="grad-name">${n}</span><span class="grad-bar"><span></span></span><span class="grad-value num"></span>`;
        return row;
      }),
    );
  }
  norms.forEach((v, i) => {
    const row = root.children[i];
    if (!row) return;
    // log scale: 1e-6 -> 0 %, 10 -> 100 %; an overflowed norm (inf) fills the bar, NaN/null none
    const t = v === Infinity ? 1 : Number.isFinite(v) && v > 0 ? Math.max(0, Math.min(1, (Math.log10(v) + 6) / 7)) : 0;
    row.querySelector(".grad-bar span").style.width = `${(t * 100).toFixed(1)}%`;
    row.querySelector(".grad-value").textContent = Number.isFinite(v) ? v.toExponential(1) : nonFinite(v);
    row.classList.toggle("not-finite", !Number.isFinite(v));
  });
}

// Each optimizer-state tensor (velocity, moments ...) as per-layer norm bars.
export function renderOptimizerState(root, layers, states) {
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
