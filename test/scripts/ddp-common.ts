// Shared by the ddp-*.ts rank scripts (spawned by test/distributed/*.test.ts and bench/ddp.ts):
// a tiny model, a deterministic global batch, and a last line of JSON on stdout.
import { nn, torch, Tensor } from '../../lib';

export class TinyNet extends nn.Module {
  readonly fc1: nn.Linear;
  readonly fc2: nn.Linear;
  constructor(inF: number, hidden: number, outF: number) {
    super();
    this.fc1 = this.registerModule('fc1', new nn.Linear(inF, hidden));
    this.fc2 = this.registerModule('fc2', new nn.Linear(hidden, outF));
  }
  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.fc2.forward(this.fc1.forward(x).tanh()));
  }
}

/** Rows [start, start + n) of a fixed pseudo-random [N, features] batch for step `step`. */
export function rows(step: number, start: number, n: number, features: number, salt = 0): Tensor {
  const data = new Float32Array(n * features);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < features; j++) data[i * features + j] = Math.sin(1.3 * (start + i) + 0.7 * j + 2.1 * step + salt);
  }
  return torch.tensor(data).reshape([n, features]);
}

export function emit(result: unknown): void {
  process.stdout.write(JSON.stringify(result) + '\n');
}

export function params(m: nn.Module): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, p] of m.namedParameters()) out[name] = Array.from(p.toArray() as Float32Array);
  return out;
}
