// Image files through sharp (libvips): JPEG, PNG, WebP (and whatever else libvips reads) to
// planar arrays, and back. EXIF orientation is applied to images and label maps alike.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type SharpModule from 'sharp';
import { requireRegularFileAsync } from '../io/regular-file';
import { chw, fromInterleaved, type ImageU8, ndarray, type NDArray, toInterleaved } from './ndarray';
import { makeDirs } from '../io/dirs';

let lib: typeof SharpModule | undefined;

/** sharp, loaded on first use: the rest of the data layer works where its binary cannot load. */
function sharp(...args: Parameters<typeof SharpModule>): ReturnType<typeof SharpModule> {
  if (lib === undefined) {
    try {
      lib = require('sharp') as typeof SharpModule;
    } catch (e) {
      throw new Error(`image files need the 'sharp' package, which failed to load: ${(e as Error).message.split('\n')[0]}`);
    }
    lib.cache(false); // each file is decoded once per use: libvips' operation cache only holds memory
  }
  return lib(...args);
}

/**
 * Runs decode on a file or buffer; a file must be a regular file (libvips would wait on a FIFO
 * forever) and its decoding errors name it (libvips' own messages do not).
 */
async function fromFile<T>(input: string | Buffer, what: string, decode: (input: string | Buffer) => Promise<T>): Promise<T> {
  if (typeof input !== 'string') return decode(input);
  await requireRegularFileAsync(input);
  try {
    return await decode(input);
  } catch (e) {
    const why = (e as Error).message.replace(/\s*\n\s*/g, ' ').replace(/[\s:]+$/, ''); // libvips ends some with ':\n'
    throw new Error(`cannot read ${what} ${input}: ${why}`);
  }
}

/** An RGB image [3, H, W]; grey images are repeated to 3 channels, alpha is dropped. */
export function readImage(input: string | Buffer): Promise<ImageU8> {
  return fromFile(input, 'image', decodeImage);
}

async function decodeImage(input: string | Buffer): Promise<ImageU8> {
  const { data, info } = await sharp(input, { failOn: 'error' })
    .rotate() // EXIF orientation
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
  return fromInterleaved(new Uint8Array(data.buffer, data.byteOffset, data.length), info.height, info.width, 3);
}

/**
 * A grey label map [1, H, W] (depth or boundary map): the first channel of the file, with
 * EXIF orientation applied like the image's. 16-bit PNGs stay 16-bit (uint16).
 */
export function readLabel(input: string | Buffer): Promise<NDArray<'uint8'> | NDArray<'uint16'>> {
  return fromFile(input, 'label map', decodeLabel);
}

async function decodeLabel(input: string | Buffer): Promise<NDArray<'uint8'> | NDArray<'uint16'>> {
  const img = sharp(input, { failOn: 'error' });
  const meta = await img.metadata();
  const wide = meta.depth === 'ushort';
  const { data, info } = await img
    .rotate()
    .extractChannel(0)
    .toColourspace(wide ? 'grey16' : 'b-w')
    .raw({ depth: wide ? 'ushort' : 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  if (wide) {
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) out[i] = data.readUInt16LE(2 * i * info.channels);
    return ndarray('uint16', [1, info.height, info.width], out);
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = data[i * info.channels];
  return ndarray('uint8', [1, info.height, info.width], out);
}

export type ImageFormat = 'png' | 'jpeg' | 'webp';

function formatOf(file: string): ImageFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.png') return 'png';
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  if (ext === '.webp') return 'webp';
  throw new RangeError(`cannot tell the image format of '${file}' (use .png, .jpg or .webp)`);
}

/** Encodes a planar uint8 [C, H, W] (C = 1 or 3) or uint16 [1, H, W] image. */
export async function encodeImage(img: NDArray<'uint8'> | NDArray<'uint16'>, format: ImageFormat, opts: { quality?: number } = {}): Promise<Buffer> {
  const [c, h, w] = chw(img);
  if (c !== 1 && c !== 3) throw new RangeError(`encodeImage: 1 or 3 channels, got ${c}`);
  let s: ReturnType<typeof sharp>;
  if (img.dtype === 'uint16') {
    if (c !== 1 || format !== 'png') throw new RangeError('16-bit images are written as grey PNG only');
    // sharp takes the raw sample depth from the typed array: a Uint16Array is 16-bit
    s = sharp(img.data as Uint16Array, { raw: { width: w, height: h, channels: 1 } }).toColourspace('grey16');
  } else {
    const bytes = c === 3 ? toInterleaved(img as ImageU8) : img.data;
    s = sharp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { raw: { width: w, height: h, channels: c } });
    if (c === 1) s = s.toColourspace('b-w');
  }
  if (format === 'png') return s.png().toBuffer();
  if (format === 'jpeg') return s.jpeg({ quality: opts.quality ?? 95 }).toBuffer();
  return s.webp({ quality: opts.quality ?? 95, lossless: opts.quality === undefined }).toBuffer();
}

/** Writes an image file, the format from the extension; folders are created. */
export async function writeImage(file: string, img: NDArray<'uint8'> | NDArray<'uint16'>, opts: { quality?: number } = {}): Promise<void> {
  const buf = await encodeImage(img, formatOf(file), opts);
  makeDirs(path.dirname(file), 'image output');
  await fs.promises.writeFile(file, buf);
}
