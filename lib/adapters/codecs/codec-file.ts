// Codec files: safetensors with the codec's shape, a format version and a SHA-256 of the tensors
// in the metadata; every problem reading one is a TorchError naming the file.
import { createHash } from 'node:crypto';
import { requireRegularFile } from '../../io/regular-file';
import { loadSafetensors, readSafetensorsHeader, saveSafetensors } from '../../io/safetensors';
import type { Device } from '../../torch/dtype';
import { TorchError } from '../../torch/errors';
import { dispose } from '../../torch/scope';
import { Tensor } from '../../torch/tensor';
import { PatchAutoencoder } from './patch-autoencoder';
import { PatchVQ } from './patch-vq';
import { type FitReport } from './patches';
import type { ImageCodec } from './types';
import type { PatchCodecs } from './fit';

export const CODEC_FORMAT = 'unimrg.image-codec';
export const CODEC_FORMAT_VERSION = 1;

/** SHA-256 over every tensor (sorted by name): name, dtype, shape and the raw bytes. */
function checksum(tensors: Record<string, Tensor>): string {
  const h = createHash('sha256');
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name];
    const a = t.contiguous();
    try {
      const arr = a.toArray();
      h.update(`${name}\0${t.dtype}\0${t.shape.join(',')}\0`);
      h.update(Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength));
    } finally { if (a !== t) a.dispose(); }
  }
  return h.digest('hex');
}

function asCodec(codec: unknown): PatchCodecs {
  if (codec instanceof PatchVQ || codec instanceof PatchAutoencoder) return codec;
  throw new TypeError(`saveCodec: expected a PatchVQ or PatchAutoencoder (from createCodec, fitCodec or loadCodec), got ${codec === null ? 'null' : typeof codec === 'object' ? (codec as object).constructor.name : typeof codec}`);
}

/** Writes the codec's tensors and shape to a safetensors file (atomically). */
export function saveCodec(codec: ImageCodec, path: string): void {
  const c = asCodec(codec);
  const tensors = c.stateDict();
  const meta: Record<string, string> = {
    format: CODEC_FORMAT,
    format_version: String(CODEC_FORMAT_VERSION),
    kind: c.kind,
    image_size: String(c.imageSize),
    patch_size: String(c.patchSize),
    tensors_sha256: checksum(tensors),
  };
  if (c instanceof PatchVQ) meta.codebook_size = String(c.codebookSize);
  else meta.latent_dim = String(c.latentDim);
  if (c.fitReport) meta.fit = JSON.stringify(c.fitReport);
  saveSafetensors(path, tensors, meta);
}

/** Reads a codec written by saveCodec; every problem is a TorchError naming the file. */
export function loadCodec(path: string, opts: { device?: Device } = {}): PatchCodecs {
  const fail = (why: string): never => { throw new TorchError(`loadCodec ${path}: ${why}`, 'loadCodec'); };
  requireRegularFile(path, (m) => new TorchError(`loadCodec: ${m}`, 'loadCodec'));
  let meta: Record<string, string> = {};
  try {
    meta = readSafetensorsHeader(path).metadata;
  } catch (e) {
    fail(`not a readable codec file: ${(e as Error).message}`);
  }
  if (meta.format !== CODEC_FORMAT) {
    fail(`not an image codec written by saveCodec (metadata format is ${meta.format === undefined ? 'missing' : `'${meta.format}'`}, expected '${CODEC_FORMAT}')`);
  }
  const version = Number(meta.format_version);
  if (!Number.isInteger(version) || version < 1) fail(`invalid format_version '${meta.format_version}'`);
  if (version > CODEC_FORMAT_VERSION) fail(`format version ${version} is newer than this unimrg reads (${CODEC_FORMAT_VERSION}); upgrade unimrg`);
  const int = (key: string): number => {
    const v = Number(meta[key]);
    if (meta[key] === undefined || !Number.isInteger(v) || v <= 0) fail(`metadata ${key} must be a positive integer, got ${meta[key] === undefined ? 'nothing' : `'${meta[key]}'`}`);
    return v;
  };
  const geometry = { imageSize: int('image_size'), patchSize: int('patch_size') };
  let codec: PatchCodecs;
  try {
    if (meta.kind === 'vq') codec = new PatchVQ({ ...geometry, codebookSize: int('codebook_size') });
    else if (meta.kind === 'continuous') codec = new PatchAutoencoder({ ...geometry, latentDim: int('latent_dim') });
    else return fail(`unknown codec kind '${meta.kind}' (expected 'vq' or 'continuous')`);
  } catch (e) {
    if (e instanceof TorchError && e.message.startsWith('loadCodec')) throw e;
    return fail(`invalid codec shape in the metadata: ${(e as Error).message}`);
  }
  let tensors: Record<string, Tensor> = {};
  try {
    tensors = loadSafetensors(path);
    if (checksum(tensors) !== meta.tensors_sha256) fail('the tensors do not match the checksum stored with them (the file is corrupt)');
    try { codec.loadStateDict(tensors); } catch (e) { fail((e as Error).message); }
    if (meta.fit !== undefined) {
      try { codec.fitReport = JSON.parse(meta.fit) as FitReport; } catch { fail('the fit report in the metadata is not valid JSON'); }
    }
  } catch (e) {
    codec.dispose();
    if (e instanceof TorchError && e.message.startsWith('loadCodec')) throw e;
    return fail((e as Error).message);
  } finally {
    dispose(tensors);
  }
  if (opts.device !== undefined && opts.device !== 'cpu') codec.to(opts.device);
  return codec;
}
