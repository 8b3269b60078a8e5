// Guided lessons: a few lines of text, a preset, and "now try this" steps, each a link:
// /?lesson=<id> loads the preset (unless the link carries its own hash) and shows the card.
// The lessons themselves are data: frontend/lessons.json (tests check every preset and step).

import { isPageKey } from "./hash.js";

const param = () => new URLSearchParams(location.search).get("lesson");

// Before the shell reads the URL hash: a lesson link without a hash gets the lesson's preset.
export async function lessonPreset() {
  const id = param();
  if (!id) return null;
  const lessons = await (await fetch("/static/lessons.json")).json();
  const lesson = lessons[id];
  if (!lesson) return { error: `unknown lesson '${id}'; lessons: ${Object.keys(lessons).join(", ")}` };
  // page options (embed=true, theme ...) stay; any setup key in the link wins over the preset
  const params = new URLSearchParams(location.hash.slice(1));
  if ([...params.keys()].every(isPageKey)) {
    const page = params.toString();
    history.replaceState(null, "", `${location.search}#${toHash(lesson.preset)}${page ? `&${page}` : ""}`);
  }
  return { id, lesson };
}

export function toHash(config) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(config)) params.set(key, Array.isArray(value) ? value.join(",") : String(value));
  return params.toString().replaceAll("%2C", ",");
}

// The lesson card: text, steps with a "do it" button where the step changes the setup
// (``patch``) or starts a second run beside the main one (``fork``: the
// lab's fork command, whose curves the loss chart overlays on the main run's).
export function showLesson({ id, lesson }, configure, command) {
  const card = document.createElement("aside");
  card.className = "lesson";
  card.dataset.lesson = id;
  card.innerHTML = `<div class="lesson-head"><span class="lesson-kicker">Lesson</span><strong></strong>
      <button class="round tiny" data-l="fold" aria-label="fold the lesson">–</button></div>
    <div class="lesson-body"><p></p><ol></ol></div>`;
  card.querySelector("strong").textContent = lesson.title;
  card.querySelector("p").textContent = lesson.text;
  const list = card.querySelector("ol");
  lesson.tries.forEach((step, i) => {
    const item = document.createElement("li");
    item.textContent = step.text;
    if (step.patch || step.fork) {
      const go = document.createElement("button");
      go.className = "text-button small";
      go.textContent = "do it";
      go.dataset.step = i;
      go.addEventListener("click", () => {
        if (step.patch) configure(step.patch);
        if (step.fork) command("fork", { patch: step.fork });
        item.classList.add("done");
      });
      item.append(" ", go);
    }
    list.append(item);
  });
  card.querySelector("[data-l=fold]").addEventListener("click", () => card.classList.toggle("folded"));
  document.body.append(card);
  return card;
}

// The lessons menu in the top bar: every lesson by its title; choosing one opens its link.
export async function lessonMenu(select) {
  const lessons = await (await fetch("/static/lessons.json")).json();
  select.replaceChildren(new Option("Lessons…", ""), ...Object.entries(lessons).map(([id, l]) => new Option(l.title, id)));
  select.value = param() ?? "";
  select.addEventListener("change", () => { if (select.value) location.assign(`/?lesson=${encodeURIComponent(select.value)}`); });
}
