// Where the network diagram's nodes go: columns of rows (inputs, hidden layers, outputs),
// rows and nodes shrunk in embed mode to the height the frame leaves the diagram.
export const NODE_FULL = 40;
const ROW_FULL = 52;


// outputs: 1, or one per class (binary ce's two logits show as one output).
// Returns the columns' sizes, the diagram's size, the node size and x(column), y(column, row).
export function layoutNetwork(root, inputs, hidden, outputs) {
  const columns = [inputs, ...hidden, outputs];
  const width = root.clientWidth || 420;
  // Embed mode: rows and nodes shrink to the height the frame leaves the diagram.
  const rows = Math.max(inputs, ...hidden, outputs);
  let ROW = ROW_FULL, NODE = NODE_FULL;
  if (document.body.classList.contains("embed")) {
    root.style.height = "";
    const room = root.clientHeight;
    if (room > 0) { ROW = Math.max(14, Math.min(ROW_FULL, (room - 36) / rows)); NODE = Math.min(NODE_FULL, ROW * 0.75); }
  }
  const height = rows * ROW + 36;
  const left = 64; // room for the feature labels
  const gap = (width - left - NODE) / (columns.length - 1);
  const x = (c) => left + c * gap;
  const y = (c, i) => {
    const n = columns[c];
    return 36 + (height - 36 - n * ROW) / 2 + i * ROW;
  };
  return { outputs, columns, width, height, node: NODE, x, y };
}
