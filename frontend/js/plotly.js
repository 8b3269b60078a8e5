// plotly.js (4.8 MB; about 1.4 MB gzipped) loads beside the shell, never before it: the
// header, the tabs and the connection come up at once, and a lab view mounts once plotly is
// there (index.html preloads it, so the download starts with the page).

let loading = null;

export function plotlyReady() {
  if (typeof Plotly !== "undefined") return Promise.resolve();
  loading ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/vendor/plotly.min.js";
    script.onload = () => resolve();
    script.onerror = () => { loading = null; reject(new Error("plotly.js did not load; reload the page")); };
    document.head.append(script);
  });
  return loading;
}
