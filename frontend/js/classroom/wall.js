// The teacher's side of a room: the join code, link and QR code for the projector, the
// class controls (send my setup, lock, freeze, challenge, download, end) and the wall of
// tiles (tiles.js), one per student, sortable by test loss; a click spotlights a student's
// run (spotlight.js). Everything here only asks the server (server/teaching.py).
import { drawQr } from "./qr.js";
import { Spotlight } from "./spotlight.js";
import { TileView } from "./tiles.js";

const TEMPLATE = `
  <div class="class-head">
    <div class="class-join">
      <canvas class="class-qr" data-w="qr" title="click to enlarge" aria-label="QR code of the join link"></canvas>
      <div>
        <div class="class-kicker">Join the class at</div>
        <div class="class-link" data-w="link"></div>
        <div class="class-kicker">code <strong class="class-code" data-w="code"></strong> · <span data-w="count"></span></div>
      </div>
    </div>
    <div class="class-actions">
      <button class="text-button primary" data-w="push" title="every student's run resets to your current setup">Send my setup to the class</button>
      <label class="check"><input type="checkbox" data-w="lock"> lock students' controls</label>
      <button class="text-button" data-w="freeze" title="pause every run in the room (key f)">❚❚ Freeze all <kbd>f</kbd></button>
      <button class="text-button" data-w="view" title="the wall, or your own lab">Show my lab</button>
      <button class="text-button" data-w="csv">Wall as CSV</button>
      <button class="text-button" data-w="json">JSON</button>
      <button class="text-button danger" data-w="end">End class</button>
    </div>
  </div>
  <form class="class-challenge" data-w="challenge">
    <strong>Challenge</strong>
    <input data-w="goal" maxlength="200" placeholder="lowest test loss on spiral, any optimizer and LR" aria-label="goal">
    <label>budget <input data-w="epochs" type="number" min="1" max="100000" value="200" aria-label="epoch budget"> epochs</label>
    <label class="check"><input type="checkbox" data-w="withSetup" checked> from my setup</label>
    <button class="text-button" data-w="startChallenge" type="submit">Start</button>
    <button class="text-button" data-w="stopChallenge" type="button" hidden>End challenge</button>
    <ol class="leaderboard" data-w="board"></ol>
  </form>
  <div class="wall-bar"><strong>Class wall</strong>
    <label>sort by <select data-w="sort"><option value="join">joining order</option><option value="loss">test loss</option></select></label>
    <span class="hint">click a tile to show that run on the projector</span></div>
  <div class="wall" data-w="wall"><p class="wall-empty">Students who open the link appear here.</p></div>
  <div class="spotlight" data-w="spot" hidden></div>`;

export class Wall {
  constructor(hooks, room) {
    this.hooks = hooks;
    this.room = room;
    this.views = new Map(); // tile -> TileView
    this.el = document.createElement("section");
    this.el.className = "classroom";
    this.el.innerHTML = TEMPLATE;
    this.w = Object.fromEntries([...this.el.querySelectorAll("[data-w]")].map((e) => [e.dataset.w, e]));
    document.getElementById("banner").after(this.el);
    document.body.classList.add("room-teacher", "room-wall");
    this.spot = new Spotlight(this.w.spot, hooks, () => this.hooks.send({ type: "room", action: "spotlight", tile: null }));
    const send = (m) => hooks.send({ type: "room", ...m });
    this.w.push.addEventListener("click", () => send({ action: "push", config: hooks.config() }));
    this.w.lock.addEventListener("change", () => send({ action: "lock", locked: this.w.lock.checked }));
    this.w.freeze.addEventListener("click", () => this.toggleFreeze());
    this.w.end.addEventListener("click", () => { if (confirm("End the class? Students' runs go on without the room.")) send({ action: "end" }); });
    this.w.view.addEventListener("click", () => this.showWall(!document.body.classList.contains("room-wall")));
    this.w.csv.addEventListener("click", () => this.download("csv"));
    this.w.json.addEventListener("click", () => this.download("json"));
    this.w.sort.addEventListener("change", () => this.arrange());
    this.w.qr.addEventListener("click", () => this.w.qr.classList.toggle("big"));
    this.w.challenge.addEventListener("submit", (e) => {
      e.preventDefault();
      const epochs = Number(this.w.epochs.value);
      send({ action: "challenge", goal: this.w.goal.value || this.w.goal.placeholder, epochs,
             config: this.w.withSetup.checked ? hooks.config() : null });
    });
    this.w.stopChallenge.addEventListener("click", () => send({ action: "challenge", epochs: null }));
  }

  show(msg) {
    const link = `${location.origin}/?join=${msg.code}`;
    if (this.w.link.textContent !== link) {
      this.w.link.textContent = link;
      this.w.code.textContent = msg.code;
      drawQr(this.w.qr, link, 8);
    }
    this.w.count.textContent = `${msg.students} student${msg.students === 1 ? "" : "s"}`;
    this.w.lock.checked = msg.locked;
    this.w.freeze.innerHTML = msg.frozen ? "▶ Resume all <kbd>f</kbd>" : "❚❚ Freeze all <kbd>f</kbd>";
    this.w.freeze.classList.toggle("active", msg.frozen);
    this.w.startChallenge.textContent = msg.challenge ? "Restart" : "Start";
    this.w.stopChallenge.hidden = !msg.challenge;
    if (!msg.challenge) this.w.board.replaceChildren();
    document.body.dataset.roomCode = msg.code; // (tests wait on it)
  }

  toggleFreeze() {
    this.hooks.send({ type: "room", action: "freeze", frozen: !this.room()?.frozen });
  }

  showWall(on) {
    document.body.classList.toggle("room-wall", on);
    this.w.view.textContent = on ? "Show my lab" : "Show the wall";
    if (!on) window.dispatchEvent(new Event("resize")); // (the lab's charts take their width again)
  }

  tiles(msg) {
    if (msg.full) {
      for (const [tile, view] of this.views) if (!msg.tiles.some((t) => t.tile === tile)) { view.el.remove(); this.views.delete(tile); }
    }
    for (const t of msg.tiles) {
      let view = this.views.get(t.tile);
      if (!view) {
        view = new TileView(t.tile, () => this.hooks.send({ type: "room", action: "spotlight", tile: t.tile }));
        this.views.set(t.tile, view);
      }
      view.update(t);
    }
    this.arrange();
    document.body.dataset.wallTiles = String([...this.views.values()].filter((v) => v.epoch >= 0).length);
  }

  arrange() {
    const views = [...this.views.values()];
    if (this.w.sort.value === "loss") views.sort((a, b) => (a.loss ?? Infinity) - (b.loss ?? Infinity));
    else views.sort((a, b) => a.order - b.order);
    this.w.wall.querySelector(".wall-empty")?.remove();
    views.forEach((v, i) => { if (this.w.wall.children[i] !== v.el) this.w.wall.insertBefore(v.el, this.w.wall.children[i] ?? null); });
  }

  leaderboard(board) {
    const rows = board.ranking.map((r, i) => {
      const li = document.createElement("li");
      li.className = r.done ? "done" : "";
      const name = document.createElement("span");
      name.textContent = r.name; // (names are text, never markup)
      const loss = document.createElement("span");
      loss.className = "num";
      loss.textContent = r.loss == null ? "—" : r.loss.toPrecision(3);
      const epoch = document.createElement("span");
      epoch.className = "hint";
      epoch.textContent = r.done ? "done" : `epoch ${r.epoch}/${board.epochs}`;
      const show = document.createElement("button");
      show.className = "text-button small";
      show.textContent = i === 0 ? "fork it here" : "show";
      show.title = i === 0 ? "fork this run onto your page, weights and all (then Show the code)" : "spotlight this run";
      show.addEventListener("click", () => this.hooks.send(i === 0 ? { type: "room", action: "adopt", tile: r.tile }
                                                                   : { type: "room", action: "spotlight", tile: r.tile }));
      li.append(name, loss, epoch, show);
      return li;
    });
    this.w.board.replaceChildren(...rows);
  }

  spotlight(msg) {
    if (msg.frame === null) this.spot.close();
    else this.spot.frame(msg);
  }

  async download(format) {
    const r = this.room();
    const token = JSON.parse(sessionStorage.getItem("descent.room") ?? "{}").token;
    const response = await fetch(`/api/rooms/${r.code}/wall?format=${format}`, { headers: { "X-Teacher-Token": token ?? "" } });
    if (!response.ok) { this.hooks.toast(`The wall could not be downloaded (${response.status}).`); return; }
    const a = document.createElement("a");
    a.href = URL.createObjectURL(await response.blob());
    a.download = `descent-${r.code}.${format}`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  close() {
    this.spot.close();
    this.el.remove();
    delete document.body.dataset.roomCode;
    delete document.body.dataset.wallTiles;
    window.dispatchEvent(new Event("resize"));
  }
}
