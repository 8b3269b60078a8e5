// The LR schedule's own parameters (step_size, gamma, milestones ...), shown next to the
// schedule select: only those the chosen schedule reads (the registry's `uses`).

export class ScheduleParams {
  constructor(container, configSchema, configure) {
    this.props = configSchema.properties;
    this.configure = configure;
    this.catalog = null; // schedule name -> {label, uses}
    this.config = null;
    this.box = document.createElement("div");
    this.box.className = "schedule-params";
    container.append(this.box);
  }

  setCatalog(schedules) {
    this.catalog = schedules;
    const select = document.getElementById("ctl-schedule");
    for (const option of select?.options ?? []) option.textContent = schedules[option.value]?.label ?? option.value;
    if (this.config) this.render(this.config);
  }

  render(config) {
    clearTimeout(this.revert);
    this.config = config;
    const uses = this.catalog?.[config.schedule]?.uses ?? [];
    this.box.replaceChildren(...uses.map((key) => this.input(key, config[key])));
  }

  // As for the racer cards: a refused value goes back to the server's after a moment.
  send(patch) {
    this.configure(patch);
    clearTimeout(this.revert);
    this.revert = setTimeout(() => this.render(this.config), 2000);
  }

  input(key, value) {
    const prop = this.props[key];
    const box = document.createElement("div");
    box.className = "control";
    const label = document.createElement("label");
    label.textContent = key.replace("_", " ");
    label.title = prop.description ?? key;
    const input = document.createElement("input");
    input.className = "schedule-param";
    input.dataset.key = key;
    input.setAttribute("aria-label", key);
    if (Array.isArray(value)) {
      input.type = "text";
      input.value = value.join(",");
      input.addEventListener("change", () => this.send({ [key]: input.value.split(",").map((v) => Number(v.trim())) }));
    } else {
      input.type = "number";
      input.step = "any";
      input.value = value;
      // the server checks the range and names it when the value is outside
      input.addEventListener("change", () => this.send({ [key]: Number(input.value) }));
    }
    box.append(label, input);
    return box;
  }
}
