// A small QR code encoder for the join link on the projector (no library, no download):
// byte mode, error correction level M, versions 1 to 6 (up to 106 bytes: a link with a join
// code is about 40). After ISO/IEC 18004 and Nayuki's reference implementation; checked module by
// module against the segno package (versions 1-6, every mask) while written, and
// tests/test_room_browser.py compares one code with segno's.

// per version: [total codewords, EC codewords per block, blocks] at level M
const VERSIONS = [null, [26, 10, 1], [44, 16, 1], [70, 26, 1], [100, 18, 2], [134, 24, 2], [172, 16, 4]];
const ALIGN = [null, null, 18, 22, 26, 30, 34]; // the one alignment pattern's centre (versions 2-6)

function gfMul(x, y) { // multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1
  let z = 0;
  for (let i = 7; i >= 0; i--) {
    z = (z << 1) ^ ((z >>> 7) * 0x11d);
    z ^= ((y >>> i) & 1) * x;
  }
  return z;
}

function rsDivisor(degree) {
  const result = new Array(degree).fill(0);
  result[degree - 1] = 1;
  let root = 1;
  for (let i = 0; i < degree; i++) {
    for (let j = 0; j < degree; j++) {
      result[j] = gfMul(result[j], root);
      if (j + 1 < degree) result[j] ^= result[j + 1];
    }
    root = gfMul(root, 2);
  }
  return result;
}

function rsRemainder(data, divisor) {
  const result = divisor.map(() => 0);
  for (const b of data) {
    const factor = b ^ result.shift();
    result.push(0);
    divisor.forEach((c, i) => { result[i] ^= gfMul(c, factor); });
  }
  return result;
}

// The codewords of `bytes` in `version`: data (mode, count, bytes, padding), then the
// blocks' error correction, interleaved.
function codewords(bytes, version) {
  const [total, ecLen, blocks] = VERSIONS[version];
  const dataLen = total - ecLen * blocks;
  const bits = [];
  const put = (value, n) => { for (let i = n - 1; i >= 0; i--) bits.push((value >>> i) & 1); };
  put(0b0100, 4);
  put(bytes.length, 8);
  for (const b of bytes) put(b, 8);
  put(0, Math.min(4, dataLen * 8 - bits.length));
  while (bits.length % 8) bits.push(0);
  const data = [];
  for (let i = 0; i < bits.length; i += 8) data.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b, 0));
  for (let pad = 0xec; data.length < dataLen; pad ^= 0xec ^ 0x11) data.push(pad);
  const short = Math.floor(dataLen / blocks);
  const longs = dataLen % blocks; // the last `longs` blocks hold one more
  const divisor = rsDivisor(ecLen);
  const parts = [];
  for (let b = 0, at = 0; b < blocks; b++) {
    const len = short + (b >= blocks - longs ? 1 : 0);
    const block = data.slice(at, at + len);
    at += len;
    parts.push({ block, ec: rsRemainder(block, divisor) });
  }
  const out = [];
  for (let i = 0; i <= short; i++) for (const p of parts) if (i < p.block.length) out.push(p.block[i]);
  for (let i = 0; i < ecLen; i++) for (const p of parts) out.push(p.ec[i]);
  return out;
}

const MASKS = [
  (x, y) => (x + y) % 2 === 0, (x, y) => y % 2 === 0, (x) => x % 3 === 0, (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0, (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0, (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
];

function functionPatterns(version) {
  const size = 17 + 4 * version;
  const dark = Array.from({ length: size }, () => new Array(size).fill(false));
  const fixed = Array.from({ length: size }, () => new Array(size).fill(false));
  const set = (x, y, on) => { if (x >= 0 && y >= 0 && x < size && y < size) { dark[y][x] = on; fixed[y][x] = true; } };
  for (const [cx, cy] of [[3, 3], [size - 4, 3], [3, size - 4]]) { // finders and their separators
    for (let dy = -4; dy <= 4; dy++) {
      for (let dx = -4; dx <= 4; dx++) {
        const d = Math.max(Math.abs(dx), Math.abs(dy));
        set(cx + dx, cy + dy, d !== 2 && d !== 4);
      }
    }
  }
  for (let i = 8; i < size - 8; i++) { set(6, i, i % 2 === 0); set(i, 6, i % 2 === 0); } // timing
  if (ALIGN[version]) {
    const c = ALIGN[version];
    for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) set(c + dx, c + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
  }
  formatBits(set, size, 0); // reserved now, drawn with the chosen mask
  return { size, dark, fixed };
}

function formatBits(set, size, mask) {
  const data = (0b00 << 3) | mask; // level M
  let rem = data;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
  const bits = ((data << 10) | rem) ^ 0x5412;
  const bit = (i) => ((bits >>> i) & 1) === 1;
  for (let i = 0; i <= 5; i++) set(8, i, bit(i));
  set(8, 7, bit(6));
  set(8, 8, bit(7));
  set(7, 8, bit(8));
  for (let i = 9; i < 15; i++) set(14 - i, 8, bit(i));
  for (let i = 0; i < 8; i++) set(size - 1 - i, 8, bit(i));
  for (let i = 8; i < 15; i++) set(8, size - 15 + i, bit(i));
  set(8, size - 8, true); // the dark module
}

function penalty(m) {
  const size = m.length;
  let score = 0;
  const lines = [...m, ...m[0].map((_, x) => m.map((row) => row[x]))];
  for (const line of lines) {
    let run = 1;
    for (let i = 1; i <= size; i++) {
      if (i < size && line[i] === line[i - 1]) { run++; continue; }
      if (run >= 5) score += run - 2;
      run = 1;
    }
    const s = line.map((v) => (v ? "1" : "0")).join("");
    for (const p of ["10111010000", "00001011101"]) for (let i = s.indexOf(p); i >= 0; i = s.indexOf(p, i + 1)) score += 40;
  }
  let dark = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      dark += m[y][x] ? 1 : 0;
      if (x && y && m[y][x] === m[y - 1][x] && m[y][x] === m[y][x - 1] && m[y][x] === m[y - 1][x - 1]) score += 3;
    }
  }
  return score + 10 * Math.floor(Math.abs((dark * 20) / (size * size) - 10));
}

// The QR code of `text` as rows of booleans (true = dark); `mask` forces a mask (0-7).
export function qrMatrix(text, mask = null) {
  const bytes = [...new TextEncoder().encode(text)];
  const version = VERSIONS.findIndex((v) => v && v[0] - v[1] * v[2] - 2 >= bytes.length);
  if (version < 0) throw new Error(`too long for a QR code here: ${bytes.length} bytes, at most 106`);
  const words = codewords(bytes, version);
  const best = { score: Infinity, matrix: null };
  for (const m of mask === null ? [0, 1, 2, 3, 4, 5, 6, 7] : [mask]) {
    const { size, dark, fixed } = functionPatterns(version);
    let i = 0;
    for (let right = size - 1; right >= 1; right -= 2) {
      if (right === 6) right = 5;
      for (let vert = 0; vert < size; vert++) {
        for (let j = 0; j < 2; j++) {
          const x = right - j;
          const y = ((right + 1) & 2) === 0 ? size - 1 - vert : vert;
          if (fixed[y][x]) continue;
          const on = i < words.length * 8 && ((words[i >>> 3] >>> (7 - (i & 7))) & 1) === 1;
          i++;
          dark[y][x] = on !== MASKS[m](x, y);
        }
      }
    }
    formatBits((x, y, on) => { dark[y][x] = on; }, size, m);
    const score = mask === null ? penalty(dark) : 0;
    if (score < best.score) Object.assign(best, { score, matrix: dark });
  }
  return best.matrix;
}

// Draw the QR code of `text` on `canvas`, `scale` pixels a module, with the quiet zone.
export function drawQr(canvas, text, scale = 6) {
  const m = qrMatrix(text);
  const n = m.length + 8;
  canvas.width = canvas.height = n * scale;
  const g = canvas.getContext("2d");
  g.fillStyle = "#fff";
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = "#000";
  m.forEach((row, y) => row.forEach((on, x) => { if (on) g.fillRect((x + 4) * scale, (y + 4) * scale, scale, scale); }));
}
