// Pictures of the two presets, redrawn from each frame's numbers: the 2-2-1 network with
// values on its nodes and weights (and, after backward, each weight's .grad) on its edges;
// for linear regression, the four points with the current line ŷ = w·x + b.
import { fmt } from "./numbers.js";

const W = 600, H = 320;
// the drawing plus a margin: the weight and bias labels near the edges stay inside the SVG
const VIEW = `-24 -8 ${W + 96} ${H + 16}`;

// node positions of the 2-2-1 network
const NODES = { x1: [60, 85], x2: [60, 235], h1: [260, 85], h2: [260, 235], o: [530, 160] };
// weight -> [from, to]: a1 = w1·x1 + w2·x2 + b1, a2 = w3·x1 + w4·x2 + b2, a3 = w5·y1 + w6·y2 + b3
const EDGES = { w1: ["x1", "h1"], w2: ["x2", "h1"], w3: ["x1", "h2"], w4: ["x2", "h2"], w5: ["h1", "o"], w6: ["h2", "o"] };
const BIAS = { h1: "b1", h2: "b2", o: "b3" };

function edge(name, p, showGrad) {
  const [a, b] = EDGES[name];
  const [x0, y0] = NODES[a], [x1, y1] = NODES[b];
  const t = 0.2; // labels near the source, so crossing edges keep their labels apart
  const lx = x0 + (x1 - x0) * t + 12, ly = y0 + (y1 - y0) * t;
  const grad = showGrad && p.grad != null ? `<text class="bp-edge-grad" x="${lx}" y="${ly + 15}">∇ ${fmt(p.grad)}</text>` : "";
  const width = Math.min(6, 1 + 4 * Math.abs(p.value ?? 0));
  return `<line class="bp-edge ${(p.value ?? 0) < 0 ? "neg" : "pos"}" x1="${x0}" y1="${y0}" x2="${x1}" y2="${y1}" stroke-width="${width}"/>
    <text class="bp-edge-label" x="${lx}" y="${ly}">${name} = ${fmt(p.value)}</text>${grad}`;
}

function node(id, label, lines, params, showGrad) {
  const [x, y] = NODES[id];
  const bias = BIAS[id] ? params[BIAS[id]] : null;
  // a hidden unit's bias above it (h1, o) or below it (h2): clear of the edge labels
  const by = id === "h2" ? y + 60 : y - 52;
  const head = bias
    ? `<text class="bp-bias" x="${x}" y="${by}">${label}  ${BIAS[id]} = ${fmt(bias.value)}${showGrad && bias.grad != null ? `  ∇ ${fmt(bias.grad)}` : ""}</text>`
    : `<text class="bp-node-name" x="${x}" y="${y - 52}">${label}</text>`;
  const body = lines.map((l, i) => `<text class="bp-node-value" x="${x}" y="${y + 4 + (i - (lines.length - 1) / 2) * 15}">${l}</text>`).join("");
  return `<circle class="bp-node" cx="${x}" cy="${y}" r="42"/>${head}${body}`;
}

export function drawNetwork(svg, views) {
  const params = Object.fromEntries(views.params.map((p) => [p.name, p]));
  const f = Object.fromEntries(views.forward.map((q) => [q.name, q.value]));
  const inputs = Object.fromEntries(views.inputs.map((q) => [q.name, q.value]));
  const showGrad = views.phase === "backward" || views.phase === "update";
  const unit = (a, y) => (a in f ? [`a ${fmt(f[a])}`, `y ${fmt(f[y])}`] : ["?"]);
  const loss = views.loss ? `<text class="bp-loss-label" x="${NODES.o[0]}" y="${NODES.o[1] + 82}">L = ${fmt(views.loss.value)}</text>` : "";
  svg.setAttribute("viewBox", VIEW);
  svg.innerHTML = [
    ...Object.keys(EDGES).map((w) => edge(w, params[w], showGrad)),
    node("x1", "x1", [fmt(inputs.x1)], params, showGrad),
    node("x2", "x2", [fmt(inputs.x2)], params, showGrad),
    node("h1", "σ", unit("a1", "y1"), params, showGrad),
    node("h2", "σ", unit("a2", "y2"), params, showGrad),
    node("o", "σ", unit("a3", "y3"), params, showGrad),
    `<text class="bp-target" x="${NODES.o[0]}" y="${NODES.o[1] + 62}">target y = ${fmt(inputs.y)}</text>`,
    loss,
    showGrad ? `<text class="bp-edge-grad" x="8" y="${H - 8}">∇ = .grad, from loss.backward()</text>` : "",
  ].join("");
}

// linear regression: x in [-1.5, 2.5], y in [-3, 7]
const X0 = -1.5, X1 = 2.5, Y0 = -3, Y1 = 7, PAD = 30;
const sx = (x) => PAD + ((x - X0) / (X1 - X0)) * (W - 2 * PAD);
const sy = (y) => H - PAD - ((y - Y0) / (Y1 - Y0)) * (H - 2 * PAD);

export function drawLine(svg, views) {
  const p = Object.fromEntries(views.params.map((q) => [q.name, q.value]));
  const inputs = Object.fromEntries(views.inputs.map((q) => [q.name, q.value]));
  const xs = Object.keys(inputs).filter((k) => k.startsWith("x")).map((k) => [inputs[k], inputs[`y${k.slice(1)}`]]);
  const line = (w, b, cls) => `<line class="${cls}" x1="${sx(X0)}" y1="${sy(w * X0 + b)}" x2="${sx(X1)}" y2="${sy(w * X1 + b)}"/>`;
  const axes = `<line class="bp-axis" x1="${sx(X0)}" y1="${sy(0)}" x2="${sx(X1)}" y2="${sy(0)}"/><line class="bp-axis" x1="${sx(0)}" y1="${sy(Y0)}" x2="${sx(0)}" y2="${sy(Y1)}"/>`;
  const points = xs.map(([x, y]) => `<circle class="bp-point" cx="${sx(x)}" cy="${sy(y)}" r="6"/>`).join("");
  const fit = p.w != null && p.b != null ? line(p.w, p.b, "bp-fit") : "";
  svg.setAttribute("viewBox", VIEW);
  svg.innerHTML = `<defs><clipPath id="bp-clip"><rect x="${PAD}" y="${PAD}" width="${W - 2 * PAD}" height="${H - 2 * PAD}"/></clipPath></defs>
    ${axes}<g clip-path="url(#bp-clip)">${line(2, 1, "bp-truth")}${fit}</g>${points}
    <text class="bp-legend" x="${PAD + 6}" y="${PAD + 4}">— ŷ = ${fmt(p.w)}·x + ${fmt(p.b)}</text>
    <text class="bp-legend truth" x="${PAD + 6}" y="${PAD + 22}">- - y = 2x + 1</text>`;
}
