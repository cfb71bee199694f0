// safetensors, exactly as Hugging Face defines it: an unsigned 64-bit little-endian header
// length N, N bytes of UTF-8 JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, ...,
// "__metadata__": { string: string } }` (padded with spaces to a multiple of 8), then the
// little-endian data; offsets are relative to the start of the data and tile it without holes.
// Reading is lazy per tensor: each tensor's bytes go from the file straight into its storage.
import * as fs from 'node:fs';
import { native } from '../native/binding';
import type { DType } from '../torch/dtype';
import { TorchError } from '../torch/errors';
import { Tensor } from '../torch/tensor';
import { writeAll, writeFileAtomic } from './atomic';
import { requireRegularFile } from './regular-file';

/** safetensors dtype string ↔ our dtype and element size. */
const FROM_ST: Record<string, { dtype: DType | null; size: number }> = {
  F64: { dtype: 'float64', size: 8 }, F32: { dtype: 'float32', size: 4 }, F16: { dtype: 'float16', size: 2 },
  BF16: { dtype: 'bfloat16', size: 2 }, I64: { dtype: 'int64', size: 8 }, I32: { dtype: 'int32', size: 4 },
  I16: { dtype: 'int16', size: 2 }, I8: { dtype: 'int8', size: 1 }, U8: { dtype: 'uint8', size: 1 },
  BOOL: { dtype: 'bool', size: 1 },
  // Valid safetensors dtypes that libtorch 1.13 has no tensor type for.
  U16: { dtype: null, size: 2 }, U32: { dtype: null, size: 4 }, U64: { dtype: null, size: 8 },
  F8_E4M3: { dtype: null, size: 1 }, F8_E5M2: { dtype: null, size: 1 },
};
const TO_ST: Record<DType, string> = {
  float64: 'F64', float32: 'F32', float16: 'F16', bfloat16: 'BF16', int64: 'I64', int32: 'I32',
  int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};
const MAX_HEADER = 100_000_000; // the reference implementation's limit

export interface TensorInfo { dtype: DType; shape: number[]; dataOffsets: [number, number] }
export interface SafetensorsHeader {
  tensors: Record<string, TensorInfo>;
  metadata: Record<string, string>;
  /** Byte offset of the data section in the file (8 + header length). */
  dataStart: number;
}

const fail = (file: string, why: string): never => { throw new TorchError(`safetensors ${file}: ${why}`, 'safetensors'); };

/** Parses and validates the header of a safetensors file (reads only the header). */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  requireRegularFile(file, (m) => new TorchError(`safetensors: ${m}`, 'safetensors'));
  let fd: number;
  try { fd = fs.openSync(file, 'r'); } catch (e) { return fail(file, `cannot open (${(e as Error).message})`); }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 8) fail(file, `the file holds ${size} bytes, fewer than the 8-byte header length (truncated or not safetensors)`);
    const lenBuf = Buffer.alloc(8);
    fs.readSync(fd, lenBuf, 0, 8, 0);
    const n = lenBuf.readBigUInt64LE(0);
    if (n > BigInt(MAX_HEADER)) fail(file, `header length ${n} exceeds the ${MAX_HEADER}-byte limit (corrupt or not safetensors)`);
    const headerLen = Number(n);
    if (8 + headerLen > size) fail(file, `header length ${headerLen} runs past the end of the ${size}-byte file (truncated?)`);
    const hdr = Buffer.alloc(headerLen);
    fs.readSync(fd, hdr, 0, headerLen, 8);
    let json: unknown;
    try { json = JSON.parse(hdr.toString('utf8')); } catch (e) { return fail(file, `the header is not valid JSON (${(e as Error).message})`); }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) fail(file, 'the header must be a JSON object');
    return validate(file, json as Record<string, unknown>, 8 + headerLen, size - 8 - headerLen);
  } finally {
    fs.closeSync(fd);
  }
}

function validate(file: string, json: Record<string, unknown>, dataStart: number, dataLen: number): SafetensorsHeader {
  const tensors: Record<string, TensorInfo> = {};
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || !Object.values(raw).every((v) => typeof v === 'string')) {
        fail(file, '__metadata__ must map strings to strings');
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== 'object') fail(file, `entry '${name}' must be an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in FROM_ST)) {
      fail(file, `tensor '${name}' has unknown dtype ${JSON.stringify(e.dtype)} (expected one of ${Object.keys(FROM_ST).join(' ')})`);
    }
    const st = FROM_ST[e.dtype as string];
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(file, `tensor '${name}' has shape ${JSON.stringify(e.shape)}; a shape is an array of non-negative integers`);
    }
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1]) {
      fail(file, `tensor '${name}' has data_offsets ${JSON.stringify(off)}; expected [begin, end] with 0 <= begin <= end`);
    }
    const [b, end] = off as [number, number];
    const shape = e.shape as number[];
    const need = shape.reduce((a, d) => a * d, 1) * st.size;
    if (end - b !== need) {
      fail(file, `tensor '${name}' (${e.dtype} ${JSON.stringify(shape)}) needs ${need} bytes but data_offsets [${b}, ${end}] span ${end - b}`);
    }
    if (end > dataLen) {
      fail(file, `tensor '${name}' has data_offsets [${b}, ${end}] out of range: the data section holds ${dataLen} bytes (truncated?)`);
    }
    if (st.dtype === null) fail(file, `tensor '${name}' has dtype ${e.dtype}, which libtorch 1.13 has no tensor type for`);
    tensors[name] = { dtype: st.dtype as DType, shape, dataOffsets: [b, end] };
    spans.push([b, end, name]);
  }
  // The data must be tiled exactly: sorted by offset, each tensor begins where the previous ended.
  spans.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let at = 0;
  for (const [b, end, name] of spans) {
    if (b !== at) fail(file, `tensor '${name}' begins at data offset ${b} but the previous data ends at ${at} (overlap or hole: invalid offsets)`);
    at = end;
  }
  if (at !== dataLen) fail(file, `the tensors cover ${at} bytes of data but the file holds ${dataLen} after the header`);
  return { tensors, metadata, dataStart };
}

/** A safetensors file opened lazily: the header is parsed, tensors are read on request. */
export class SafetensorsFile {
  readonly header: SafetensorsHeader;
  constructor(readonly path: string) { this.header = readSafetensorsHeader(path); }
  keys(): string[] { return Object.keys(this.header.tensors); }
  get metadata(): Record<string, string> { return this.header.metadata; }
  info(name: string): TensorInfo {
    const i = this.header.tensors[name];
    if (i === undefined) throw new TorchError(`safetensors ${this.path}: no tensor named '${name}'`, 'safetensors');
    return i;
  }
  /** Reads one tensor from disk into a new CPU tensor. */
  get(name: string): Tensor {
    const i = this.info(name);
    return new Tensor(native.readTensorFromFile(this.path, this.header.dataStart + i.dataOffsets[0], i.shape, i.dtype));
  }
}

export function openSafetensors(path: string): SafetensorsFile { return new SafetensorsFile(path); }

/** Every tensor of the file (or only `names`), each read straight into its own storage. */
export function loadSafetensors(path: string, opts: { names?: string[] } = {}): Record<string, Tensor> {
  const f = new SafetensorsFile(path);
  const out: Record<string, Tensor> = {};
  for (const name of opts.names ?? f.keys()) out[name] = f.get(name);
  return out;
}

/**
 * Writes tensors (any device; copied to CPU one at a time) and string metadata atomically:
 * a temporary file, fsync, then rename over `path`. Tensors are laid out as the reference
 * writer does: by element size (largest first), then by name.
 */
export function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): void {
  const entries = Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TorchError(`safetensors metadata values must be strings; '${k}' is ${typeof v}`, 'saveSafetensors');
    }
    header.__metadata__ = metadata;
  }
  const items = entries.map(([name, t]) => {
    if (name === '__metadata__') throw new TorchError("'__metadata__' is reserved and cannot name a tensor", 'saveSafetensors');
    if (!(t instanceof Tensor)) throw new TorchError(`'${name}' is not a Tensor`, 'saveSafetensors');
    const dtype = t.dtype;
    const st = TO_ST[dtype];
    return { name, t, st, shape: t.shape, size: FROM_ST[st].size, bytes: t.numel * FROM_ST[st].size };
  });
  items.sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let off = 0;
  for (const it of items) {
    header[it.name] = { dtype: it.st, shape: it.shape, data_offsets: [off, off + it.bytes] };
    off += it.bytes;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileAtomic(path, (fd) => {
    writeAll(fd, len);
    writeAll(fd, json);
    for (const it of items) native.writeTensorToFd(fd, it.t._h);
  });
}
