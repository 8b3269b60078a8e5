// The classroom on the page: a teacher opens a room ("Start a class") and gets its wall
// (wall.js); a student opens the join link (/?join=ABCD-1234), types a name and follows the
// room: pushed setups and lessons, the lock, the freeze, the challenge. The server enforces
// all of it (server/teaching.py); the page only shows it. Membership survives a reload: the
// session resumes (connection.js) and with it its tile; the teacher token and the student's
// name are kept in the tab (sessionStorage), like the resume token.
import { Wall } from "./wall.js";

const KEY = "descent.room";
const store = {
  get() { try { return JSON.parse(sessionStorage.getItem(KEY)); } catch { return null; } },
  set(v) { try { sessionStorage.setItem(KEY, JSON.stringify(v)); } catch { /* storage off: no rejoin */ } },
  clear() { try { sessionStorage.removeItem(KEY); } catch { /* nothing stored */ } },
};
const joinParam = () => new URLSearchParams(location.search).get("join");

export class Classroom {
  // hooks: { send, toast, configure, control, command, config() (the current setup), schema, views (LAB_VIEWS) }
  constructor(hooks) {
    this.hooks = hooks;
    this.room = null; // the last room message (role teacher or student)
    this.wall = null;
    this.badge = document.createElement("span");
    this.badge.className = "badge room-badge";
    this.badge.hidden = true;
    this.start = document.createElement("button");
    this.start.id = "class-start";
    this.start.className = "badge class-button";
    this.start.textContent = "Start a class";
    this.start.title = "open a room: a join code for your students, and their runs on a wall";
    this.start.addEventListener("click", () => hooks.send({ type: "room", action: "create" }));
    document.querySelector(".meta")?.prepend(this.start, this.badge);
    this.badge.addEventListener("click", () => {
      if (this.room?.role === "student" && confirm("Leave the class? Your run goes on, on your own.")) hooks.send({ type: "room", action: "leave" });
    });
    document.addEventListener("keydown", (e) => {
      if (e.target.closest("input, select, textarea") || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "f" && this.room?.role === "teacher") this.wall?.toggleFreeze();
    });
  }

  // Every hello (a new or resumed session): take the room back, or join the link's room.
  hello(msg) {
    const kept = store.get();
    if (msg.resumed && kept) return; // the server puts a resumed session back in its room
    if (kept?.role === "teacher") this.hooks.send({ type: "room", action: "claim", code: kept.code, teacher_token: kept.token });
    else if (kept?.role === "student") this.hooks.send({ type: "room", action: "join", code: kept.code, name: kept.name });
    else if (joinParam()) this.askName(joinParam());
  }

  askName(code, problem = "") {
    document.querySelector(".join-card")?.remove();
    const card = document.createElement("form");
    card.className = "join-card";
    card.innerHTML = `<h2>Join the class <span class="join-code"></span></h2>
      <label for="join-name">Your name (your teacher sees it on the class wall)</label>
      <input id="join-name" maxlength="24" autocomplete="nickname" required>
      <p class="join-problem" role="alert"></p>
      <div class="join-actions"><button type="submit" class="text-button primary">Join</button>
      <button type="button" class="text-button" data-j="alone">Play on my own</button></div>`;
    card.querySelector(".join-code").textContent = code;
    card.querySelector(".join-problem").textContent = problem;
    card.addEventListener("submit", (e) => {
      e.preventDefault();
      const name = card.querySelector("input").value.trim();
      if (!name) return;
      this.pendingName = name;
      this.hooks.send({ type: "room", action: "join", code, name });
    });
    card.querySelector("[data-j=alone]").addEventListener("click", () => { card.remove(); dropJoinParam(); });
    document.body.append(card);
    card.querySelector("input").focus();
  }

  // A room message of the server: room, wall, leaderboard or spotlight.
  message(msg) {
    if (msg.type === "room") this.onRoom(msg);
    else if (msg.type === "wall") this.wall?.tiles(msg);
    else if (msg.type === "leaderboard") { this.wall?.leaderboard(msg); this.rank(msg); }
    else if (msg.type === "spotlight") this.wall?.spotlight(msg);
  }

  // An error the server sent about a room message (a wrong code, say): the join card shows it.
  error(msg) {
    if (msg.loc?.[0] !== "room") return false;
    const card = document.querySelector(".join-card");
    if (card && msg.loc[1] === "join") {
      card.querySelector(".join-problem").textContent = msg.message;
      return true;
    }
    if (msg.loc[1] === "claim" || (msg.loc[1] === "join" && store.get())) store.clear(); // (a room that ended meanwhile)
    return false;
  }

  onRoom(msg) {
    const body = document.body.classList;
    if (msg.role === "none") {
      this.leave(msg);
      return;
    }
    this.room = msg;
    body.toggle("room-student", msg.role === "student");
    body.toggle("room-locked", msg.role === "student" && msg.locked);
    body.toggle("room-frozen", msg.role === "student" && msg.frozen);
    this.start.hidden = true;
    if (msg.role === "teacher") {
      store.set({ role: "teacher", code: msg.code, token: msg.teacher_token ?? store.get()?.token });
      this.wall ??= new Wall(this.hooks, () => this.room);
      this.wall.show(msg);
      if (msg.message && ["joined", "left", "pushed", "adopt"].includes(msg.event)) this.hooks.toast(msg.message, "info");
      return;
    }
    store.set({ role: "student", code: msg.code, name: msg.name });
    document.querySelector(".join-card")?.remove();
    this.showBadge();
    if (msg.message) this.hooks.toast(msg.message, "info room-toast");
    if (msg.event === "pushed" && msg.lesson) this.lesson(msg.lesson, msg.step);
  }

  showBadge() {
    const r = this.room;
    this.badge.hidden = false;
    const parts = [`Class ${r.code}`, r.name];
    if (r.locked) parts.push("controls locked");
    if (r.frozen) parts.push("paused by the teacher");
    if (r.challenge) parts.push(`challenge: ${r.challenge.goal || "lowest test loss"} in ${r.challenge.epochs} epochs`);
    if (this.place) parts.push(this.place);
    this.badge.textContent = parts.join(" · ");
    this.badge.title = "you are in a class: your teacher sees your run on the wall (click to leave)";
  }

  rank(board) {
    if (this.room?.role !== "student") return;
    const i = board.ranking.findIndex((r) => r.tile === this.room.tile);
    this.place = i >= 0 ? `rank ${i + 1} of ${board.ranking.length}` : null;
    this.showBadge();
  }

  leave(msg) {
    const wasIn = this.room !== null;
    this.room = null;
    this.place = null;
    store.clear();
    dropJoinParam();
    document.body.classList.remove("room-student", "room-locked", "room-frozen", "room-teacher", "room-wall");
    this.badge.hidden = true;
    this.start.hidden = false;
    this.wall?.close();
    this.wall = null;
    if (wasIn && msg.message) this.hooks.toast(msg.message, "info room-toast");
  }

  // A pushed lesson: its preset on this run, and its card (the steps up to `step` done).
  async lesson(id, step) {
    const lessons = await (await fetch("/static/lessons.json")).json();
    const lesson = lessons[id];
    if (!lesson) return;
    this.hooks.configure(lesson.preset);
    this.hooks.control("reset");
    document.querySelector("aside.lesson")?.remove();
    const { showLesson } = await import("../lessons.js");
    const card = showLesson({ id, lesson }, this.hooks.configure, this.hooks.command);
    lesson.tries.slice(0, step).forEach((t) => { if (t.patch) this.hooks.configure(t.patch); }); // (the steps the class did)
    card.querySelectorAll("li").forEach((li, i) => { if (i < step) li.classList.add("done"); });
  }
}

function dropJoinParam() {
  if (!joinParam()) return;
  const url = new URL(location.href);
  url.searchParams.delete("join");
  history.replaceState(null, "", url.href);
}
