// The output column's pictures: class probabilities, the confusion matrix and the most
// confidently wrong test images.
import { paintImage } from "./images.js";

export function renderProbabilities(el, probabilities, classes, predicted, label) {
  el.innerHTML = probabilities.map((p, i) => `
    <div class="cnn-prob${i === predicted ? " top" : ""}${i === label ? " truth" : ""}">
      <span class="cnn-prob-name">${classes[i]}</span>
      <span class="cnn-prob-bar"><span style="width:${(100 * p).toFixed(1)}%"></span></span>
      <span class="num">${(100 * p).toFixed(0)}%</span>
    </div>`).join("");
}

// Drawn again only when it changed (each evaluation of the test set, not each frame): a
// table of ~120 cells rebuilt 30 times a second kept the page's garbage collector busy
// enough for pauses of 50 ms and more on a laptop core.
function changed(el, key) {
  if (el.dataset.key === key) return false;
  el.dataset.key = key;
  return true;
}

// rows = true class, columns = predicted; each cell shaded by its share of the row.
export function renderConfusion(table, confusion, classes) {
  if (!changed(table, `${classes.join()}|${confusion.join("|")}`)) return;
  const head = `<tr><th class="corner">true ↓ · predicted →</th>${classes.map((c) => `<th>${c}</th>`).join("")}</tr>`;
  const body = confusion.map((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    return `<tr><th>${classes[i]}</th>${row.map((n, j) => {
      const share = n / total;
      const tone = i === j ? `rgba(8,119,189,${(0.12 + 0.75 * share).toFixed(2)})` : n ? `rgba(224,49,49,${(0.15 + 0.7 * share).toFixed(2)})` : "transparent";
      return `<td style="background:${tone}" class="${share > 0.55 ? "dark" : ""}" title="true ${classes[i]}, predicted ${classes[j]}: ${n}">${n || ""}</td>`;
    }).join("")}</tr>`;
  }).join("");
  table.innerHTML = head + body;
}

export function renderWrong(el, wrong, classes, size) {
  if (!changed(el, `${classes.join()}|${size}|${wrong.map((w) => `${w.index}:${w.predicted}:${w.p}`).join()}`)) return;
  el.replaceChildren(...wrong.map((w) => {
    const fig = document.createElement("figure");
    fig.className = "cnn-wrong";
    fig.title = `test image ${w.index}: true ${classes[w.label]}, predicted ${classes[w.predicted]} with p = ${w.p}`;
    const canvas = document.createElement("canvas");
    canvas.className = "cnn-pixels";
    paintImage(canvas, w.image, size, 40);
    const cap = document.createElement("figcaption");
    cap.textContent = `${classes[w.label]}→${classes[w.predicted]} ${(100 * w.p).toFixed(0)}%`;
    fig.append(canvas, cap);
    return fig;
  }));
  if (!wrong.length) el.textContent = "none: every test image is right";
}
