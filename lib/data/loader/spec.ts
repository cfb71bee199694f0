// A loader pipeline described by plain data, so that each worker thread can build its own copy:
// the record source, the tokenizer and the batching options.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LlavaDataset, type LlavaOptions, type Problem } from '../llava';
import type { BatcherOptions } from '../tasks/batcher';
import { TaskBatcher } from '../tasks/batcher';
import { type RecordSource, sceneSource, type SceneSourceOptions } from '../tasks/records';
import { HuggingFaceTokenizer } from '../tokenizer/huggingface';
import { sceneTokenizer } from '../tokenizer/scene-vocabulary';
import type { TextTokenizer } from '../tokenizer/types';
import { WordTokenizer, type WordTokenizerJSON } from '../tokenizer/word';

export type SourceSpec =
  | ({ kind: 'scenes' } & SceneSourceOptions)
  | ({ kind: 'llava' } & Omit<LlavaOptions, 'onProblem'>);

export type TokenizerSpec =
  | { kind: 'scenes' }
  | { kind: 'word'; json: WordTokenizerJSON }
  | { kind: 'huggingface'; path: string; pad?: string; eos?: string };

export interface LoaderSpec {
  source: SourceSpec;
  tokenizer: TokenizerSpec;
  /** Batching options; `template` must be a template name here (functions do not cross threads). */
  batch: BatcherOptions & { template?: string };
}

/** A LLaVA-style folder: images/, depth/ and mask/ side by side (as `unimrg label` writes them). */
export function llavaSource(root: string, json?: string): SourceSpec {
  const sub = (name: string) => (fs.existsSync(path.join(root, name)) ? path.join(root, name) : undefined);
  const images = sub('images');
  if (images === undefined) throw new RangeError(`data.path ${root} has no images/ folder`);
  const conversations = json ?? path.join(root, 'data.json');
  if (!fs.existsSync(conversations)) throw new RangeError(`no conversations file at ${conversations} (set data.json)`);
  return { kind: 'llava', json: conversations, imageRoot: images, depthRoot: sub('depth'), maskRoot: sub('mask') };
}

export function makeTokenizer(t: TokenizerSpec): TextTokenizer {
  switch (t.kind) {
    case 'scenes': return sceneTokenizer();
    case 'word': return WordTokenizer.fromJSON(t.json);
    case 'huggingface': return HuggingFaceTokenizer.fromFile(t.path, { pad: t.pad, eos: t.eos });
    default: throw new RangeError(`unknown tokenizer kind '${(t as { kind: string }).kind}' (expected scenes, word or huggingface)`);
  }
}

export interface Pipeline {
  batcher: TaskBatcher;
  /** Problems the source reported so far (LLaVA folders). */
  problems(): Problem[];
}

export async function buildPipeline(spec: LoaderSpec): Promise<Pipeline> {
  if (spec?.source === undefined || spec.tokenizer === undefined || spec.batch === undefined) {
    throw new RangeError('a loader spec needs source, tokenizer and batch');
  }
  let source: RecordSource;
  let problems: () => Problem[] = () => [];
  const s = spec.source;
  if (s.kind === 'scenes') {
    source = sceneSource(s);
  } else if (s.kind === 'llava') {
    const ds = await LlavaDataset.open(s);
    source = ds;
    problems = () => ds.problems;
  } else {
    throw new RangeError(`unknown source kind '${(s as { kind: string }).kind}' (expected scenes or llava)`);
  }
  return { batcher: new TaskBatcher(source, makeTokenizer(spec.tokenizer), spec.batch), problems };
}
