// plotly.js as a module: `import { Plotly } from ".../view/plotly.js"` where a chart is drawn.
// The library (4.8 MB; about 1.4 MB gzipped) is a classic script, loaded beside the shell,
// never before it: the header, the tabs and the connection come up at once, and a lab view
// mounts once plotlyReady() resolves (index.html preloads /vendor/plotly.min.js, so the
// download starts with the page and the server's caching headers apply). `Plotly` is a live
// binding: it is set when the script has run, before any view mounts.

export let Plotly = globalThis.Plotly;
let loading = null;

export function plotlyReady() {
  if (Plotly) return Promise.resolve(Plotly);
  loading ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/vendor/plotly.min.js";
    script.onload = () => { Plotly = globalThis.Plotly; resolve(Plotly); };
    script.onerror = () => { loading = null; reject(new Error("plotly.js did not load; reload the page")); };
    document.head.append(script);
  });
  return loading;
}
