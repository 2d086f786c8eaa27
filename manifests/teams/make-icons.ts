/**
 * Draws the Teams app icons and writes them as PNG files next to this script:
 * `color.png` (192x192, full-colour background) and `outline.png` (32x32, white on transparent),
 * the two sizes and styles the Teams app manifest requires. Run once: `npx tsx manifests/teams/make-icons.ts`.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { crc32 } from './crc32.js';

type Rgb = readonly [number, number, number];
type Inside = (x: number, y: number) => boolean;

export const ACCENT: Rgb = [0x1d, 0x6f, 0xd8];
const WHITE: Rgb = [255, 255, 255];

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** PNG, 8-bit RGBA (colour type 6), no interlace, every scanline with filter 0. */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  const raw = Buffer.alloc(height * (1 + width * 4));
  for (let y = 0; y < height; y++) {
    raw[y * (1 + width * 4)] = 0;
    Buffer.from(rgba.buffer, rgba.byteOffset + y * width * 4, width * 4).copy(raw, y * (1 + width * 4) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const roundRect =
  (x0: number, y0: number, x1: number, y1: number, r: number): Inside =>
  (x, y) => {
    const dx = Math.max(x0 + r - x, 0, x - (x1 - r));
    const dy = Math.max(y0 + r - y, 0, y - (y1 - r));
    return x >= x0 && x <= x1 && y >= y0 && y <= y1 && dx * dx + dy * dy <= r * r;
  };

const circle =
  (cx: number, cy: number, r: number): Inside =>
  (x, y) =>
    (x - cx) ** 2 + (y - cy) ** 2 <= r * r;

const triangle = (a: [number, number], b: [number, number], c: [number, number]): Inside => {
  const side = (p: [number, number], q: [number, number], x: number, y: number) => (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0]);
  return (x, y) => {
    const s1 = side(a, b, x, y);
    const s2 = side(b, c, x, y);
    const s3 = side(c, a, x, y);
    return (s1 >= 0 && s2 >= 0 && s3 >= 0) || (s1 <= 0 && s2 <= 0 && s3 <= 0);
  };
};

const union =
  (...shapes: Inside[]): Inside =>
  (x, y) =>
    shapes.some((s) => s(x, y));
const minus =
  (a: Inside, b: Inside): Inside =>
  (x, y) =>
    a(x, y) && !b(x, y);

/** Layers painted in order; each pixel's coverage is sampled 4x4 for smooth edges. */
function paint(size: number, background: Rgb | null, layers: { shape: Inside; color: Rgb }[]): Uint8Array {
  const out = new Uint8Array(size * size * 4);
  const n = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let [r, g, b] = background ?? WHITE;
      let a = background ? 1 : 0;
      for (const { shape, color } of layers) {
        let hits = 0;
        for (let sy = 0; sy < n; sy++) for (let sx = 0; sx < n; sx++) if (shape(px + (sx + 0.5) / n, py + (sy + 0.5) / n)) hits++;
        const cov = hits / (n * n);
        if (cov === 0) continue;
        if (background) {
          r = r + (color[0] - r) * cov;
          g = g + (color[1] - g) * cov;
          b = b + (color[2] - b) * cov;
        } else {
          // On a transparent canvas every layer is white: only the alpha carries the drawing.
          a = Math.max(a, cov);
        }
      }
      const i = (py * size + px) * 4;
      out[i] = Math.round(r);
      out[i + 1] = Math.round(g);
      out[i + 2] = Math.round(b);
      out[i + 3] = Math.round(a * 255);
    }
  }
  return out;
}

/** A speech bubble with three dots: a status being said. */
export function colorIcon(): Buffer {
  const bubble = union(roundRect(36, 44, 156, 128, 22), triangle([58, 120], [94, 120], [50, 154]));
  const dots = union(circle(68, 86, 10), circle(96, 86, 10), circle(124, 86, 10));
  return encodePng(192, 192, paint(192, ACCENT, [
    { shape: bubble, color: WHITE },
    { shape: dots, color: ACCENT },
  ]));
}

/** The same bubble drawn as a white line on transparent, as Teams wants for the 32x32 outline icon. */
export function outlineIcon(): Buffer {
  const outer = union(roundRect(3, 5, 29, 22, 5), triangle([8, 20], [14, 20], [6, 28]));
  const inner = roundRect(5, 7, 27, 20, 3.5);
  const dots = union(circle(11, 13.5, 1.7), circle(16, 13.5, 1.7), circle(21, 13.5, 1.7));
  return encodePng(32, 32, paint(32, null, [{ shape: union(minus(outer, inner), dots), color: WHITE }]));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const here = dirname(fileURLToPath(import.meta.url));
  writeFileSync(join(here, 'color.png'), colorIcon());
  writeFileSync(join(here, 'outline.png'), outlineIcon());
  console.log('wrote color.png (192x192) and outline.png (32x32)');
}
