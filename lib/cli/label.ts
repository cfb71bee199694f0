// `unimrg label <images-dir>`: depth and boundary targets for an image folder from TorchScript
// teachers (lib/data/label), written to depth/ and mask/ beside the images so that the folder
// trains as a LLaVA dataset. Resumable; a progress bar on a terminal, a line per batch otherwise.
import * as fs from 'node:fs';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { labelImages, type LabelProgress } from '../data/label';
import { numberFlag, UsageError } from './errors';

interface LabelFlags {
  depthTeacher?: string; segTeacher?: string; out?: string; batchSize: string; device?: string;
  size?: string; segSize?: string; maskThreshold?: string; depthBits: string; progress?: string;
}

export function addLabelCommand(cli: Command): void {
  cli.command('label')
    .description('label an image folder with TorchScript teachers: depth maps into depth/, boundary maps into mask/ (resumable)')
    .argument('<images-dir>', 'folder of images (searched recursively)')
    .option('--depth-teacher <file>', 'TorchScript depth teacher (e.g. Depth Anything V2, see docs/data.md)')
    .option('--seg-teacher <file>', 'TorchScript segmentation teacher returning instance masks (e.g. SAM)')
    .option('-o, --out <dir>', 'where depth/ and mask/ go (default: the folder holding <images-dir>)')
    .option('--batch-size <n>', 'images per forward', '4')
    .option('--device <d>', 'cpu | cuda (default: cuda when available)')
    .option('--size <n>', 'depth teacher input side (a multiple of 14 for Depth Anything)', '518')
    .option('--seg-size <n>', 'segmentation teacher input side', '1024')
    .option('--mask-threshold <x>', 'float masks are inside above this (0 for logits, 0.5 for probabilities)', '0')
    .option('--depth-bits <n>', '8 or 16-bit depth PNGs', '16')
    .option('--progress <mode>', 'bar | lines | none (default: bar on a terminal)')
    .action(async (images: string, f: LabelFlags) => {
      if (f.depthTeacher === undefined && f.segTeacher === undefined) throw new UsageError('label: give --depth-teacher, --seg-teacher, or both');
      if (!fs.existsSync(images) || !fs.statSync(images).isDirectory()) throw new UsageError(`label: no such image folder: ${images}`);
      for (const [flag, file] of [['depth-teacher', f.depthTeacher], ['seg-teacher', f.segTeacher]] as const) {
        if (file !== undefined && !fs.existsSync(file)) throw new UsageError(`--${flag}: no such file: ${file}`);
      }
      if (f.device !== undefined && f.device !== 'cpu' && !/^cuda(:\d+)?$/.test(f.device)) throw new UsageError(`--device must be cpu or cuda, got '${f.device}'`);
      const bits = numberFlag('depth-bits', f.depthBits, { integer: true })!;
      if (bits !== 8 && bits !== 16) throw new UsageError(`--depth-bits must be 8 or 16, got '${f.depthBits}'`);
      const mode = f.progress ?? (process.stderr.isTTY ? 'bar' : 'lines');
      if (mode !== 'bar' && mode !== 'lines' && mode !== 'none') throw new UsageError(`--progress must be bar, lines or none, got '${mode}'`);
      let bar: SingleBar | undefined;
      const onProgress = (p: LabelProgress) => {
        if (mode === 'bar') {
          if (bar === undefined) {
            bar = new SingleBar({ format: 'label [{bar}] {value}/{total} | labelled {labelled} | skipped {skipped} | failed {failed} | ETA {eta_formatted}', hideCursor: true, etaBuffer: 20 });
            bar.start(p.total, p.done, { labelled: p.labelled, skipped: p.skipped, failed: p.failed });
          } else {
            bar.update(p.done, { labelled: p.labelled, skipped: p.skipped, failed: p.failed });
          }
        } else if (mode === 'lines') {
          process.stderr.write(`label ${p.done}/${p.total} (labelled ${p.labelled}, skipped ${p.skipped}, failed ${p.failed})\n`);
        }
      };
      let r;
      try {
        r = await labelImages({
          images, out: f.out, depthTeacher: f.depthTeacher, segTeacher: f.segTeacher, device: f.device,
          batchSize: numberFlag('batch-size', f.batchSize, { integer: true, min: 1, max: 1024 }),
          size: numberFlag('size', f.size, { integer: true, min: 1, max: 8192 }),
          segSize: numberFlag('seg-size', f.segSize, { integer: true, min: 1, max: 8192 }),
          maskThreshold: numberFlag('mask-threshold', f.maskThreshold),
          depthBits: bits,
          onProgress,
          onProblem: (p) => {
            const line = `skipped ${p.image}: ${p.kind}: ${p.message}\n`;
            if (bar !== undefined) { bar.stop(); process.stderr.write(line); bar = undefined; } else process.stderr.write(line);
          },
        });
      } catch (e) {
        if (e instanceof RangeError) throw new UsageError(e.message);
        throw e;
      } finally {
        bar?.stop();
      }
      const where = [r.depthRoot, r.maskRoot].filter(Boolean).join(' and ');
      console.log(`labelled ${r.labelled}, skipped ${r.skipped} already done, ${r.failed} failed, of ${r.total} images in ${r.seconds.toFixed(1)} s → ${where}`);
    });
}
