// "Show the code": a dialog with the plain PyTorch script of the current setup, to read,
// copy or download. The lab writes the script on the server (its `code` command).
export class CodePanel {
  constructor() {
    this.el = document.createElement("div");
    this.el.className = "code-panel";
    this.el.hidden = true;
    this.el.innerHTML = `<div class="code-box" role="dialog" aria-label="the code of this setup">
      <div class="code-head">
        <strong>The plain PyTorch code of this setup</strong>
        <span class="hint">data, model, loss, optimizer, scheduler and the training loop; run it with <code>python <span data-c="name"></span></code></span>
        <span class="code-actions">
          <button class="text-button small" data-c="copy">Copy</button>
          <a class="text-button small" data-c="download">Download</a>
          <button class="round tiny" data-c="close" aria-label="close">×</button>
        </span>
      </div>
      <pre class="code-text"><code data-c="text"></code></pre></div>`;
    this.c = Object.fromEntries([...this.el.querySelectorAll("[data-c]")].map((e) => [e.dataset.c, e]));
    this.c.close.addEventListener("click", () => this.hide());
    this.el.addEventListener("click", (e) => { if (e.target === this.el) this.hide(); });
    this.c.copy.addEventListener("click", async () => {
      await navigator.clipboard?.writeText(this.c.text.textContent);
      this.c.copy.textContent = "Copied";
    });
    this.onKey = (e) => { if (e.key === "Escape") this.hide(); };
    document.body.append(this.el);
  }

  show({ filename, script }) {
    this.c.text.textContent = script;
    this.c.name.textContent = filename;
    this.c.copy.textContent = "Copy";
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = URL.createObjectURL(new Blob([script], { type: "text/x-python" }));
    this.c.download.href = this.url;
    this.c.download.download = filename;
    this.el.hidden = false;
    document.addEventListener("keydown", this.onKey);
  }

  hide() {
    this.el.hidden = true;
    document.removeEventListener("keydown", this.onKey);
  }

  destroy() {
    this.hide();
    if (this.url) URL.revokeObjectURL(this.url);
    this.el.remove();
  }
}
