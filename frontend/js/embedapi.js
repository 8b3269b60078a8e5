// The embed API: a course page that embeds Descent in an iframe drives it with postMessage
// (docs/embed.md). Its messages take the paths the page's own controls take: a config goes to
// the server as a configure message, and the server's answer (the applied config, or an error
// naming the field) goes back to the parent with the message's id. Only the parent window is
// listened to, and only from the origins the server allows (/api/embed, DESCENT_EMBED_ORIGINS).
import { FRAME_RATE, VERSION, frameSummary, isOurs, validate } from "./embedmessages.js";
import { showLesson } from "./lessons.js";

const WAITING = 64; // messages held until the page is live; past that, one is refused
const RATE = 10; // messages a second the parent may have passed on to the server ...
const BURST = 20; // ... in bursts of this many (the server closes a connection that floods it)

const error = (message, loc = [], id = undefined) => ({ type: "error", id, message, loc });

// null outside an iframe: only an embedding page can drive the page.
export function embedApi() {
  return window.parent !== window ? new EmbedApi() : null;
}

class EmbedApi {
  constructor() {
    this.inbox = []; // parent messages not handled yet (all of them until the page is live)
    this.chain = Promise.resolve(); // handled one after the other, in order
    this.page = null; // main.js's hooks, once its first config is shown
    this.origins = null; // who may drive it, from the server
    this.unreadable = null; // why the origins could not be read
    this.pending = []; // configures sent, in order, awaiting the server's answer: { id, origin } or { own: true }
    this.introduction = false; // a session's first config after hello answers no configure
    this.status = null; // the last status message
    this.frame = null; // the last frame's summary
    this.config = null;
    this.sub = { events: new Set(), interval: 1000 / FRAME_RATE.default, origin: null, at: -Infinity, timer: null };
    this.tokens = BURST;
    this.filled = performance.now();
    this.lessons = null; // lessons.json, read on the first lesson message
    window.addEventListener("message", (e) => this.receive(e));
    fetch("/api/embed")
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then(({ origins }) => { this.origins = origins; }, (e) => { this.origins = []; this.unreadable = e.message; })
      .finally(() => this.start());
  }

  // ---- from main.js ----------------------------------------------------------------

  // The page shows its first config: once its status is known too, it is live and what waited is handled.
  live(page) {
    if (this.page) return;
    this.page = page;
    this.start();
  }

  // The page itself sent a configure (its controls, a lesson's button, the link's setup).
  configuring() {
    this.pending.push({ own: true });
  }

  // Every server message, in the order the page handles them.
  heard(msg) {
    switch (msg.type) {
      case "hello": // a new connection: answers to what was sent before are lost
        for (const p of this.pending.splice(0)) {
          if (!p.own) this.post(p.origin, error("the connection to the server was lost before it answered; send it again", [], p.id));
        }
        this.introduction = true;
        break;
      case "config": {
        this.config = msg.config;
        const body = { config: msg.config, changed: msg.changed ?? [], rebuilt: msg.rebuilt };
        const asked = this.introduction ? null : this.pending.shift();
        this.introduction = false;
        if (asked && !asked.own) this.post(asked.origin, { type: "config", id: asked.id, ...body });
        this.emit("config", body);
        break;
      }
      case "error": {
        const asked = msg.loc?.[0] === "config" ? this.pending.shift() : null;
        if (asked && !asked.own) this.post(asked.origin, error(msg.message, msg.loc ?? [], asked.id));
        else this.emit("error", { message: msg.message, loc: msg.loc ?? [] });
        break;
      }
      case "status": {
        const was = this.status?.state;
        this.status = { state: msg.state, epoch: msg.epoch, step: msg.step, lr: msg.lr ?? null, reason: msg.reason ?? null };
        this.emit("status", this.status);
        if (msg.state === "diverged" && was !== "diverged") {
          this.emit("diverged", { epoch: msg.epoch, step: msg.step, lr: msg.lr ?? null, reason: msg.reason ?? null });
        }
        this.start(); // (the first status, right after the first config, makes the page live)
        break;
      }
      case "frame":
        this.frame = frameSummary(msg);
        this.frameEvent();
        break;
    }
  }

  // ---- from the parent -------------------------------------------------------------

  receive(e) {
    if (e.source !== window.parent || !isOurs(e.data)) return; // (not for us)
    if (this.inbox.length >= WAITING) {
      this.post(e.origin, error(`too many messages before the page is live: at most ${WAITING} wait; this one was dropped`));
      return;
    }
    this.inbox.push({ data: e.data, origin: e.origin });
    this.start();
  }

  start() {
    if (!this.page || !this.status || this.origins === null) return;
    if (!this.announced) { this.announced = true; this.announce(); }
    while (this.inbox.length) {
      const item = this.inbox.shift();
      this.chain = this.chain.then(() => this.handle(item)).catch((e) => console.error("embed API:", e));
    }
  }

  allowed(origin) {
    return this.origins.includes("*") || origin === location.origin || this.origins.includes(origin);
  }

  async handle({ data, origin }) {
    const checked = validate(data);
    const reply = (msg) => this.post(origin, msg);
    if (!this.allowed(origin)) {
      const why = this.unreadable
        ? `the embed settings could not be read (/api/embed: ${this.unreadable}); reload the page`
        : `${origin} may not drive this embed; allowed: ${this.origins.length ? this.origins.join(", ") : "none"} (the server's DESCENT_EMBED_ORIGINS)`;
      reply(error(`origin: ${why}`, ["origin"], checked.id));
      return;
    }
    if (checked.error) {
      reply({ type: "error", id: checked.id, ...checked.error });
      return;
    }
    const msg = checked.message;
    switch (msg.type) {
      case "configure":
        this.forward(reply, origin, msg.id, { type: "configure", config: msg.config });
        break;
      case "control":
        this.forward(reply, origin, msg.id, { type: "control", action: msg.action });
        break;
      case "lesson":
        await this.lesson(msg, reply, origin);
        break;
      case "subscribe":
        this.subscribe(msg, origin, reply);
        break;
      case "get":
        reply({ type: "state", id: msg.id, ...this.snapshot() });
        break;
    }
  }

  // Pass a message on to the server; a configure's answer comes back when the server gives it.
  forward(reply, origin, id, message) {
    if (!this.take()) {
      reply(error(`too many messages: at most ${RATE} a second (bursts of ${BURST}) reach the server; this one was dropped`, [], id));
      return;
    }
    if (!this.page.open()) {
      reply(error("not connected to the server (reconnecting); send it again", [], id));
      return;
    }
    if (message.type === "configure") this.pending.push({ id, origin });
    this.page.send(message);
    if (message.type !== "configure") reply({ type: "ok", id });
  }

  // Start a lesson (its card, its preset) or do one of its "try this" steps.
  async lesson(msg, reply, origin) {
    this.lessons ??= fetch("/static/lessons.json").then((r) => r.json());
    const lessons = await this.lessons;
    const lesson = Object.hasOwn(lessons, msg.lesson) ? lessons[msg.lesson] : null;
    if (!lesson) {
      reply(error(`lesson: unknown lesson ${JSON.stringify(msg.lesson)}; allowed: ${Object.keys(lessons).join(", ")}`, ["lesson"], msg.id));
      return;
    }
    if (msg.step !== undefined && msg.step >= lesson.tries.length) {
      reply(error(`step: ${msg.step} is not allowed; allowed: 0 to ${lesson.tries.length - 1} (this lesson's steps)`, ["step"], msg.id));
      return;
    }
    let card = document.querySelector(".lesson");
    if (card?.dataset.lesson !== msg.lesson) {
      card?.remove();
      card = showLesson({ id: msg.lesson, lesson }, this.page.configure, this.page.command);
    }
    if (msg.step === undefined) {
      this.forward(reply, origin, msg.id, { type: "configure", config: lesson.preset });
      return;
    }
    const step = lesson.tries[msg.step];
    card.querySelectorAll(".lesson-body li")[msg.step]?.classList.add("done");
    if (step.fork) this.page.command("fork", { patch: step.fork });
    if (step.patch) this.forward(reply, origin, msg.id, { type: "configure", config: step.patch });
    else reply({ type: "ok", id: msg.id });
  }

  subscribe(msg, origin, reply) {
    clearTimeout(this.sub.timer);
    const rate = msg.frame_rate ?? FRAME_RATE.default;
    this.sub = { events: new Set(msg.events), interval: 1000 / rate, origin, at: -Infinity, timer: null };
    reply({ type: "subscribed", id: msg.id, events: msg.events, frame_rate: rate });
    // where things stand now, so a readout need not wait for the next change
    if (this.status) this.emit("status", this.status);
    if (this.frame) this.frameEvent();
  }

  // ---- to the parent ---------------------------------------------------------------

  post(origin, msg) {
    // ("null": a page opened from a file or sandboxed; only "*" lets it in, so "*" reaches it)
    window.parent.postMessage({ descent: VERSION, ...msg }, origin === "null" ? "*" : origin);
  }

  emit(type, body) {
    if (this.sub.events.has(type)) this.post(this.sub.origin, { type, ...body });
  }

  // Frame events at the subscribed rate: the newest frame, at most one per interval; the last
  // frame of a burst is sent at the end of its interval, so a paused run's readout is current.
  frameEvent() {
    const sub = this.sub;
    if (!sub.events.has("frame") || sub.timer) return;
    const wait = sub.at + sub.interval - performance.now();
    const send = () => {
      sub.timer = null;
      sub.at = performance.now();
      this.emit("frame", this.frame);
    };
    if (wait <= 0) send();
    else sub.timer = setTimeout(send, wait);
  }

  // ready: told to the parent once the page is live, where its origin may drive it.
  announce() {
    const parent = location.ancestorOrigins?.[0]; // (Chromium and Safari tell a frame its parent's origin)
    const target = this.origins.includes("*") ? "*" : parent && this.allowed(parent) ? parent : null;
    if (target) window.parent.postMessage({ descent: VERSION, type: "ready", ...this.snapshot() }, target);
  }

  snapshot() {
    const run = this.frame ?? this.status ?? {};
    return { lab: this.config?.lab ?? null, config: this.config, state: this.status?.state ?? null,
      epoch: run.epoch ?? 0, step: run.step ?? 0, lr: run.lr ?? null };
  }

  take() {
    const now = performance.now();
    this.tokens = Math.min(BURST, this.tokens + ((now - this.filled) / 1000) * RATE);
    this.filled = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
