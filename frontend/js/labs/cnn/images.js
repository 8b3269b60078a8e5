// Small images of the convolution lab: filters and feature maps arrive as uint8 base64 stacks
// (signed: byte 128 = 0, drawn on the diverging orange-white-blue scale; unsigned: white to
// dark blue), painted pixel for pixel into one canvas per layer and scaled up by CSS.
import { decodeBase64, LUT } from "../../view/index.js";

const RAMP_LO = [247, 249, 251];
const RAMP_HI = [8, 48, 107];
const RAMP = Array.from({ length: 256 }, (_, b) => RAMP_LO.map((lo, i) => Math.round(lo + ((RAMP_HI[i] - lo) * b) / 255)));

export const colorFor = (signed) => (signed ? LUT : RAMP);

export function decode(images) {
  return { ...images, bytes: decodeBase64(images.data) };
}

// Each canvas's pixel buffer, kept while its size stays (a new one per frame and canvas was
// garbage the page's collector had to find, thirty times a second).
const images = new WeakMap();
function imageOf(canvas, ctx, width, height) {
  let img = images.get(canvas);
  if (!img || img.width !== width || img.height !== height) {
    img = ctx.createImageData(width, height);
    images.set(canvas, img);
  } else {
    img.data.fill(0); // (the gaps and empty tiles stay clear)
  }
  return img;
}

// Paint tiles (rows x cols of h x w pixels, 1-pixel gaps) into ``canvas``; tile(r, c) -> Uint8Array
// of h*w bytes or null (left empty). ``scale`` CSS pixels per image pixel.
export function paintTiles(canvas, rows, cols, h, w, tile, lut, scale) {
  const width = cols * (w + 1) - 1;
  const height = rows * (h + 1) - 1;
  if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
  const css = `${width * scale}px`;
  if (canvas.style.width !== css) canvas.style.width = css; // (a style write costs a restyle, even of the same value)
  if (canvas.style.height !== `${height * scale}px`) canvas.style.height = `${height * scale}px`;
  const ctx = canvas.getContext("2d");
  const img = imageOf(canvas, ctx, width, height);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const bytes = tile(r, c);
      if (!bytes) continue;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const color = lut[bytes[y * w + x]];
          const at = 4 * ((r * (h + 1) + y) * width + c * (w + 1) + x);
          img.data[at] = color[0]; img.data[at + 1] = color[1]; img.data[at + 2] = color[2]; img.data[at + 3] = 255;
        }
      }
    }
  }
  ctx.putImageData(img, 0, 0);
}

// A filter bank (C_out, C_in, K, K): one column per filter (output channel), one row per
// input channel it reads.
export function paintFilters(canvas, images, maxWidth) {
  const { bytes, shape: [cout, cin, k] } = images;
  const per = k * k;
  const scale = Math.max(2, Math.min(10, Math.floor(maxWidth / (cout * (k + 1)))));
  paintTiles(canvas, cin, cout, k, k, (r, c) => bytes.subarray((c * cin + r) * per, (c * cin + r + 1) * per), colorFor(images.signed), scale);
  return scale;
}

// Feature maps (C, H, W): one row when they fit at 3 or more pixels per pixel, else rows of 8.
export function paintMaps(canvas, images, maxWidth) {
  const { bytes, shape: [c, h, w] } = images;
  const cols = maxWidth / (c * (w + 1)) >= 3 ? c : Math.min(c, 8);
  const rows = Math.ceil(c / cols);
  const scale = Math.max(2, Math.min(8, Math.floor(maxWidth / (cols * (w + 1)))));
  paintTiles(canvas, rows, cols, h, w, (r, col) => {
    const i = r * cols + col;
    return i < c ? bytes.subarray(i * h * w, (i + 1) * h * w) : null;
  }, colorFor(images.signed), scale);
  return { scale, cols, h, w };
}

// One (S, S) image (255 = ink).
export function paintImage(canvas, base64, size, px) {
  const bytes = decodeBase64(base64);
  paintTiles(canvas, 1, 1, size, size, () => bytes, RAMP, Math.max(1, Math.round(px / size)));
}
