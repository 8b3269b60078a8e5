// A view's template marks the elements it updates with data-ref="name": refs(root).name.
export const refs = (root) => Object.fromEntries([...root.querySelectorAll("[data-ref]")].map((el) => [el.dataset.ref, el]));
