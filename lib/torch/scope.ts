// Memory scopes. Tensors created inside tidy(fn) are freed when fn returns, except those it
// returns or keep()s; tensors that escape every scope get a FinalizationRegistry entry as a
// safety net (registration costs ~0.5 us, so scoped tensors skip it).
import { native } from '../native/binding';
import type { AllocatorStats } from '../native/types';
import { TorchError } from './errors';

/** What scopes need of a tensor; Tensor implements it. */
export interface Disposable {
  _h: number;
  _kept: boolean;
}

const scopes: Disposable[][] = [];
const registry = new FinalizationRegistry<number>((h) => native.dispose(h));

/** Called by the Tensor constructor. */
export function track(t: Disposable): void {
  const scope = scopes[scopes.length - 1];
  if (scope !== undefined) scope.push(t);
  else registry.register(t, t._h, t);
}

/** Called when a tensor is disposed explicitly. */
export function untrack(t: Disposable): void {
  registry.unregister(t);
}

function escape(t: Disposable): void {
  const parent = scopes[scopes.length - 1];
  if (parent !== undefined) parent.push(t);
  else registry.register(t, t._h, t);
}

/** Tensors found in a result: a tensor, or arrays / plain objects holding tensors. */
function collect(value: unknown, out: Set<Disposable>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 8) return;
  if ('_h' in value && '_kept' in value) {
    out.add(value as Disposable);
  } else if (Array.isArray(value)) {
    for (const v of value) collect(v, out, depth + 1);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, out, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, out, depth + 1);
  }
}

/**
 * Runs fn; every tensor created inside is freed when it returns, except the tensors in its
 * result and those passed to keep(). Scopes nest: returned tensors belong to the outer scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Disposable[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    release(scope, NONE);
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    release(scope, NONE);
    throw new TorchError('tidy() takes a synchronous function; tensors cannot outlive an await inside it', 'tidy');
  }
  if (result === undefined || result === null || typeof result !== 'object') {
    release(scope, NONE);
  } else {
    const survivors = new Set<Disposable>();
    collect(result, survivors);
    release(scope, survivors);
  }
  return result;
}

const NONE: ReadonlySet<Disposable> = new Set();

function release(scope: Disposable[], survivors: ReadonlySet<Disposable>): void {
  const handles: number[] = [];
  for (const t of scope) {
    if (t._h < 0) continue;
    if (t._kept) {
      registry.register(t, t._h, t); // kept: outlives every scope, like tfjs's keep()
    } else if (survivors.has(t)) {
      escape(t);
    } else {
      handles.push(t._h);
      t._h = -1;
    }
  }
  if (handles.length > 0) native.disposeMany(handles);
}

/** Keeps a tensor alive past the end of every enclosing tidy() scope (until dispose() or GC). */
export function keep<T extends Disposable>(t: T): T {
  if (scopes.length > 0) t._kept = true;
  return t;
}

/** Frees every tensor found in value (a tensor, an array or a plain object of tensors). */
export function dispose(value: unknown): void {
  const found = new Set<Disposable>();
  collect(value, found);
  for (const t of found) {
    if (t._h >= 0) {
      untrack(t);
      native.dispose(t._h);
      t._h = -1;
    }
  }
}

/**
 * Live tensor handles, the bytes of their (distinct) storages, and the caching CPU allocator's
 * statistics (bytes in use and cached, hits, misses, releases; `caching: false` when it is off).
 */
export function memory(): { tensors: number; bytes: number; allocator: AllocatorStats } {
  return { ...native.memory(), allocator: native.allocatorStats() };
}

/** Frees the caching CPU allocator's cached blocks; returns the bytes given back. */
export function emptyCache(): number {
  return native.emptyCache();
}
