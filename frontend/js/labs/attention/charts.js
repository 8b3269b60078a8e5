// The attention lab's chart setup: BASE, the layout of its charts (the toolkit's CHART_BASE;
// its metric curves are the shared LossChart, its LR the shared ScheduleChart), and a colour per head.

import { CHART_BASE } from "../../view/index.js";

export const BASE = CHART_BASE; // (the toolkit's, shared with the other labs)

// Each head's curve: a colour per head, a dash per layer. The colours keep a contrast of 3:1
// or more on the light and the dark panel alike.
const HEAD_COLORS = ["#1c7ed6", "#e8590c", "#2b8a3e", "#ae3ec9", "#d6336c", "#0e7490", "#d97706", "#c92a2a"];
const LAYER_DASHES = ["solid", "dot", "dash", "dashdot", "longdash", "longdashdot"];
export const headStyle = (layer, head) => ({ color: HEAD_COLORS[head % HEAD_COLORS.length], dash: LAYER_DASHES[layer % LAYER_DASHES.length] });
