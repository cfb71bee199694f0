// The bad-input corpus of the file readers (readers-corpus.test.ts): for each reader, a valid
// file to start from and the rows built from it: missing, a directory, a FIFO, empty, truncated,
// random bytes, the wrong JSON shape and a huge declared length, where each applies.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { adapters, data, io, nn, optim, torch, TorchError } from '../../lib';
import { parseAdapterSpecFile } from '../../lib/unimrg/adapter-spec';
import { writeBpe } from '../helpers/bpe-tokenizer';

export type Input = 'missing' | 'directory' | 'fifo' | 'empty' | 'truncated' | 'garbage' | 'wrong-shape' | 'huge-length';

export interface Row {
  reader: string;
  input: Input | string;
  /** What to hand the reader. */
  arg: string;
  /** The path its error must name. */
  names: string;
  cls: new (...a: never[]) => Error;
  read: (arg: string) => unknown;
  fifo?: boolean;
}

/** A reader's good input: it must read without error (so truncating it means something). */
export interface Control { reader: string; arg: string; read: (arg: string) => unknown }

/** mkfifo, or the reason it is unavailable. */
export function makeFifo(p: string): string | undefined {
  const r = spawnSync('mkfifo', [p], { encoding: 'utf8' });
  if (r.error) return `mkfifo could not run (${r.error.message})`;
  if (r.status !== 0) return `mkfifo failed: ${r.stderr.trim()}`;
  return undefined;
}

/** Seeded bytes (an LCG): the same garbage every run. */
function garbage(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; b[i] = s >>> 24; }
  return b;
}

/** A safetensors file with `json` as its header. */
function withHeader(json: string): Buffer {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json)]);
}

/** A safetensors file whose 8-byte header length says 2^62. */
const hugeHeader = (): Buffer => { const b = Buffer.alloc(16, 0x20); b.writeBigUInt64LE(1n << 62n, 0); return b; };

/** A zip whose end-of-central-directory record puts a 4 GB directory past the end of the file. */
function hugeZip(): Buffer {
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(1, 8); eocd.writeUInt16LE(1, 10);
  eocd.writeUInt32LE(0xfffffff0, 12); eocd.writeUInt32LE(0xfffffff0, 16);
  return Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(60), eocd]);
}

function pngChunk(type: string, body: Buffer): Buffer {
  const len = Buffer.alloc(4); len.writeUInt32BE(body.length);
  const tb = Buffer.concat([Buffer.from(type, 'ascii'), body]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(zlib.crc32(tb));
  return Buffer.concat([len, tb, crc]);
}

/** An 8-bit RGB PNG of w x h pixels; `rows` false leaves the pixel data out (a header only). */
function png(w: number, h: number, rows = true): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; ihdr[9] = 2;
  const body: Buffer[] = [];
  if (rows) {
    const pixels = Buffer.alloc(h * (1 + 3 * w)); // each row: filter byte 0, then RGB
    for (let i = 0; i < pixels.length; i++) pixels[i] = i % (1 + 3 * w) === 0 ? 0 : (i * 37) & 0xff;
    body.push(pngChunk('IDAT', zlib.deflateSync(pixels)));
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), ...body, pngChunk('IEND', Buffer.alloc(0))]);
}

const half = (b: Buffer) => b.subarray(0, Math.floor(b.length / 2));

/** Everything a checkpoint load needs, built fresh (the load fails before touching it). */
function checkpointTarget() {
  const model = new nn.Linear(3, 2);
  return { model, optimizer: new optim.AdamW(model.parameters(), { lr: 1e-3 }) };
}

/** Builds every row's input under root (synchronously: jest needs the rows when it loads the file); FIFO rows are left out where mkfifo fails, with the reason. */
export function buildCorpus(root: string): { rows: Row[]; controls: Control[]; fifoProblem?: string } {
  const rows: Row[] = [];
  const controls: Control[] = [];
  let n = 0;
  const fresh = (name: string) => path.join(root, `${n++}-${name}`);
  const write = (name: string, bytes: Buffer | string) => { const f = fresh(name); fs.writeFileSync(f, bytes); return f; };
  const probe = fresh('probe.fifo');
  const fifoProblem = makeFifo(probe);

  /** The generic rows of a reader of single files. */
  const fileRows = (reader: string, ext: string, valid: Buffer, cls: Row['cls'], read: Row['read'], extra: [Input | string, Buffer | string, Row['cls']?][]) => {
    const add = (input: Input | string, arg: string, c = cls, fifo = false) => rows.push({ reader, input, arg, names: arg, cls: c, read, fifo });
    add('missing', path.join(root, `absent-${reader}${ext}`));
    const dir = fresh(`dir${ext}`); fs.mkdirSync(dir); add('directory', dir);
    if (fifoProblem === undefined) { const f = fresh(`pipe${ext}`); makeFifo(f); add('fifo', f, cls, true); }
    add('empty', write(`empty${ext}`, ''));
    add('truncated', write(`truncated${ext}`, half(valid)));
    add('garbage', write(`garbage${ext}`, garbage(4096, rows.length + 1)));
    for (const [input, bytes, c] of extra) add(input, write(`${input}${ext}`, bytes), c ?? cls);
  };

  // safetensors
  const st = fresh('valid.safetensors');
  io.saveSafetensors(st, { w: torch.ones([64]) });
  controls.push({ reader: 'safetensors', arg: st, read: (f) => torch.dispose(Object.values(io.loadSafetensors(f))) });
  fileRows('safetensors', '.safetensors', fs.readFileSync(st), TorchError, (f) => io.loadSafetensors(f), [
    ['wrong-shape', withHeader('[1, 2, 3]')],
    ['huge-length', hugeHeader()],
  ]);

  // .pt: a TorchScript archive is a zip torch.save could have written, holding a module, not a dict
  const ts = fresh('script.pt');
  const w = torch.ones([4]);
  const script = torch.jit.define('def forward(self, x):\n    return x * self.w\n', { parameters: { w } });
  script.save(ts);
  script.dispose();
  w.dispose();
  fileRows('pt', '.pt', fs.readFileSync(ts), TorchError, (f) => io.loadPt(f), [
    ['wrong-shape', fs.readFileSync(ts)],
    ['huge-length', hugeZip()],
  ]);

  // image codec files
  const codecFile = fresh('codec.safetensors');
  const codec = adapters.codecs.createCodec({ kind: 'vq', imageSize: 16, patchSize: 8, codebookSize: 4 });
  adapters.codecs.saveCodec(codec, codecFile);
  codec.dispose();
  controls.push({ reader: 'codec', arg: codecFile, read: (f) => adapters.codecs.loadCodec(f).dispose() });
  fileRows('codec', '.safetensors', fs.readFileSync(codecFile), TorchError, (f) => adapters.codecs.loadCodec(f), [
    ['wrong-shape', fs.readFileSync(st)], // a safetensors file without the codec's metadata
    ['huge-length', hugeHeader()],
  ]);

  // Hugging Face tokenizer.json
  const tokDir = fresh('tokenizer'); fs.mkdirSync(tokDir);
  writeBpe(tokDir);
  const tj = JSON.parse(fs.readFileSync(path.join(tokDir, 'tokenizer.json'), 'utf8'));
  const sparse = structuredClone(tj);
  sparse.added_tokens[0].id = 99_999_999;
  const readTok = (f: string) => data.HuggingFaceTokenizer.fromFile(f);
  controls.push({ reader: 'tokenizer', arg: tokDir, read: readTok });
  fileRows('tokenizer', '.json', fs.readFileSync(path.join(tokDir, 'tokenizer.json')), Error, readTok, [
    ['wrong-shape', JSON.stringify({ ...tj, model: { type: 'Nonsense' } }), RangeError],
    ['huge-length', JSON.stringify(sparse), RangeError], // an id of 99,999,999 in a 280-token vocabulary
  ]);
  for (const [input, cfg] of [['garbage tokenizer_config.json', garbage(512, 7)], ['tokenizer_config.json a FIFO', null]] as const) {
    if (cfg === null && fifoProblem !== undefined) continue;
    const d = fresh('tok-folder'); fs.mkdirSync(d);
    writeBpe(d);
    const c = path.join(d, 'tokenizer_config.json');
    fs.rmSync(c);
    if (cfg === null) makeFifo(c); else fs.writeFileSync(c, cfg);
    rows.push({ reader: 'tokenizer', input, arg: d, names: c, cls: Error, read: readTok, fifo: cfg === null });
  }

  // LLaVA data.json
  const conv = [{ from: 'human', value: '<image>\nIs there a cube?' }, { from: 'gpt', value: 'yes' }];
  const llava = JSON.stringify([{ id: '1', image: 'a.png', conversations: conv }, { id: '2', image: 'b.png', conversations: conv }]);
  controls.push({ reader: 'llava', arg: write('valid.json', llava), read: (f) => data.LlavaDataset.open({ json: f, imageRoot: root }) });
  fileRows('llava', '.json', Buffer.from(llava), Error, (f) => data.LlavaDataset.open({ json: f, imageRoot: root }), [
    ['wrong-shape', JSON.stringify({ data: JSON.parse(llava) }), RangeError],
  ]);

  // images
  controls.push({ reader: 'image', arg: write('valid.png', png(32, 32)), read: (f) => data.readImage(f) });
  fileRows('image', '.png', png(32, 32), Error, (f) => data.readImage(f), [
    ['wrong-shape', llava], // a JSON file where an image should be
    ['huge-length', png(0x7fffffff, 0x7fffffff, false)],
  ]);

  // adapter.json
  const spec = JSON.stringify({ family: 'autoregressive-vq', preset: 'tiny', model: {} });
  controls.push({ reader: 'adapter.json', arg: write('adapter.json', spec), read: (f) => parseAdapterSpecFile(f) });
  fileRows('adapter.json', '.json', Buffer.from(spec), RangeError, (f) => parseAdapterSpecFile(f), [
    ['wrong-shape', JSON.stringify({ family: 'transformer-xl', preset: 'tiny', model: {} })],
    ['unknown field', JSON.stringify({ family: 'autoregressive-vq', preset: 'tiny', model: {}, tokeniser: {} })],
  ]);

  // checkpoint directories: the bad input is one file inside a good checkpoint
  const good = fresh('checkpoint');
  const t = checkpointTarget();
  io.saveCheckpoint(good, { model: t.model, optimizer: t.optimizer, step: 1 });
  t.optimizer.dispose(); t.model.dispose();
  const readCkpt = (d: string) => {
    const c = checkpointTarget();
    try { return io.loadCheckpoint(d, c); } finally { c.optimizer.dispose(); c.model.dispose(); }
  };
  controls.push({ reader: 'checkpoint', arg: good, read: readCkpt });
  const ckpt = (input: string, file: string, change: (p: string) => void, fifo = false) => {
    const d = fresh('ckpt');
    fs.cpSync(good, d, { recursive: true });
    const p = path.join(d, file);
    change(p);
    rows.push({ reader: 'checkpoint', input, arg: d, names: p, cls: TorchError, read: readCkpt, fifo });
  };
  rows.push({ reader: 'checkpoint', input: 'missing', arg: path.join(root, 'absent-checkpoint'), names: path.join(root, 'absent-checkpoint'), cls: TorchError, read: readCkpt });
  const notDir = write('checkpoint-file', 'x');
  rows.push({ reader: 'checkpoint', input: 'a file, not a directory', arg: notDir, names: notDir, cls: TorchError, read: readCkpt });
  const state = 'trainer_state.json';
  const replace = (bytes: Buffer | string) => (p: string) => { fs.rmSync(p, { recursive: true }); fs.writeFileSync(p, bytes); };
  ckpt(`directory (${state})`, state, (p) => { fs.rmSync(p); fs.mkdirSync(p); });
  if (fifoProblem === undefined) {
    ckpt(`fifo (${state})`, state, (p) => { fs.rmSync(p); makeFifo(p); }, true);
    ckpt('fifo (model.safetensors)', 'model.safetensors', (p) => { fs.rmSync(p); makeFifo(p); }, true);
  }
  ckpt(`empty (${state})`, state, replace(''));
  ckpt(`truncated (${state})`, state, replace(half(fs.readFileSync(path.join(good, state)))));
  ckpt(`garbage (${state})`, state, replace(garbage(2048, 99)));
  ckpt(`wrong-shape (${state})`, state, replace(JSON.stringify([{ format: 'unimrg-training-checkpoint' }])));
  ckpt('truncated (model.safetensors)', 'model.safetensors', (p) => fs.writeFileSync(p, half(fs.readFileSync(p))));
  // A huge header length in a file the manifest vouches for (size and SHA-256 patched to match).
  ckpt('huge-length (model.safetensors)', 'model.safetensors', (p) => {
    const bytes = hugeHeader();
    fs.writeFileSync(p, bytes);
    const sf = path.join(path.dirname(p), state);
    const m = JSON.parse(fs.readFileSync(sf, 'utf8'));
    m.files['model.safetensors'] = { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    fs.writeFileSync(sf, JSON.stringify(m));
  });

  return { rows, controls, fifoProblem };
}
