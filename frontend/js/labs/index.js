// The lab views, by lab name. Which labs exist, their order and their tab titles come from
// the server (/api/schema: labs.<name>.title); this table only says where each view's code is.
// A view module exports
//   counter: string (what the top counter counts, e.g. "Epoch"),
//   mount(root, ctx) -> { config(config, message), status(status), frame(frame), reply?(reply), unmount() }
// where ctx = { schema (this lab's config JSON Schema: field titles are the labels, x-labels /
//               x-uses on choice fields), configure(patch), control(action), command(name, args),
//               toast(text, kind), hyper (the top-bar element for the lab's main controls),
//               notice(text | null): a warning in the page's banner while it holds (a stalled run) }.
// Views build on the toolkit in ../view/index.js.
export const LAB_VIEWS = {
  mlp: () => import("./mlp/view.js"),
  attention: () => import("./attention/view.js"),
  arena: () => import("./arena/view.js"),
  backprop: () => import("./backprop/view.js"),
  cnn: () => import("./cnn/view.js"),
  rnn: () => import("./rnn/view.js"),
};
