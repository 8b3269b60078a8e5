// The convolution lab's styles, added once to the page by the view (they use the page's
// colour variables, so the dark theme applies).
export const CSS = `
.cnn-columns { grid-template-columns: minmax(13rem, 0.7fr) minmax(24rem, 1.7fr) minmax(20rem, 1.1fr); }
.cnn-setup h2 { margin-top: 0.4rem; }
.cnn-setup .control-select { margin: 0.5rem 0; display: flex; flex-direction: column; gap: 0.15rem; }
.cnn-setup .control-select label, .cnn-label { font-size: 0.8rem; color: var(--muted); display: block; }
.cnn-setup select { width: 100%; }
.cnn-blocks { margin: 0.6rem 0 0.2rem; }
.cnn-blocks textarea { width: 100%; box-sizing: border-box; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.8rem;
  border: 1px solid var(--line); border-radius: 6px; padding: 0.3rem 0.4rem; background: var(--panel); color: var(--ink); resize: vertical; }
.cnn-blocks .text-button { margin-top: 0.3rem; }
.cnn-grammar { font-size: 0.72rem; line-height: 1.35; }
.cnn-gap { margin-top: 1rem; }
.cnn-table { width: 100%; border-collapse: collapse; font-size: 0.8rem; }
.cnn-table th { text-align: left; font-weight: 600; color: var(--muted); font-size: 0.72rem; border-bottom: 1px solid var(--line); padding: 0.15rem 0.3rem; }
.cnn-table td { padding: 0.12rem 0.3rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
.cnn-table code { font-size: 0.8rem; }
.cnn-table .cnn-formula { color: var(--muted); }
.cnn-table tr.cnn-kind-conv td, .cnn-table tr.cnn-kind-res td { background: rgba(8, 119, 189, 0.07); }
.cnn-table tr.cnn-kind-output td { font-weight: 600; }
.cnn-input-row td { color: var(--muted); }
.cnn-filters { display: flex; flex-wrap: wrap; gap: 0.6rem 1rem; align-items: flex-start; }
.cnn-filters figure, .cnn-maps figure { margin: 0; }
.cnn-filters figcaption, .cnn-maps figcaption { font-size: 0.75rem; color: var(--muted); margin-bottom: 0.2rem; }
.cnn-filters figcaption code, .cnn-maps figcaption code { font-size: 0.7rem; }
.cnn-pixels { image-rendering: pixelated; display: block; }
.cnn-head { display: flex; justify-content: space-between; align-items: baseline; gap: 1rem; flex-wrap: wrap; }
.cnn-example { display: flex; align-items: center; gap: 0.4rem; font-size: 0.82rem; color: var(--muted); }
.cnn-example .text-button { margin-top: 0; padding: 0.15rem 0.5rem; }
.cnn-caption { font-size: 0.85rem; margin: 0.1rem 0 0.5rem; }
.cnn-caption.wrong { color: var(--danger); }
.cnn-maps { display: flex; flex-wrap: wrap; gap: 0.6rem 1rem; align-items: flex-start; }
.cnn-maps figure.picked figcaption { color: #e8590c; }
.cnn-maps figure[data-layer] canvas { cursor: crosshair; }
.cnn-input-wrap { position: relative; }
.cnn-rf { position: absolute; left: 0; top: 0; pointer-events: none; }
.cnn-map-input figcaption { max-width: 12rem; }
.cnn-chart { width: 100%; height: 140px; }
.cnn-setup .cnn-chart { height: 210px; }
.cnn-draw { display: grid; grid-template-columns: auto 1fr; gap: 0.8rem; align-items: start; }
.cnn-pad { width: 132px; height: 132px; border: 1px solid var(--line); border-radius: 6px; background: #fff; touch-action: none; cursor: crosshair; display: block; }
.cnn-draw .text-button { margin-top: 0.3rem; }
.cnn-verdict { font-size: 0.9rem; margin-bottom: 0.3rem; }
.cnn-verdict strong { font-size: 1.3rem; color: var(--accent); }
.cnn-prob { display: grid; grid-template-columns: 3.2rem 1fr 2.6rem; gap: 0.3rem; align-items: center; font-size: 0.75rem; line-height: 1.15; }
.cnn-prob-name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.cnn-prob .num { text-align: right; color: var(--muted); }
.cnn-prob-bar { height: 0.55rem; background: var(--line); border-radius: 3px; overflow: hidden; }
.cnn-prob-bar span { display: block; height: 100%; background: #8fb8d8; }
.cnn-prob.top .cnn-prob-bar span { background: var(--accent); }
.cnn-prob.top .cnn-prob-name { font-weight: 700; }
.cnn-confusion { border-collapse: collapse; font-size: 0.72rem; font-variant-numeric: tabular-nums; }
.cnn-confusion th { color: var(--muted); font-weight: 600; padding: 0.1rem 0.25rem; }
.cnn-confusion th.corner { font-weight: 400; font-size: 0.7rem; text-align: left; white-space: nowrap; }
.cnn-confusion td { width: 1.45rem; height: 1.25rem; text-align: center; border: 1px solid var(--line); }
.cnn-confusion td.dark { color: #fff; }
.cnn-wrongs { display: flex; flex-wrap: wrap; gap: 0.4rem; font-size: 0.7rem; color: var(--muted); }
.cnn-wrong { margin: 0; text-align: center; }
.cnn-wrong canvas { margin: 0 auto 0.1rem; border-radius: 3px; }
body.embed .cnn-columns { height: auto; grid-template-columns: minmax(0, 1fr) minmax(10rem, 0.5fr); grid-template-rows: calc(100cqh - 1rem) auto; }
body.embed .cnn-main { grid-row: 1; grid-column: 1; overflow-y: auto; }
body.embed .cnn-output { grid-row: 1; grid-column: 2; overflow-y: auto; }
body.embed .cnn-setup { grid-row: 2; grid-column: 1 / -1; }
body.embed .cnn-table .cnn-formula, body.embed .cnn-table th:nth-child(5) { display: none; }
body.embed .cnn-setup .cnn-grammar, body.embed .cnn-setup .cnn-chart, body.embed .cnn-setup h3 { display: none; }
`;
