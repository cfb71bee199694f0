// The UniMRG post-training loop: one adapter, the four tasks from one loader, the fused losses
// weighted per task, AdamW with the published groups, warm-up + cosine, clipping, gradient
// accumulation, JSONL metrics, checkpoints with exact resume. Runs on whatever thread calls it
// (the CLI runs it in a worker, see run.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type AdapterLoss, disposeForwardOutput, trainingLoss } from '../adapters/loss';
import type { Adapter } from '../adapters/types';
import { type DataLoader, createLoader, type TokenizerSpec } from '../data/loader';
import { llavaSource } from '../data/loader/spec';
import { TASKS, type TaskKind } from '../data/tasks/kinds';
import { microBatchesPerCycle } from '../data/tasks/schedule';
import type { TaskBatch } from '../data/tasks/tensors';
import { loadCheckpoint, saveCheckpoint } from '../io/checkpoint';
import { ADAPTER_FILE, CHECKPOINT_DIR, CONFIG_FILE, checkRunDir, EVAL_FILE, METRICS_FILE, metricsUpTo, prepareRunDir, runCheckpoint, type RunDirOptions } from './run-dir';
import { AdamW, type AdamWOptions } from '../optim/adamw';
import type { ParamGroup } from '../optim/optimizer';
import { clipGradNorm } from '../optim/clip';
import { WarmupCosine } from '../optim/schedules';
import { torch, Tensor } from '../torch';
import { DistributedDataParallel } from '../distributed/ddp';
import { ZeroRedundancyOptimizer } from '../distributed/zero';
import { initProcessGroup, type ProcessGroup } from '../distributed/group';
import { type TrainConfig, parseTrainConfig, taskVector } from './config';
import { type AdapterSpec, buildAdapter, copyTokenizer, readAdapterSpec, tokenizerSpec } from './run-model';

export interface StepMetrics {
  step: number;
  lr: number;
  /** Σ_t w_t L_t, averaged over the step's micro-batches. */
  loss: number;
  /** L_t per task (mean over the micro-batches that held the task); null when none did. */
  tasks: Record<TaskKind, number | null>;
  gradNorm: number;
  samplesPerSec: number;
  tokensPerSec: number;
  /** Bytes of the storages of live tensors (parameters, optimiser state and whatever a step keeps). */
  tensorBytes: number;
  /** The process's resident set (all threads, V8 and native): a leak shows here. */
  residentBytes: number;
  /** Bytes the caching CPU allocator holds (in use + cached); null where it is not installed. */
  allocatorBytes: number | null;
  seconds: number;
}

export type TrainEvent =
  | { type: 'start'; step: number; steps: number; parameters: number; trainable: number; runDir: string }
  | { type: 'step'; metrics: StepMetrics }
  | { type: 'eval'; step: number; result: unknown }
  | { type: 'checkpoint'; step: number; dir: string }
  | { type: 'done'; step: number; stopped: boolean; checkpoint: string };

export interface TrainOptions extends RunDirOptions {
  onEvent?: (e: TrainEvent) => void;
  /** Checked between steps: when true, a checkpoint is saved and run() returns. */
  shouldStop?: () => boolean;
  /** Periodic evaluation (evalEvery); its result goes to the events and eval.jsonl. */
  evaluate?: (adapter: Adapter, step: number) => Promise<unknown> | unknown;
}

/** The process group and the DDP wrapper of a data-parallel run. */
interface DataParallel { group: ProcessGroup; ddp: DistributedDataParallel<Adapter['model']> }

/** What a micro-batch reports: its loss, and per task the loss and the tokens it held. */
interface MicroResult { loss: number; taskLoss: number[]; taskTokens: number[] }

/** Each data-parallel rank draws its own record order: seed + rank · stride. */
const RANK_SEED_STRIDE = 7919;

function memoryMetrics(): Pick<StepMetrics, 'tensorBytes' | 'residentBytes' | 'allocatorBytes'> {
  const m = torch.memory();
  const a = m.allocator;
  return { tensorBytes: m.bytes, residentBytes: process.memoryUsage.rss(), allocatorBytes: a.caching ? (a.inUse ?? 0) + (a.cached ?? 0) : null };
}

const mean = (xs: number[]): number | null => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);

export class Trainer {
  readonly config: TrainConfig;
  readonly runDir: string;
  adapter!: Adapter;
  /**
   * The whole optimiser. With optim.zero in a data-parallel run it holds no state: it carries the
   * groups for the schedule and checkpoints, and `zero` (this rank's share) does the updates.
   */
  private optimizer!: AdamW;
  private zero: ZeroRedundancyOptimizer<AdamW> | null = null;
  private optimizerGroups: ParamGroup<AdamWOptions>[] = [];
  private schedule!: WarmupCosine;
  private step = 0;
  /** The parameters the optimiser updates (and clipping scales). */
  private params: Tensor[] = [];
  private group: ProcessGroup | null = null;
  private tokenizer: TokenizerSpec = { kind: 'scenes' };

  constructor(config: unknown) {
    this.config = parseTrainConfig(config);
    this.runDir = path.resolve(this.config.out);
  }

  private adapterSpec(): AdapterSpec {
    const c = this.config;
    const t = c.data.tokenizer;
    const tokenizer = t === undefined ? undefined : { file: path.resolve(t.path), pad: t.pad, eos: t.eos };
    if (c.base !== undefined) {
      const base = readAdapterSpec(c.base);
      if (base !== undefined) {
        if (base.family !== c.family) throw new RangeError(`the base checkpoint ${c.base} is a ${base.family} model, but the config says family ${c.family}`);
        return { ...base, model: { ...base.model, ...c.model }, tokenizer: tokenizer ?? base.tokenizer };
      }
    }
    return { family: c.family, preset: c.preset, model: c.model, tokenizer };
  }

  private setup(o: RunDirOptions): void {
    const c = this.config;
    const spec = this.adapterSpec();
    torch.manualSeed(c.seed);
    this.adapter = buildAdapter(spec, { weights: c.base, codec: c.codec, seed: c.seed, device: c.device });
    this.tokenizer = tokenizerSpec(spec);
    // The run directory is written only now, once the base (which may live in it) is loaded.
    if (this.writer) {
      prepareRunDir(this.runDir, o);
      const saved = spec.tokenizer === undefined ? spec : { ...spec, tokenizer: copyTokenizer(spec.tokenizer, this.runDir) };
      fs.writeFileSync(path.join(this.runDir, ADAPTER_FILE), `${JSON.stringify(saved, null, 2)}\n`);
      fs.writeFileSync(path.join(this.runDir, CONFIG_FILE), `${JSON.stringify(c, null, 2)}\n`);
    }
    const named = this.adapter.trainableParameters('post-training');
    this.params = named.map(([, p]) => p);
    const decay = named.filter(([n]) => !this.adapter.noDecay(n)).map(([, p]) => p);
    const noDecay = named.filter(([n]) => this.adapter.noDecay(n)).map(([, p]) => p);
    this.optimizerGroups = [
      { params: decay, weightDecay: c.optim.weightDecay },
      { params: noDecay, weightDecay: 0 },
    ].filter((g) => g.params.length > 0);
    this.optimizer = this.adamw(this.optimizerGroups);
    const warmupSteps = Math.round(c.optim.warmup * c.steps);
    this.schedule = new WarmupCosine(this.optimizer, { warmupSteps, totalSteps: c.steps, minLrRatio: c.optim.minLrRatio });
  }

  private adamw(groups: ParamGroup<AdamWOptions>[]): AdamW {
    const o = this.config.optim;
    return new AdamW(groups, { lr: o.lr, betas: o.betas, weightDecay: o.weightDecay });
  }

  /** optim.zero: this rank's share of the optimiser, starting from the whole one's (resumed) state, which is then freed. */
  private shardOptimizer(group: ProcessGroup): void {
    this.zero = ZeroRedundancyOptimizer.create(group, this.optimizerGroups, (g) => this.adamw(g));
    this.zero.loadStateDict(this.optimizer.stateDict());
    this.optimizer.dispose();
  }

  /** One optimiser update (and the gradients dropped). */
  private async optimizerStep(): Promise<void> {
    if (this.zero === null) {
      this.optimizer.step();
      this.optimizer.zeroGrad();
      return;
    }
    // The schedule sets the whole optimiser's learning rates; the shard follows them.
    this.zero.paramGroups.forEach((g, i) => { g.lr = this.optimizer.paramGroups[i].lr; });
    await this.zero.step();
    this.zero.zeroGrad();
  }

  /**
   * Data parallel when started by `unimrg launch` / `unimrg train --nproc` (WORLD_SIZE > 1): a
   * c10d group (Gloo on CPU, NCCL on CUDA) and DDP over the adapter's model.
   */
  /**
   * One micro-batch: forward (under bf16 autocast when on), the normalised loss, backward of
   * loss / accumulate. Under DDP every micro-batch but the step's last keeps its gradients local.
   */
  private async microStep(batch: TaskBatch, s: { weights: Tensor; dist: DataParallel | null; bf16: boolean; last: boolean }): Promise<MicroResult> {
    const c = this.config;
    const run = async (): Promise<MicroResult> => {
      const forward = () => this.adapter.forward(batch);
      const out = torch.tidy(() => (s.bf16 ? torch.autocast(c.device.startsWith('cuda') ? 'cuda' : 'cpu', forward) : forward()));
      let l: AdapterLoss | null = null;
      try {
        l = await trainingLoss(out, { weights: s.weights, group: s.dist?.group });
        const { loss, taskLoss, taskTokens } = l;
        return torch.tidy(() => {
          loss.div(c.batch.accumulate).backward();
          return { loss: Number(loss.item()), taskLoss: Array.from(taskLoss.toArray() as Float32Array), taskTokens: Array.from(taskTokens.toArray() as Float32Array) };
        });
      } finally {
        disposeForwardOutput(out, this.adapter.model);
        if (l !== null) torch.dispose([l.loss, l.taskLoss, l.taskTokens]);
      }
    };
    return s.dist !== null && !s.last ? s.dist.ddp.noSync(run) : run();
  }

  private async distributed(): Promise<DataParallel | null> {
    if (Number(process.env.WORLD_SIZE ?? '1') <= 1) return null;
    const group = await initProcessGroup({ backend: this.config.device.startsWith('cuda') ? 'nccl' : 'gloo' });
    this.group = group;
    return { group, ddp: await DistributedDataParallel.create(this.adapter.model, group) };
  }

  /** Rank 0 writes the run directory; the others only train. */
  private get writer(): boolean {
    return (this.group?.rank ?? Number(process.env.RANK ?? '0')) === 0;
  }

  private loader(start: number, rank = 0): Promise<DataLoader> {
    const c = this.config;
    const f = this.adapter.batchFormat;
    return createLoader({
      source: c.data.source === 'scenes'
        ? { kind: 'scenes', split: 'train', count: c.data.count, size: Math.max(64, f.conditionSize, f.generationSize) }
        : llavaSource(c.data.path!, c.data.json),
      tokenizer: this.tokenizer,
      batch: {
        batchSize: c.batch.size, mode: c.batch.mode, ratios: c.tasks.ratios, seed: c.seed + RANK_SEED_STRIDE * rank,
        conditionSize: f.conditionSize, generationSize: f.generationSize,
        conditionTokens: f.conditionTokens, generationTokens: f.generationTokens,
        normalization: f.normalization, template: f.template, maxTurns: c.data.maxTurns,
      },
    }, { workers: c.data.workers, start, device: c.device });
  }

  /** Rank 0 writes the checkpoint; with a sharded optimiser every rank first helps assemble its state. */
  private async checkpoint(): Promise<string> {
    const dir = path.join(this.runDir, CHECKPOINT_DIR);
    const save = () => saveCheckpoint(dir, { model: this.adapter.model, optimizer: this.optimizer, schedule: this.schedule, step: this.step, extra: { config: this.config } });
    if (this.zero === null) {
      if (this.writer) save();
      return dir;
    }
    const sd = await this.zero.consolidatedStateDict();
    try {
      if (this.writer) {
        this.optimizer.loadStateDict(sd);
        save();
      }
    } finally {
      this.optimizer.dispose();
      for (const entry of Object.values(sd.state)) torch.dispose(Object.values(entry).filter((v): v is Tensor => v instanceof Tensor));
    }
    return dir;
  }

  private appendJsonl(name: string, record: unknown): void {
    if (!this.writer) return;
    fs.appendFileSync(path.join(this.runDir, name), `${JSON.stringify(record)}\n`);
  }

  /** Trains to config.steps (or until shouldStop), then writes the final checkpoint. */
  async run(o: TrainOptions = {}): Promise<{ step: number; stopped: boolean; checkpoint: string }> {
    // The data loader's threads are unref'd (an abandoned loader must not hold a process open), so
    // while the run awaits them nothing else may keep the event loop alive: a plain script calling
    // run() exited silently mid-run, with code 0 and no final checkpoint (seen in bench/soak.ts).
    const keepAlive = setInterval(() => {}, 1 << 30);
    try {
      return await this.runSteps(o);
    } finally {
      clearInterval(keepAlive);
    }
  }

  private async runSteps(o: TrainOptions): Promise<{ step: number; stopped: boolean; checkpoint: string }> {
    const c = this.config;
    if (this.writer) checkRunDir(this.runDir, o); // before the model is built: a refusal costs nothing
    this.setup(o);
    const emit = o.onEvent ?? (() => {});
    const metricsFile = path.join(this.runDir, METRICS_FILE);
    if (o.resume) {
      const dir = runCheckpoint(this.runDir);
      if (dir === undefined) throw new RangeError(`--resume: no checkpoint in ${this.runDir}`);
      this.step = loadCheckpoint(dir, { model: this.adapter.model, optimizer: this.optimizer, schedule: this.schedule }).step;
      // Metrics written after the checkpoint belong to steps that will be run again.
      if (this.writer) {
        const { kept, droppedTornLine } = metricsUpTo(metricsFile, this.step);
        if (droppedTornLine) process.stderr.write(`resume: dropped the torn last line of ${metricsFile} (a write cut short)\n`);
        if (fs.existsSync(metricsFile)) fs.writeFileSync(metricsFile, kept.map((l) => `${l}\n`).join(''));
      }
    }
    const model = this.adapter.model;
    emit({ type: 'start', step: this.step, steps: c.steps, parameters: model.numParameters(), trainable: model.numParameters({ trainableOnly: true }), runDir: this.runDir });
    const dist = await this.distributed();
    if (dist !== null && c.optim.zero) this.shardOptimizer(dist.group);
    // per-task: a step is one micro-batch of every trained task, `accumulate` times over.
    const microBatches = c.batch.accumulate * microBatchesPerCycle(c.batch.mode, c.tasks.ratios);
    const loader = await this.loader(this.step * microBatches, dist?.group.rank ?? 0);
    const bf16 = c.bf16 === 'auto' ? c.device.startsWith('cuda') : c.bf16;
    let stopped = false;
    this.adapter.train();
    // The task weights as a tensor once for the run (not one per loss term per micro-batch).
    const weights = torch.tensor(Float32Array.from(taskVector(c.tasks.weights)), { device: c.device });
    try {
      while (this.step < c.steps) {
        if (o.shouldStop?.()) { stopped = true; break; }
        const t0 = performance.now();
        const lr = this.optimizer.paramGroups[0].lr;
        let loss = 0;
        let samples = 0;
        let tokens = 0;
        const perTask: number[][] = TASKS.map(() => []);
        for (let m = 0; m < microBatches; m++) {
          const batch = await loader.next();
          if (batch === null) throw new Error('the data loader ended early');
          try {
            const r = await this.microStep(batch, { weights, dist, bf16, last: m === microBatches - 1 });
            loss += r.loss / c.batch.accumulate;
            r.taskLoss.forEach((v, t) => { if (r.taskTokens[t] > 0) perTask[t].push(v); });
            samples += batch.ids.length;
            tokens += Number(torch.tidy(() => batch.attentionMask.sum().item()));
          } finally {
            torch.dispose(batch);
          }
        }
        if (dist !== null) await dist.ddp.syncGradients();
        const gradNorm = c.optim.clip > 0 ? clipGradNorm(this.params, c.optim.clip) : NaN;
        await this.optimizerStep();
        this.schedule.step();
        this.step++;
        const seconds = (performance.now() - t0) / 1000;
        const metrics: StepMetrics = {
          step: this.step, lr, loss, gradNorm, seconds,
          tasks: Object.fromEntries(TASKS.map((t, i) => [t, mean(perTask[i])])) as Record<TaskKind, number | null>,
          samplesPerSec: samples / seconds, tokensPerSec: tokens / seconds, ...memoryMetrics(),
        };
        if (!Number.isFinite(loss)) throw new Error(`the loss became ${loss} at step ${this.step} (lr ${lr}); lower optim.lr or check the data`);
        this.appendJsonl(METRICS_FILE, metrics);
        emit({ type: 'step', metrics });
        if (c.checkpointEvery > 0 && this.step % c.checkpointEvery === 0 && this.step < c.steps) emit({ type: 'checkpoint', step: this.step, dir: await this.checkpoint() });
        if (o.evaluate && c.evalEvery > 0 && this.step % c.evalEvery === 0) {
          this.adapter.eval();
          const result = await o.evaluate(this.adapter, this.step);
          this.adapter.train();
          this.appendJsonl(EVAL_FILE, { step: this.step, result });
          emit({ type: 'eval', step: this.step, result });
        }
      }
    } finally {
      weights.dispose();
      await loader.close();
    }
    const checkpoint = await this.checkpoint();
    if (dist !== null) {
      await dist.group.barrier(); // every rank returns after rank 0's checkpoint is on disk
      dist.ddp.destroy();
      dist.group.destroy();
      this.group = null;
    }
    emit({ type: 'checkpoint', step: this.step, dir: checkpoint });
    emit({ type: 'done', step: this.step, stopped, checkpoint });
    return { step: this.step, stopped, checkpoint };
  }

  dispose(): void {
    this.adapter?.dispose();
    this.optimizer?.dispose?.();
    this.zero?.dispose();
  }
}
