// A lazily resolved ATen operator: the schema is looked up once per environment, then every
// call is one crossing into the native dispatcher with tensor handles and plain values.
import { native } from '../native/binding';
import type { OpSchema } from '../native/types';

export class Op {
  private id_ = -1;
  private schema_: OpSchema | undefined;
  constructor(readonly name: string, readonly overload = '') {}

  get id(): number {
    return this.id_ >= 0 ? this.id_ : (this.id_ = native.findOp(this.name, this.overload));
  }

  get schema(): OpSchema {
    return this.schema_ ?? (this.schema_ = native.opSchema(this.id));
  }

  /** Whether the loaded libtorch registers this operator (some are 2.x only). */
  get exists(): boolean {
    try {
      return this.id >= 0;
    } catch {
      return false;
    }
  }
}

/** Operators by "name.overload" key, shared by typed wrappers and torch.ops. */
const cache = new Map<string, Op>();
export function op(name: string, overload = ''): Op {
  const key = `${name}.${overload}`;
  let o = cache.get(key);
  if (o === undefined) cache.set(key, (o = new Op(name.includes('::') ? name : `aten::${name}`, overload)));
  return o;
}
