// The lab views, by lab name (the server's LAB_NAMES). A view module exports
//   title: string, counter: string (what the top counter counts, e.g. "Epoch"),
//   mount(root, ctx) -> { config(config, message), status(status), frame(frame), unmount() }
// where ctx = { schema (this lab's config JSON Schema), configure(patch), control(action),
//               toast(text, kind), hyper (the top-bar element for the lab's main controls),
//               notice(text | null): a warning in the page's banner while it holds (a stalled run) }.
export const LAB_VIEWS = {
  mlp: () => import("./mlp/view.js"),
  attention: () => import("./attention/view.js"),
  arena: () => import("./arena/view.js"),
  backprop: () => import("./backprop/view.js"),
  cnn: () => import("./cnn/view.js"),
};

// The tab titles (each view module's `title`), known without loading the views: the shell
// shows its tabs at once and loads only the lab it mounts.
export const LAB_TITLES = { mlp: "Playground", attention: "Attention", arena: "Arena", backprop: "Backprop", cnn: "Convolution" };
