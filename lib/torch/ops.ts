// torch.ops.<namespace>.<name>[.<overload>](...args, kwargs?): any registered operator, through
// its schema. Without an overload, the first schema that accepts the arguments is chosen
// (the one with the fewest arguments first, as the plain overload usually is).
import { native } from '../native/binding';
import type { ArgInfo, OpSchema } from '../native/types';
import { dtypes } from './dtype';
import { TorchError } from './errors';
import { op, type Op } from './op';
import { Tensor } from './tensor';

type Kwargs = Record<string, unknown>;

const isPlainObject = (v: unknown): v is Kwargs =>
  v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;

function accepts(a: ArgInfo, v: unknown): boolean {
  if (v === undefined || v === null) return a.optional || a.hasDefault;
  if (a.list) {
    if (!Array.isArray(v)) return (a.kind === 'int' && Number.isInteger(v)) || (a.kind === 'float' && typeof v === 'number');
    return v.every((e) => (e === null && a.type.includes('?[]')) || acceptsElement(a, e));
  }
  return acceptsElement(a, v);
}

function acceptsElement(a: ArgInfo, v: unknown): boolean {
  switch (a.kind) {
    case 'Tensor': return v instanceof Tensor;
    case 'Scalar': return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint';
    case 'int': return (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';
    case 'float': return typeof v === 'number';
    case 'bool': return typeof v === 'boolean';
    case 'str': return typeof v === 'string';
    case 'ScalarType': return typeof v === 'string' && (dtypes as readonly string[]).includes(v);
    case 'Device': return typeof v === 'string' && (v === 'cpu' || v.startsWith('cuda'));
    case 'Layout': case 'MemoryFormat': return typeof v === 'string';
    default: return false;
  }
}

/** Arguments in schema order, or undefined when this schema does not accept them. */
function bind(schema: OpSchema, positional: unknown[], kwargs: Kwargs): unknown[] | undefined {
  const args = schema.args;
  const nPositional = args.filter((a) => !a.kwargOnly).length;
  if (positional.length > nPositional) return undefined;
  for (const key of Object.keys(kwargs)) if (!args.some((a) => a.name === key)) return undefined;
  const bound: unknown[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    let v: unknown;
    if (i < positional.length) {
      if (a.name in kwargs) return undefined;
      v = positional[i];
    } else {
      v = kwargs[a.name];
    }
    if (a.kind === 'unsupported' || a.kind === 'Generator') {
      if (v !== undefined && v !== null) return undefined;
    } else if (!accepts(a, v)) {
      return undefined;
    }
    bound.push(v);
  }
  return bound;
}

const toNative = (v: unknown): unknown =>
  v instanceof Tensor ? v._h : Array.isArray(v) ? v.map((e) => (e instanceof Tensor ? e._h : e)) : v;

function invoke(o: Op, bound: unknown[], inputs: unknown[]): unknown {
  const result = native.call(o.id, ...bound.map(toNative));
  const schema = o.schema;
  const wrap = (r: unknown, kind: string): unknown => {
    if (kind !== 'Tensor' || r === null) return r;
    if (Array.isArray(r)) return r.map((h) => wrap(h, kind));
    // In-place and out= ops hand back the argument itself: return the caller's object.
    const same = inputs.find((t) => t instanceof Tensor && t._h === r);
    return same ?? new Tensor(r as number);
  };
  if (schema.returns.length === 1) return wrap(result, schema.returns[0].kind);
  if (schema.returns.length === 0) return undefined;
  return (result as unknown[]).map((r, i) => wrap(r, schema.returns[i].kind));
}

function splitArgs(args: unknown[], schemas: OpSchema[]): [unknown[], Kwargs] {
  const last = args[args.length - 1];
  // A trailing plain object is keyword arguments when some schema has those names.
  if (isPlainObject(last) && Object.keys(last).every((k) => schemas.some((s) => s.args.some((a) => a.name === k)))) {
    return [args.slice(0, -1), last];
  }
  return [args, {}];
}

function describe(v: unknown): string {
  if (v instanceof Tensor) return 'Tensor';
  if (Array.isArray(v)) return `[${v.map(describe).join(', ')}]`;
  if (v === null) return 'null';
  return typeof v;
}

function overloadsOf(qualified: string): Op[] {
  const names = native.opOverloads(qualified);
  if (names.length === 0) throw new TorchError(`no operator ${qualified} is registered with libtorch`, qualified);
  return names.map((n) => op(qualified, n))
    .filter((o) => !o.overload.endsWith('out') && !o.schema.args.some((a) => a.kind === 'unsupported' && !a.optional && !a.hasDefault))
    .sort((a, b) => a.schema.args.length - b.schema.args.length || (a.overload === '' ? -1 : b.overload === '' ? 1 : 0));
}

function callResolved(qualified: string, candidates: Op[], args: unknown[]): unknown {
  const [positional, kwargs] = splitArgs(args, candidates.map((o) => o.schema));
  for (const o of candidates) {
    const bound = bind(o.schema, positional, kwargs);
    if (bound !== undefined) return invoke(o, bound, [...positional, ...Object.values(kwargs)]);
  }
  const got = `(${positional.map(describe).join(', ')}${Object.keys(kwargs).length ? `, { ${Object.keys(kwargs).join(', ')} }` : ''})`;
  throw new TorchError(
    `${qualified}: no overload accepts the arguments ${got}; schemas: ${candidates.map((o) => o.schema.schema).join(' | ')}`,
    qualified,
  );
}

export type OpFunction = ((...args: unknown[]) => unknown) & { [overload: string]: (...args: unknown[]) => unknown };
export type OpNamespace = { [name: string]: OpFunction };

function opPacket(ns: string, name: string): OpFunction {
  const qualified = `${ns}::${name}`;
  let overloads: Op[] | undefined;
  const fn = (...args: unknown[]) => callResolved(qualified, (overloads ??= overloadsOf(qualified)), args);
  const bound = new Map<string, (...args: unknown[]) => unknown>();
  return new Proxy(fn, {
    get(target, prop, receiver) {
      if (typeof prop !== 'string' || prop in target) return Reflect.get(target, prop, receiver);
      let f = bound.get(prop);
      if (f === undefined) {
        const o = op(qualified, prop === 'default' ? '' : prop);
        o.id; // resolve now: an unknown overload fails here with a clear message
        f = (...args: unknown[]) => callResolved(qualified, [o], args);
        bound.set(prop, f);
      }
      return f;
    },
  }) as OpFunction;
}

function namespace(ns: string): OpNamespace {
  const packets = new Map<string, OpFunction>();
  return new Proxy({} as OpNamespace, {
    get(_t, name) {
      if (typeof name !== 'string') return undefined;
      let p = packets.get(name);
      if (p === undefined) packets.set(name, (p = opPacket(ns, name)));
      return p;
    },
  });
}

/** torch.ops.aten.cumsum(x, 1), torch.ops.aten.add.Tensor(a, b, { alpha: 2 }), torch.ops.unimrg.… */
export const ops: { [ns: string]: OpNamespace } = new Proxy({} as { [ns: string]: OpNamespace }, {
  get(target, ns) {
    if (typeof ns !== 'string') return undefined;
    return (target[ns] ??= namespace(ns));
  },
});
