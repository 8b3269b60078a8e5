// The view toolkit: what every lab view needs besides its own drawing. A view imports from
// here only (see labs/index.js for the view contract):
//   refs(root)                      the template's data-ref elements
//   fixed, percent, sig, showNumber number formats that survive a diverged run
//   titleOf, labelOf, usesOf ...    labels and "fields a choice reads", from the schema
//   buildControls, schemaEnum       controls from a table of {key, kind, where}
//   Plotly, plot, palette           charts in the theme's colours (plot = Plotly.react themed)
//   LossChart                       the streaming loss chart
//   CHART_BASE                      the layout small charts start from
//   Pacer                           redraw a costly chart at most every so often
//   sizeOf, widthOf                 an element's size, kept by a ResizeObserver (no layout read per frame)
//   LiveHeatmap                     a plotly heatmap whose cells a canvas redraws every frame
//   state                           the page's state (get / set / watch)
//   decodeBase64, LUT, CodePanel    base64 frames to bytes, the diverging colour ramp, "show the code"
//   ForkControl, FORK_MARKUP        fork and compare: a second run beside the main one
export { refs } from "./refs.js";
export { fixed, nonFinite, percent, showNumber, sig } from "./format.js";
export { fullLabelOf, labelOf, property, titleOf, usesOf } from "./labels.js";
export { buildControls, LR_LADDER, schemaEnum, schemaRange } from "../controls.js";
export { Plotly } from "./plotly.js";
export { cssColor, palette, plot, projecting } from "../theme.js";
export { LossChart } from "../losschart.js";
export { CHART_BASE } from "./chart.js";
export { Pacer } from "../pace.js";
export { LiveHeatmap } from "./liveheatmap.js";
export { sizeOf, widthOf } from "./size.js";
export * as state from "./state.js";
export { decodeBase64, LUT } from "../colors.js";
export { CodePanel } from "../codepanel.js";
export { FORK_MARKUP, ForkControl } from "./fork.js";
