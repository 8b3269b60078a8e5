// The layout a lab's small Plotly charts start from (spread it and add axes): compact
// margins, the legend above the plot, transparent backgrounds (the panel's colour shows, so
// the theme applies), the page's font. plot() / LossChart theme the colours on top of it.
import { LEGEND_ABOVE } from "../losschart.js";

export const CHART_BASE = {
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
