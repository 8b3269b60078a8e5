// A student's run full-size on the teacher's projector, read-only: the student's lab view,
// mounted a second time beside the teacher's own (its controls inert), drawn from the
// frames the server forwards (the first a full one, with the student's setup).

export class Spotlight {
  constructor(el, hooks, onClose) {
    this.el = el;
    this.hooks = hooks;
    this.view = null; // { lab, handlers }
    this.tile = null;
    this.pending = null; // the latest frame, drawn at the next animation frame
    el.innerHTML = `<div class="spotlight-head"><strong>Spotlight: <span data-s="name"></span></strong>
      <span class="hint">read-only · the student's own run, live</span>
      <button class="text-button" data-s="close">Back to the wall</button></div>
      <div class="spotlight-hyper hyper" data-s="hyper" inert></div><div class="spotlight-root" data-s="root" inert></div>`;
    this.ref = Object.fromEntries([...el.querySelectorAll("[data-s]")].map((e) => [e.dataset.s, e]));
    this.ref.close.addEventListener("click", () => { onClose(); this.close(); });
  }

  async frame(msg) {
    if (msg.config || msg.tile !== this.tile) {
      if (!msg.config) return; // (the first frame of a spotlight carries the setup)
      this.tile = msg.tile;
      this.ref.name.textContent = msg.name;
      this.el.hidden = false;
      document.body.classList.add("room-spotlight");
      this.mounting = this.mount(msg.config);
    }
    await this.mounting;
    if (this.tile !== msg.tile || !this.view) return;
    const first = this.pending === null;
    this.pending = msg.frame;
    if (first) requestAnimationFrame(() => this.draw());
  }

  async mount(config) {
    const noop = () => {};
    this.unmount();
    const module = await this.hooks.views[config.lab]?.();
    if (!module) return;
    const ctx = { schema: this.hooks.schema.labs[config.lab].config, configure: noop, control: noop, command: noop,
                  toast: noop, hyper: this.ref.hyper, notice: noop };
    this.ref.hyper.replaceChildren();
    const handlers = await module.mount(this.ref.root, ctx);
    handlers.config(config, { rebuilt: "lab", changed: [] });
    this.view = { lab: config.lab, handlers };
  }

  draw() {
    const frame = this.pending;
    this.pending = null;
    if (!frame || !this.view || frame.lab !== this.view.lab) return;
    try {
      this.view.handlers.frame(frame);
      this.el.dataset.epoch = frame.epoch; // (tests wait on it)
    } catch (e) {
      console.warn("the spotlight could not draw a frame:", e);
    }
  }

  unmount() {
    try { this.view?.handlers.unmount(); } catch { /* its parts go with it */ }
    this.view = null;
    this.ref.root.replaceChildren();
  }

  close() {
    this.unmount();
    this.tile = null;
    this.el.hidden = true;
    delete this.el.dataset.epoch;
    document.body.classList.remove("room-spotlight");
  }
}
