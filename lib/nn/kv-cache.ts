// A key/value cache for incremental decoding: each attention layer keeps the keys (after the
// rotary embedding) and values of the positions it has seen, so a decoding step computes only the
// new token's query, key and value instead of re-running the whole sequence. Every row of the
// batch advances together (same prompt length, one token per step), as in image-token sampling.
import { keep } from '../torch/scope';
import * as F from '../torch/functional';
import type { Tensor } from '../torch/tensor';

/** One layer's cached keys and values, [B, Hkv, S, d] each (null before the first call). */
export class LayerKV {
  k: Tensor | null = null;
  v: Tensor | null = null;

  /** Positions cached so far. */
  get length(): number {
    return this.k === null ? 0 : this.k.shape[2];
  }

  /** Appends this call's keys and values; returns all of them. They outlive the caller's tidy(). */
  append(k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    const nk = keep(this.k === null ? k.contiguous() : F.cat([this.k, k], 2));
    const nv = keep(this.v === null ? v.contiguous() : F.cat([this.v, v], 2));
    this.k?.dispose();
    this.v?.dispose();
    this.k = nk;
    this.v = nv;
    return { k: nk, v: nv };
  }

  dispose(): void {
    this.k?.dispose();
    this.v?.dispose();
    this.k = this.v = null;
  }
}

/** The cache of a whole decoder: one LayerKV per layer. Dispose it when decoding ends. */
export class KVCache {
  readonly layers: LayerKV[];
  constructor(numLayers: number) {
    this.layers = Array.from({ length: numLayers }, () => new LayerKV());
  }

  /** Positions cached so far (the position of the next token). */
  get length(): number {
    return this.layers[0]?.length ?? 0;
  }

  dispose(): void {
    for (const l of this.layers) l.dispose();
  }
}
