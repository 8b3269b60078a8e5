// The dataset chooser: a thumbnail per dataset of the run's problem type; the multiclass
// previews show as many classes as the run has, redrawn when that changes.
import { labelOf } from "../../view/index.js";
import { drawThumbnail } from "./boundary.js";

export class Thumbnails {
  // datasets: what /api/datasets gave (at the schema's default number of classes)
  constructor(root, datasets, schema, configure) {
    this.root = root;
    this.thumbs = datasets.map((d) => {
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 72;
      canvas.className = "thumb";
      canvas.title = labelOf(schema, "dataset", d.name);
      canvas.dataset.dataset = d.name;
      canvas.dataset.problem = d.problem;
      canvas.addEventListener("click", () => configure({ dataset: d.name, problem: d.problem }));
      drawThumbnail(canvas, d.points, d.problem);
      return canvas;
    });
    this.previewClasses = schema.properties.classes.default; // what /api/datasets gave above
  }

  async drawPreviews(classes) {
    this.previewClasses = classes;
    const fresh = await (await fetch(`/api/datasets?classes=${classes}`)).json();
    if (classes !== this.previewClasses) return; // a later change overtook this one
    for (const d of fresh.filter((f) => f.problem === "multiclass")) {
      const canvas = this.thumbs.find((c) => c.dataset.dataset === d.name);
      if (!canvas) continue;
      drawThumbnail(canvas, d.points, d.problem);
      canvas.dataset.classes = classes;
    }
  }

  config(config) {
    this.root.replaceChildren(...this.thumbs.filter((c) => c.dataset.problem === config.problem));
    if (config.problem === "multiclass" && config.classes !== this.previewClasses) this.drawPreviews(config.classes);
    for (const c of this.thumbs) c.classList.toggle("selected", c.dataset.dataset === config.dataset);
  }
}
