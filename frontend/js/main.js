// The page shell: the connection, the run controls, lab switching and the URL hash.
// Each lab's own view lives in labs/<lab>/view.js (see labs/index.js); the labs, their order
// and their tab titles come from the server (/api/schema).
import { Classroom } from "./classroom/index.js";
import { Connection } from "./connection.js";
import { embedApi } from "./embedapi.js";
import { pageOptions, readHash, setPageOption, writeHash } from "./hash.js";
import { LAB_VIEWS } from "./labs/index.js";
import { lessonMenu, lessonPreset, showLesson } from "./lessons.js";
import { remember, setupOf } from "./setups.js";
import { setTheme } from "./theme.js";
import { plotlyReady } from "./view/plotly.js";
import * as state from "./view/state.js";

const $ = (id) => document.getElementById(id);
// In an iframe, the parent page may drive this one (docs/embed.md): listening from the start,
// its messages wait until the page is live.
const embed = embedApi();

export function toast(text, kind = "error") {
  const el = document.createElement("div");
  el.className = `toast ${kind}`;
  el.textContent = text;
  $("toasts").append(el);
  setTimeout(() => el.remove(), 7000);
}

// The page option fps (frames per second asked of the server): 1 to 60, else the default 30.
function frameRate(fps) {
  if (fps === undefined) return 30;
  const n = Number(fps);
  if (Number.isFinite(n) && n >= 1 && n <= 60) return n;
  toast(`fps=${fps} is not allowed: 1 to 60 frames per second; showing 30.`);
  return 30;
}

// A view that fails to draw must never stop the page from applying the messages after it:
// every call into a lab view goes through guard(). The first failure of each kind is shown
// once (a toast that names the view and the error), and counted (state viewFailures).
const reported = new Set();
function guard(lab, what, fn) {
  try {
    return fn();
  } catch (e) {
    const key = `${lab}/${what}/${e?.message}`;
    state.set({ viewFailures: (state.get("viewFailures") ?? 0) + 1 });
    if (!reported.has(key)) {
      reported.add(key);
      console.warn(`the ${lab} view failed to draw a ${what}:`, e);
      toast(`Part of the ${lab} view could not draw a ${what} (${e?.message ?? e}); the rest of the page goes on.`, "error view-error");
    }
    return undefined;
  }
}

const fmtCounter = (n) => String(n).padStart(6, "0").replace(/\B(?=(\d{3})+(?!\d))/g, ",");

// Light / dark: the hash's theme=dark wins (a shared link), then this browser's last choice.
const applyTheme = setTheme;

// Embed mode and hidden parts, from the hash: embed=true, hide_text=true, <key>_hide=true.
function applyPageOptions() {
  const page = pageOptions();
  document.body.classList.toggle("embed", page.embed === "true");
  document.body.classList.toggle("hide-text", page.hide_text === "true");
  // projector=true: every label readable from the back of a room (16 px or more at 1920x1080)
  document.documentElement.classList.toggle("projector", page.projector === "true");
  const hidden = Object.entries(page).filter(([k, v]) => k.endsWith("_hide") && v === "true").map(([k]) => k.slice(0, -5));
  state.set({ hidden }); // views that redraw read it (the network's +/−)
  return hidden;
}

// Hide each control named by a <key>_hide hash key (controls are built by the lab view after mount).
// (a class, not the hidden attribute: labs show and hide their own controls with that)
function hideControls(hidden) {
  for (const key of hidden) {
    for (const el of document.querySelectorAll(`.control[data-key="${CSS.escape(key)}"], [data-control="${CSS.escape(key)}"]`)) {
      el.classList.add("user-hidden");
    }
  }
}

function shareBox() {
  const box = $("share-box");
  const update = () => {
    const url = new URL(location.href);
    const params = new URLSearchParams(url.hash.slice(1));
    params.delete("embed");
    if ($("share-hide-text").checked) params.set("hide_text", "true"); else params.delete("hide_text");
    url.hash = params.toString().replaceAll("%2C", ",");
    $("share-link").value = url.href;
    params.set("embed", "true");
    url.hash = params.toString().replaceAll("%2C", ",");
    $("share-iframe").value = `<iframe src="${url.href}" width="960" height="600" style="border:0" title="Descent playground"></iframe>`;
  };
  $("share").addEventListener("click", () => { box.hidden = !box.hidden; update(); });
  $("share-close").addEventListener("click", () => { box.hidden = true; });
  $("share-hide-text").addEventListener("change", update);
  $("share-link").addEventListener("focus", (e) => e.target.select());
  $("share-iframe").addEventListener("focus", (e) => e.target.select());
}

async function main() {
  const plotly = plotlyReady(); // (downloading while the shell comes up)
  applyTheme(pageOptions().theme ?? localStorage.getItem("descent-theme") ?? "light");
  $("theme").addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    applyTheme(next);
    localStorage.setItem("descent-theme", next);
    if (pageOptions().theme) setPageOption("theme", next);
  });
  const hidden = applyPageOptions();
  shareBox();
  lessonMenu($("lessons"));
  // Where the top bar has no room for every setting (embeds, phones), "⋯ settings" opens them all.
  $("more").addEventListener("click", () => {
    const open = document.body.classList.toggle("hyper-open");
    $("more").setAttribute("aria-expanded", String(open));
  });
  const schema = await (await fetch("/api/schema")).json();
  const lesson = await lessonPreset(); // a lesson link puts its preset in the hash first
  const defaults = (lab) =>
    Object.fromEntries(Object.entries(schema.labs[lab].config.properties).map(([k, p]) => [k, p.default]));
  let conn = null;
  let view = null; // { lab, handlers }
  let queue = Promise.resolve(); // messages are applied in order, across async lab mounts
  let resumedWith = null; // the URL hash when a session was resumed (see "config")
  // A link's config while the server may still refuse one of its keys: the page drops that
  // key (the server's message names it, shown as a toast) and sends the rest again.
  let hashPatch = null;
  let passedOver = null; // a config message held back while the link's lab is on its way

  const configure = (patch) => { embed?.configuring(); conn.send({ type: "configure", config: patch }); };
  const control = (action) => conn.send({ type: "control", action });
  const classroom = new Classroom({ send: (m) => conn.send(m), toast, configure, control, schema, views: LAB_VIEWS,
                                    command: (name, args) => conn.send({ type: "command", name, args }),
                                    config: () => setupOf(state.get("lab")) });

  async function ensureView(lab) {
    if (view?.lab === lab) return view.handlers;
    view?.handlers.unmount();
    setNotice(null); // (a notice belongs to the lab that gave it)
    $("hyper").replaceChildren();
    const module = await LAB_VIEWS[lab]?.();
    if (!module) throw new Error(`this page has no view for the lab ${lab}`);
    await plotly; // the views draw their charts with it
    $("counter-label").textContent = module.counter;
    state.set({ lab });
    for (const tab of $("lab-tabs").children) {
      tab.classList.toggle("active", tab.dataset.lab === lab);
      tab.disabled = false; // live: a click now reaches the server
    }
    const command = (name, args) => conn.send({ type: "command", name, args });
    const ctx = { schema: schema.labs[lab].config, configure, control, command, toast, hyper: $("hyper"), notice: setNotice };
    view = { lab, handlers: await module.mount($("lab-root"), ctx) };
    hideControls(hidden);
    return view.handlers;
  }

  // The banner: a divergence (the run stopped), else a lab's notice (a stalled run, told
  // while it lasts). Each fact once: where it happened, then the lab's explanation, which
  // says what to do (the generic advice is added only when it does not).
  let diverged = null; // the diverged status message
  let notice = null;
  function showBanner() {
    const banner = $("banner");
    banner.hidden = !diverged && !notice;
    banner.classList.toggle("warn", !diverged && Boolean(notice));
    if (diverged) {
      const reason = diverged.reason ?? "the loss is not finite";
      const lr = /learning rate/i.test(reason) ? "" : ` (learning rate ${diverged.lr})`;
      const todo = /reset/i.test(reason) ? "" : " Lower the learning rate, then press reset.";
      banner.textContent = `Diverged at ${$("counter-label").textContent.toLowerCase()} ${diverged.epoch}, step ${diverged.step}${lr}: ${reason}${/[.!]$/.test(reason) ? "" : "."}${todo}`;
    } else if (notice) {
      banner.textContent = notice;
    }
  }
  const setNotice = (text) => { if (text !== notice) { notice = text; showBanner(); } };

  function status(msg) {
    $("play").textContent = msg.state === "running" ? "❚❚" : "▶";
    $("play").setAttribute("aria-label", msg.state === "running" ? "pause" : "play");
    state.set({ state: msg.state });
    diverged = msg.state === "diverged" ? msg : null;
    showBanner();
  }

  // Frames waiting for the next animation frame. The server has at most two out to this
  // page (each ack lets one more come), so this holds two at most: never a backlog.
  const frames = [];
  let firstFrame = false;

  function drawFrame(msg) {
    conn.send({ type: "ack" }); // the server builds the next frame while this one is drawn
    if (view?.lab !== msg.lab) return; // a frame of the lab we are leaving
    $("epoch").textContent = fmtCounter(msg.epoch);
    state.set({ epoch: msg.epoch, step: msg.step, lr: msg.lr });
    guard(view.lab, "frame", () => view.handlers.frame(msg));
    if (!firstFrame) { firstFrame = true; performance.mark("descent:first-frame"); } // (bench/page.py reads it)
  }

  function drawFrames() {
    try {
      if (frames.length) drawFrame(frames.shift());
    } finally { // a view that throws must not stop the frames that follow
      if (frames.length) requestAnimationFrame(drawFrames);
    }
  }

  async function onMessage(msg) {
    embed?.heard(msg);
    // any other message comes after the frames before it: draw those first, in order
    if (msg.type !== "frame") while (frames.length) drawFrame(frames.shift());
    switch (msg.type) {
      case "hello": {
        $("device").textContent = `device: ${msg.device}`;
        $("device").classList.toggle("gpu", msg.device.startsWith("cuda"));
        // 30 frames/s unless the link says (fps=1..60): each frame costs the server's worker
        // a few ms of training time (docs/benchmarks.md measures 30 against 60)
        conn.send({ type: "subscribe", frame_rate: frameRate(pageOptions().fps) });
        state.set({ session: msg.session });
        const patch = readHash(schema);
        if (msg.resumed) { // the session has its config (the config message follows) ...
          resumedWith = Object.keys(patch).length ? location.hash : null;
          classroom.hello(msg);
          break;
        }
        if (msg.resume_error) toast(`Started a new session (${msg.resume_error}).`, "info");
        if (Object.keys(patch).length) { hashPatch = patch; configure(patch); }
        classroom.hello(msg);
        break;
      }
      case "config": {
        // A link to another lab: the new session's default lab comes first; it is neither
        // mounted nor written to the hash (the link's own config follows).
        if (hashPatch?.lab && hashPatch.lab !== msg.config.lab) { passedOver = msg; break; }
        passedOver = null;
        remember(msg.config);
        const handlers = await ensureView(msg.config.lab);
        guard(msg.config.lab, "config", () => handlers.config(msg.config, msg));
        if (hashPatch && msg.changed?.length) hashPatch = null; // the link's setup is in
        if (msg.rebuilt === "optimizer") {
          const what = msg.changed.includes("optimizer") ? "Optimizer" : `Optimizer/schedule settings (${msg.changed.join(", ")})`;
          toast(`${what} changed: the optimizer's state (momentum, moments) was rebuilt; the network is kept.`, "info");
        }
        const hash = resumedWith;
        resumedWith = null;
        writeHash(msg.config, defaults(msg.config.lab));
        embed?.live({ send: (m) => conn.send(m), open: () => conn.ws.readyState === WebSocket.OPEN, configure,
          command: (name, args) => conn.send({ type: "command", name, args }) });
        // ... and a reload finds its own hash; a link with another setup, opened in this
        // tab, applies its keys to the resumed session
        if (hash !== null && hash !== location.hash) {
          history.replaceState(null, "", hash);
          configure(readHash(schema));
        }
        break;
      }
      case "status":
        status(msg);
        if (view) guard(view.lab, "status", () => view.handlers.status(msg));
        break;
      case "frame":
        // Drawn at the display's pace, one per animation frame: two frames that arrive close
        // together are shown one after the other, not the first overwritten unseen.
        frames.push(msg);
        if (frames.length === 1) requestAnimationFrame(drawFrames);
        break;
      case "room": case "wall": case "leaderboard": case "spotlight": // (the classroom: classroom/index.js)
        classroom.message(msg);
        break;
      case "reply":
        if (view) guard(view.lab, "reply", () => view.handlers.reply?.(msg));
        break;
      case "error": {
        if (classroom.error(msg)) break;
        toast(msg.message);
        const key = msg.loc?.[0] === "config" ? (msg.loc[1] ?? msg.message.split(":")[0]) : null;
        if (hashPatch && key in hashPatch) {
          delete hashPatch[key];
          if (Object.keys(hashPatch).length) configure(hashPatch);
          else hashPatch = null;
        } else {
          hashPatch = null;
        }
        if (passedOver && !hashPatch?.lab) { // the link's lab was refused: show the session's
          const config = passedOver;
          passedOver = null;
          await onMessage(config);
        }
        break;
      }
    }
  }

  conn = new Connection(
    (msg) => { queue = queue.then(() => onMessage(msg)).catch((e) => console.error(e)); },
    (s, reason) => {
      $("conn").textContent = { open: "live", closed: "reconnecting…", stopped: "closed · click to reconnect" }[s];
      $("conn").classList.toggle("ok", s === "open");
      $("conn").classList.toggle("stopped", s === "stopped");
      $("conn").title = reason || ""; // (the server said why in an error message, already shown)
    },
  );
  $("conn").addEventListener("click", () => conn.reopen());
  for (const [lab, { title }] of Object.entries(schema.labs ?? {})) {
    const tab = document.createElement("button");
    tab.className = "lab-tab";
    tab.dataset.lab = lab;
    tab.disabled = true; // until the session is live (the first config)
    tab.textContent = title ?? lab;
    tab.addEventListener("click", () => view?.lab !== lab && configure(setupOf(lab)));
    $("lab-tabs").append(tab);
  }
  if (lesson?.error) toast(lesson.error);
  else if (lesson) showLesson(lesson, configure, (name, args) => conn.send({ type: "command", name, args }));

  const togglePlay = () => control(state.get("state") === "running" ? "pause" : "play");
  $("play").addEventListener("click", togglePlay);
  $("step").addEventListener("click", () => control("step"));
  $("reset").addEventListener("click", () => control("reset"));
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, select, textarea")) return;
    if (e.key === " ") { e.preventDefault(); togglePlay(); }
    else if (e.key === "ArrowRight") control("step");
    else if (e.key === "r") control("reset");
  });
}

main();
