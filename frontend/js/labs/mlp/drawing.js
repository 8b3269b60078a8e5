// Draw your own data: pick a class, click the plane; the points join the training set.
// The classes: -1 and +1, or the k classes of a multiclass run (in their colours), with the
// colour legend that goes with them.
import { classColor } from "../../colors.js";

// currentConfig(): the run's config now (null before the first); returns showClasses(config).
export function wireDrawing(ref, configure, currentConfig) {
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
  ref.boundary.addEventListener("click", (e) => {
    const current = currentConfig();
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
  return showClasses;
}
