// The course page of docs/embed.md: its text drives an embedded Descent with postMessage.
// Descent is this page's own server unless ?descent=<origin> names another one.
const params = new URLSearchParams(location.search);
const descent = new URL(params.get("descent") ?? location.origin).origin;
const dark = (params.get("theme") ?? (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light")) === "dark";
document.documentElement.dataset.theme = dark ? "dark" : "light";

const $ = (id) => document.getElementById(id);
const frame = $("descent");
frame.src = `${descent}/#dataset=circle&learning_rate=0.03&embed=true&hide_text=true&theme=${dark ? "dark" : "light"}`;

// Every message carries the API version (descent: 1), a type and, for a reply, an id.
let next = 0;
function send(type, fields = {}) {
  const id = `m${++next}`;
  frame.contentWindow.postMessage({ descent: 1, type, id, ...fields }, descent);
  return id;
}

function log(text, kind = "") {
  const item = document.createElement("li");
  item.textContent = text;
  item.className = kind;
  $("log").prepend(item);
  while ($("log").children.length > 6) $("log").lastChild.remove();
}

// The training loss of each frame event, drawn as a small curve (from its lowest to its highest).
const losses = [];
function drawCurve() {
  const canvas = $("curve");
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  const shown = losses.slice(-300).filter(Number.isFinite);
  if (shown.length < 2) return;
  const low = Math.min(...shown);
  const range = Math.max(Math.max(...shown) - low, 1e-9);
  g.strokeStyle = getComputedStyle(document.body).getPropertyValue("--accent");
  g.lineWidth = 3;
  g.beginPath();
  shown.forEach((v, i) => g.lineTo((i / (shown.length - 1)) * canvas.width, canvas.height - 4 - ((v - low) / range) * (canvas.height - 8)));
  g.stroke();
}

const fmt = (v, digits = 3) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));
let lastEpoch = -1;

function onFrame(f) {
  $("epoch").textContent = f.epoch;
  $("train").textContent = fmt(f.losses.train);
  $("test").textContent = fmt(f.losses.test);
  $("lr").textContent = f.lr;
  if (f.epoch < lastEpoch) losses.length = 0; // a reset: a new curve
  lastEpoch = f.epoch;
  losses.push(f.losses.train);
  drawCurve();
}

window.addEventListener("message", (e) => {
  // only Descent's frame speaks this protocol; anything else is not for us
  if (e.origin !== descent || e.source !== frame.contentWindow || e.data?.descent !== 1) return;
  const msg = e.data;
  switch (msg.type) {
    case "ready": log(`ready: lab ${msg.lab}, lr ${msg.config?.learning_rate}`); break;
    case "subscribed": for (const b of document.querySelectorAll("button")) b.disabled = false; break;
    case "frame": onFrame(msg); break;
    case "status": $("state").textContent = msg.state; break;
    case "diverged": log(`diverged at epoch ${msg.epoch}: ${msg.reason ?? "the loss is not finite"}`, "error"); break;
    case "config": if (msg.id) log(`lr is now ${msg.config.learning_rate} (changed: ${msg.changed.join(", ") || "nothing"})`); break;
    case "error": log(`error: ${msg.message}`, "error"); break;
  }
});

// Subscribe once the frame has loaded (Descent holds messages until its page is live).
frame.addEventListener("load", () => send("subscribe", { events: ["frame", "status", "diverged", "config", "error"], frame_rate: 5 }));

$("try-high").addEventListener("click", () => { send("configure", { config: { learning_rate: 3 } }); send("control", { action: "play" }); });
$("try-low").addEventListener("click", () => { send("configure", { config: { learning_rate: 0.03 } }); send("control", { action: "play" }); });
$("play").addEventListener("click", () => send("control", { action: "play" }));
$("pause").addEventListener("click", () => send("control", { action: "pause" }));
$("reset").addEventListener("click", () => send("control", { action: "reset" }));
