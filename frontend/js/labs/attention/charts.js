// The attention lab's chart setup: BASE, the layout of its charts (its metric curves are
// the shared LossChart, its LR the shared ScheduleChart), and a colour per head.

import { LEGEND_ABOVE } from "../../losschart.js";

export const BASE = {
  margin: { l: 44, r: 44, t: 24, b: 28 },
  height: 140,
  showlegend: true,
  legend: { ...LEGEND_ABOVE, font: { size: 11 } },
  xaxis: { title: { text: "epoch", font: { size: 10 } }, zeroline: false },
  yaxis: { rangemode: "tozero", zeroline: false },
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "rgba(0,0,0,0)",
  font: { family: "inherit", size: 11 },
};

// Each head's curve: a colour per head, a dash per layer. The colours keep a contrast of 3:1
// or more on the light and the dark panel alike.
const HEAD_COLORS = ["#1c7ed6", "#e8590c", "#2b8a3e", "#ae3ec9", "#d6336c", "#0e7490", "#d97706", "#c92a2a"];
const LAYER_DASHES = ["solid", "dot", "dash", "dashdot", "longdash", "longdashdot"];
export const headStyle = (layer, head) => ({ color: HEAD_COLORS[head % HEAD_COLORS.length], dash: LAYER_DASHES[layer % LAYER_DASHES.length] });
