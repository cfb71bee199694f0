// The model a run directory holds: adapter.json (what to build), the weights of its last complete
// checkpoint and, for a Hugging Face tokenizer, its copy; and building the adapter back from them.
// Used by the trainer (a base, a resume), eval, experiments and the shipped bases alike.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadCodec } from '../adapters/codecs';
import { create as createAdapter } from '../adapters/registry';
import type { Adapter } from '../adapters/types';
import { makeTokenizer, type TokenizerSpec } from '../data/loader';
import { GENERATION_TAG, IMAGE_TAG } from '../data/tokenizer/chat';
import { requireToken } from '../data/tokenizer/types';
import { verifyCheckpointFile } from '../io/checkpoint';
import { makeDirs } from '../io/dirs';
import { loadSafetensors } from '../io/safetensors';
import { torch } from '../torch';
import { type AdapterSpec, parseAdapterSpecFile } from './adapter-spec';
import { ADAPTER_FILE, CHECKPOINT_DIR, runCheckpoint, TOKENIZER_DIR } from './run-dir';
import type { Device } from '../torch/dtype';

export type { AdapterSpec } from './adapter-spec';

/** The model weights of a checkpoint directory, a run directory or a .safetensors file. */
export function weightsFile(p: string): string {
  const checkpoint = runCheckpoint(p);
  const candidates = [p, path.join(p, 'model.safetensors'), path.join(checkpoint ?? path.join(p, CHECKPOINT_DIR), 'model.safetensors')];
  const f = candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
  if (f === undefined) throw new RangeError(`no model weights at ${p} (looked for ${candidates.slice(1).join(', ')})`);
  return f;
}

/** The adapter spec saved beside weights (a run directory or its checkpoint folder), if any. */
export function readAdapterSpec(p: string): AdapterSpec | undefined {
  for (const d of [p, path.dirname(p), path.dirname(path.dirname(p))]) {
    const f = path.join(d, ADAPTER_FILE);
    if (fs.existsSync(f)) return parseAdapterSpecFile(f);
  }
  return undefined;
}

/** The loader's description of a spec's text tokenizer. */
export function tokenizerSpec(spec: AdapterSpec): TokenizerSpec {
  const t = spec.tokenizer;
  return t === undefined ? { kind: 'scenes' } : { kind: 'huggingface', path: t.file, pad: t.pad, eos: t.eos };
}

/** Copies a Hugging Face tokenizer (tokenizer.json, and tokenizer_config.json when present) into the run directory. */
export function copyTokenizer(t: NonNullable<AdapterSpec['tokenizer']>, runDir: string): NonNullable<AdapterSpec['tokenizer']> {
  const json = fs.statSync(t.file).isDirectory() ? path.join(t.file, 'tokenizer.json') : t.file;
  const dir = path.join(runDir, TOKENIZER_DIR);
  makeDirs(dir, 'tokenizer copy');
  if (path.resolve(path.dirname(json)) !== path.resolve(dir)) { // (a run resumed or based on itself)
    fs.copyFileSync(json, path.join(dir, 'tokenizer.json'));
    const config = path.join(path.dirname(json), 'tokenizer_config.json');
    if (fs.existsSync(config)) fs.copyFileSync(config, path.join(dir, 'tokenizer_config.json'));
  }
  return { ...t, file: TOKENIZER_DIR };
}

/** Builds the adapter of a spec and, when given, loads weights and a codec file into it. */
export function buildAdapter(spec: AdapterSpec, o: { weights?: string; codec?: string; seed?: number; device?: Device } = {}): Adapter {
  const codec = o.codec === undefined ? undefined : loadCodec(o.codec);
  const tokenizer = spec.tokenizer === undefined ? undefined : makeTokenizer(tokenizerSpec(spec));
  // The chat encoding marks image positions with these tokens: refuse a tokenizer without them now.
  if (tokenizer !== undefined) for (const [t, what] of [[IMAGE_TAG, 'condition-image placeholder'], [GENERATION_TAG, 'generated-image placeholder']]) requireToken(tokenizer, t, what);
  const adapter = createAdapter(spec.family, spec.preset, spec.model, { codec, tokenizer, seed: o.seed, device: o.device });
  if (o.weights !== undefined) {
    const file = weightsFile(o.weights);
    verifyCheckpointFile(file); // a corrupt checkpoint is named, not loaded
    const sd = loadSafetensors(file);
    try {
      adapter.load(sd, { strict: true });
    } finally {
      torch.dispose(Object.values(sd));
    }
  }
  return adapter;
}
