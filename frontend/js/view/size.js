// An element's size (clientWidth, clientHeight) without a layout read in the frame loop: the
// first call reads it once, then a ResizeObserver keeps it (its callback runs after layout,
// where reading sizes costs nothing). Reading clientWidth while frames stream in makes the
// browser lay the page out again at each read, on top of its own layout for painting.
const sizes = new WeakMap();
const observer = new ResizeObserver((entries) => {
  for (const { target } of entries) sizes.set(target, [target.clientWidth, target.clientHeight]);
});

export function sizeOf(el) {
  let size = sizes.get(el);
  if (!size) {
    size = [el.clientWidth, el.clientHeight];
    sizes.set(el, size);
    observer.observe(el);
  }
  return size;
}

export const widthOf = (el) => sizeOf(el)[0];
