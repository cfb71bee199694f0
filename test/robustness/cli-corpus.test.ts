// The hostile trial of every CLI command, kept as a table: each bad input must end in the exit code
// docs/unimrg.md documents (2 for usage: flags, configs, paths; 1 for a failure while running) and a
// message naming the flag, file or value at fault, without a hang, and without touching the runs
// already on disk.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { prepareCodec } from '../../lib/unimrg/experiment';
import { Trainer } from '../../lib/unimrg/trainer';
import { runCli } from '../helpers/cli';

jest.setTimeout(300_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-cli-corpus-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const at = (...p: string[]) => path.join(tmp, ...p);

let codec = '';
const run = at('run'); // a real one-step run
beforeAll(async () => {
  codec = await prepareCodec('autoregressive-vq', 'tiny', at('codec.safetensors'), 8, () => {});
  const t = new Trainer({ codec, out: run, steps: 1, batch: { size: 2 }, data: { count: 8, workers: 0 } });
  await t.run();
  t.dispose();
  fs.writeFileSync(at('file.txt'), 'a file, not a directory');
  fs.writeFileSync(at('null.json'), 'null');
  fs.writeFileSync(at('array.json'), '[1, 2]');
  fs.mkdirSync(at('empty'));
  fs.mkdirSync(at('no-adapter'));
  fs.cpSync(run, at('garbage-adapter'), { recursive: true });
  fs.writeFileSync(at('garbage-adapter', 'adapter.json'), '{ "family": 42 ');
  fs.cpSync(run, at('flipped'), { recursive: true });
  const weights = at('flipped', 'checkpoint', 'model.safetensors');
  const bytes = fs.readFileSync(weights);
  bytes[bytes.length - 3] ^= 0xff; // same size, one weight changed: only the hash can tell
  fs.writeFileSync(weights, bytes);
  fs.mkdirSync(at('experiment', 'autoregressive-vq', 'base'), { recursive: true });
  fs.writeFileSync(at('experiment', 'autoregressive-vq', 'base', 'metrics.jsonl'), '{"step":1}\n');
});

type Row = [name: string, args: () => string[], code: number, message: RegExp];

const train = (...a: string[]) => () => ['train', '--codec', codec, '--progress', 'none', ...a];

const rows: Row[] = [
  // train: numbers
  ['--steps 0', train('--steps', '0'), 2, /--steps must be an integer >= 1, got '0'/],
  ['--steps 1.5', train('--steps', '1.5'), 2, /--steps must be an integer/],
  ['--steps 1e300', train('--steps', '1e300'), 2, /--steps must be an integer/],
  ['--workers 10000', train('--workers', '10000'), 2, /--workers must be an integer >= 0 and <= 64, got '10000'/],
  ['--batch-size 1e9', train('--batch-size', '1000000000'), 2, /--batch-size must be an integer >= 1 and <= 65536/],
  ['--accumulate -1', train('--accumulate', '-1'), 2, /--accumulate must be an integer >= 1/],
  ['--lr NaN', train('--lr', 'NaN'), 2, /--lr must be a number/],
  ['--lr 0', train('--lr', '0'), 2, /optim\.lr/],
  ['--seed -3', train('--seed', '-3'), 2, /--seed must be an integer >= 0/],
  ['--nproc 0', train('--nproc', '0'), 2, /--nproc must be an integer >= 1/],
  ['--nproc 10000', train('--nproc', '10000'), 2, /--nproc must be an integer >= 1 and <= 64/],
  ['--count 0', train('--count', '0'), 2, /--count must be an integer >= 1/],
  // train: names
  ['--preset huge', train('--preset', 'huge'), 2, /unknown autoregressive-vq preset 'huge' \(expected tiny, mini, small/],
  ['--family gpt', train('--family', 'gpt'), 2, /family: Invalid enum value/],
  ['--mode sideways', train('--mode', 'sideways'), 2, /batch\.mode/],
  ['--device tpu', train('--device', 'tpu'), 2, /device must be cpu, cuda or cuda:N/],
  ['--progress loud', train('--progress', 'loud'), 2, /--progress must be bar, lines or none, got 'loud'/],
  ["--tasks ''", train('--tasks', ''), 2, /--tasks names no task/],
  ['--tasks ,,', train('--tasks', ',,'), 2, /--tasks names no task/],
  ['--max-turns 0', train('--max-turns', '0'), 2, /--max-turns must be an integer >= 1/],
  ['--tasks colour', train('--tasks', 'colour'), 2, /--tasks: unknown task 'colour'/],
  ['--weights 0,0,0,0', train('--weights', '0,0,0,0'), 2, /tasks\.weights: every trained task .* has weight 0/],
  ['--weights 1,0,0,0 --tasks depth', train('--weights', '1,0,0,0', '--tasks', 'depth'), 2, /every trained task \(depth\) has weight 0/],
  ['--weights 1,2', train('--weights', '1,2'), 2, /--weights takes 4 comma-separated numbers/],
  ['--weights -1,1,1,1', train('--weights', '-1,1,1,1'), 2, /--weights must be a number >= 0, got '-1'/],
  // train: files and directories
  ['-c null', train('-c', at('null.json')), 2, /null\.json must hold a JSON object, not null/],
  ['-c array', train('-c', at('array.json')), 2, /array\.json must hold a JSON object, not an array/],
  ['-c a directory', train('-c', at('empty')), 2, /empty is not a regular file/],
  ['-c missing', train('-c', at('none.json')), 2, /config file not found: .*none\.json/],
  ['--codec missing', train('--codec', at('none.safetensors')), 2, /--codec: .*none\.safetensors does not exist/],
  ['--base missing', train('--base', at('nowhere')), 2, /--base: .*nowhere does not exist/],
  ['-o a file', train('-o', at('file.txt')), 2, /--out: .*file\.txt exists and is not a directory/],
  ['-o under a file', train('-o', at('file.txt', 'run')), 2, /--out: cannot use .*file\.txt\/run: .*file\.txt exists and is not a directory/],
  ['-o /proc/x (no recursive-mkdir spin)', train('-o', '/proc/unimrg-nowhere/run'), 2, /--out: cannot create \/proc\/unimrg-nowhere\/run/],
  ['-o an existing run', train('-o', run), 2, /already holds a run \(metrics\.jsonl, checkpoint\); pass --resume to continue it or --overwrite/],
  ['--resume with nothing to resume', train('-o', at('empty'), '--resume'), 2, /--resume: no checkpoint in .*empty \(nothing to resume/],
  ['--resume --overwrite', train('-o', run, '--resume', '--overwrite'), 2, /--resume and --overwrite contradict/],
  // eval / generate
  ['eval missing', () => ['eval', at('nowhere')], 2, /no such run directory or checkpoint: .*nowhere/],
  ['eval without adapter.json', () => ['eval', at('no-adapter')], 2, /no-adapter has no adapter\.json/],
  ['eval garbage adapter.json', () => ['eval', at('garbage-adapter')], 2, /garbage-adapter\/adapter\.json/],
  ['eval a flipped weight', () => ['eval', at('flipped'), '--count', '1', '--generation-count', '0'], 1, /flipped\/checkpoint\/model\.safetensors does not match its SHA-256/],
  ['eval --splits nosuch', () => ['eval', run, '--splits', 'val,nosuch'], 2, /--splits: unknown split 'nosuch'/],
  ['eval --count 0', () => ['eval', run, '--count', '0'], 2, /--count must be an integer >= 1/],
  ['generate --count x', () => ['generate', run, '--count', 'x'], 2, /--count must be an integer >= 1, got 'x'/],
  ['generate missing', () => ['generate', at('nowhere')], 2, /no such run directory/],
  // tokenizer / experiment / quickstart
  ['tokenizer --family gpt', () => ['tokenizer', '--family', 'gpt'], 2, /unknown adapter family 'gpt'/],
  ['tokenizer --preset huge', () => ['tokenizer', '--preset', 'huge'], 2, /unknown autoregressive-vq preset 'huge'/],
  ['tokenizer --scenes 0', () => ['tokenizer', '--scenes', '0'], 2, /--scenes must be an integer >= 1/],
  ['tokenizer -o /proc/x/...', () => ['tokenizer', '-o', '/proc/unimrg-nowhere/codec.safetensors'], 2, /--out: cannot create \/proc\/unimrg-nowhere/],
  ['experiment --seeds a', () => ['experiment', '--seeds', 'a'], 2, /--seeds must be an integer >= 0, got 'a'/],
  ['experiment --steps 0', () => ['experiment', '--steps', '0'], 2, /--steps must be an integer >= 1/],
  ['experiment --progress loud', () => ['experiment', '--progress', 'loud'], 2, /--progress must be bar, lines or none/],
  ['experiment over an earlier one', () => ['experiment', '--family', 'autoregressive-vq', '-o', at('experiment')], 2, /already holds runs of an experiment \(base\); pass --overwrite/],
  ['experiment -o a file', () => ['experiment', '--family', 'autoregressive-vq', '-o', at('file.txt')], 2, /--out: cannot use .*file\.txt\/autoregressive-vq: .*file\.txt exists and is not a directory/],
  ['make-bases --family gpt', () => ['make-bases', '--family', 'gpt'], 2, /unknown adapter family 'gpt'/],
  ['make-bases --progress loud', () => ['make-bases', '--progress', 'loud'], 2, /--progress must be bar, lines or none/],
  ['experiment --arms all', () => ['experiment', '--arms', 'all'], 2, /--arms must be paper or main, got 'all'/],
  ['experiment --lr 0', () => ['experiment', '--lr', '0'], 2, /--lr must be > 0/],
  ['experiment --base missing', () => ['experiment', '--base', at('nowhere')], 2, /--base: .*nowhere does not exist/],
  ['experiment --base-steps 0', () => ['experiment', '--base-steps', '0'], 2, /--base-steps must be an integer >= 1/],
  ['experiment --train-scenes 0', () => ['experiment', '--train-scenes', '0'], 2, /--train-scenes must be an integer >= 1, got '0'/],
  ['experiment --condition-grad-scale 2', () => ['experiment', '--condition-grad-scale', '2'], 2, /--condition-grad-scale must be a number >= 0 and <= 1, got '2'/],
  ['experiment --resume --overwrite', () => ['experiment', '--resume', '--overwrite'], 2, /--resume and --overwrite contradict each other/],
  ['experiment --resume over a run of another training', () => ['experiment', '--family', 'autoregressive-vq', '--base-steps', '5', '--resume', '-o', at('experiment')], 2, /--resume: .*experiment\/autoregressive-vq\/base holds another training than this experiment's \(it has no config\.json\); pass --overwrite/],
  ['quickstart --resume without --out', () => ['quickstart', '--resume'], 2, /--resume needs --out/],
  ['quickstart --family gpt', () => ['quickstart', '--family', 'gpt'], 2, /unknown adapter family 'gpt'/],
  ['quickstart over an earlier one', () => ['quickstart', '-o', at('experiment', 'autoregressive-vq')], 2, /already holds runs of an experiment/],
  // launch / label / unknown
  ['launch --nproc 0', () => ['launch', '--nproc', '0', '--', 'true'], 2, /--nproc must be an integer >= 1/],
  ['launch --master-port 70000', () => ['launch', '--nproc', '1', '--master-port', '70000', '--', 'true'], 2, /--master-port must be a port number, got 70000/],
  ['launch --node-rank 3 --nnodes 2', () => ['launch', '--nproc', '1', '--nnodes', '2', '--node-rank', '3', '--', 'true'], 2, /--node-rank must lie in \[0, 2\)/],
  ['label without teachers', () => ['label', at('empty')], 2, /give --depth-teacher, --seg-teacher, or both/],
  ['label --batch-size 1e9', () => ['label', at('empty'), '--depth-teacher', at('file.txt'), '--batch-size', '1000000000'], 2, /--batch-size must be an integer >= 1 and <= 1024/],
  ['label --depth-bits 12', () => ['label', at('empty'), '--depth-teacher', at('file.txt'), '--depth-bits', '12'], 2, /--depth-bits must be 8 or 16/],
  ['unknown command', () => ['trian'], 2, /unknown command 'trian'/],
  ['unknown flag', () => ['train', '--bogus'], 2, /unknown option '--bogus'/],
];

describe('every bad input of every command: the documented exit code and a message naming it', () => {
  it.each(rows)('%s', async (_name, args, code, message) => {
    const metricsBefore = fs.readFileSync(path.join(run, 'metrics.jsonl'));
    const r = await runCli(...args());
    expect(`${r.code} ${r.err}`).toMatch(new RegExp(`^${code} [\\s\\S]*${message.source}`));
    // Nothing lost: the existing run is untouched, and this process still computes.
    expect(fs.readFileSync(path.join(run, 'metrics.jsonl')).equals(metricsBefore)).toBe(true);
    expect(fs.existsSync(path.join(run, 'checkpoint', 'model.safetensors'))).toBe(true);
  });
});
