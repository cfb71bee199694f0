// The Tensor class: a plain object around an integer handle into the native slot table.
// Methods are thin: one crossing into libtorch's dispatcher per op.
// Kept whole (over ~350 lines): the Tensor class is one surface of thin one-line methods; split,
// a reader would hunt for a method across files.
import { native } from '../native/binding';
import { handleOf as H, handleOrScalar as S } from './args';
import { arrayTypeOf, checkDtype, dtypes, type Device, type DType, type TypedArray } from './dtype';
import { TorchError } from './errors';
import { B, U } from './fast';
import { formatTensor } from './format';
import { op, type Op } from './op';
import { track, untrack } from './scope';

const call = native.call;
const unary = native.unary;
const binary = native.binary;

export type Scalar = number | boolean | bigint;
export type TensorOrScalar = Tensor | Scalar;
export type NestedArray = number | boolean | bigint | NestedArray[];

// Operators used by the methods below, resolved on first use.
const O = {
  addT: op('add', 'Tensor'), addS: op('add', 'Scalar'), addT_: op('add_', 'Tensor'), addS_: op('add_', 'Scalar'),
  subT: op('sub', 'Tensor'), subS: op('sub', 'Scalar'), subT_: op('sub_', 'Tensor'), subS_: op('sub_', 'Scalar'),
  mulT: op('mul', 'Tensor'), mulS: op('mul', 'Scalar'), mulT_: op('mul_', 'Tensor'), mulS_: op('mul_', 'Scalar'),
  divT: op('div', 'Tensor'), divS: op('div', 'Scalar'), divT_: op('div_', 'Tensor'), divS_: op('div_', 'Scalar'),
  powT: op('pow', 'Tensor_Tensor'), powS: op('pow', 'Tensor_Scalar'),
  neg: op('neg'), abs: op('abs'), exp: op('exp'), log: op('log'), log1p: op('log1p'), sqrt: op('sqrt'),
  rsqrt: op('rsqrt'), sin: op('sin'), cos: op('cos'), tanh: op('tanh'), sigmoid: op('sigmoid'), relu: op('relu'),
  gelu: op('gelu'), silu: op('silu'), softplus: op('softplus'), sign: op('sign'), square: op('square'),
  reciprocal: op('reciprocal'), floor: op('floor'), round: op('round'), erf: op('erf'),
  clamp: op('clamp'), clampT: op('clamp', 'Tensor'), clamp_: op('clamp_'),
  maskedFillS: op('masked_fill', 'Scalar'), maskedFillT: op('masked_fill', 'Tensor'),
  maskedScatter: op('masked_scatter'), maskedSelect: op('masked_select'),
  eqT: op('eq', 'Tensor'), eqS: op('eq', 'Scalar'), neT: op('ne', 'Tensor'), neS: op('ne', 'Scalar'),
  ltT: op('lt', 'Tensor'), ltS: op('lt', 'Scalar'), leT: op('le', 'Tensor'), leS: op('le', 'Scalar'),
  gtT: op('gt', 'Tensor'), gtS: op('gt', 'Scalar'), geT: op('ge', 'Tensor'), geS: op('ge', 'Scalar'),
  logicalNot: op('logical_not'), logicalAnd: op('logical_and'), logicalOr: op('logical_or'),
  sum: op('sum'), sumDim: op('sum', 'dim_IntList'), mean: op('mean'), meanDim: op('mean', 'dim'),
  max: op('max'), maxDim: op('max', 'dim'), min: op('min'), minDim: op('min', 'dim'),
  maximum: op('maximum'), minimum: op('minimum'),
  argmax: op('argmax'), argmin: op('argmin'), logsumexp: op('logsumexp'),
  stdDim: op('std', 'dim'), varDim: op('var', 'dim'), std: op('std'), var: op('var'),
  norm: op('norm', 'Scalar'), normDim: op('norm', 'ScalarOpt_dim'), prod: op('prod'), cumsum: op('cumsum'),
  allDim: op('all'), anyDim: op('any'),
  matmul: op('matmul'), bmm: op('bmm'), mm: op('mm'),
  reshape: op('reshape'), view: op('view'), flatten: op('flatten', 'using_ints'), squeeze: op('squeeze'),
  squeezeDim: op('squeeze', 'dim'), unsqueeze: op('unsqueeze'), transpose: op('transpose', 'int'),
  permute: op('permute'), contiguous: op('contiguous'), expand: op('expand'), repeat: op('repeat'),
  narrow: op('narrow'), select: op('select', 'int'), indexSelect: op('index_select'), gather: op('gather'),
  scatterSrc: op('scatter', 'src'), scatterValue: op('scatter', 'value'), scatterAdd: op('scatter_add'),
  split: op('split', 'Tensor'), splitSizes: op('split_with_sizes'), chunk: op('chunk'), t: op('t'),
  flip: op('flip'), tril: op('tril'), triu: op('triu'), topk: op('topk'), sort: op('sort'),
  toDtype: op('to', 'dtype'), toDevice: op('to', 'device'), clone: op('clone'), detach: op('detach'),
  zero_: op('zero_'), fill_: op('fill_', 'Scalar'), copy_: op('copy_'), uniform_: op('uniform_'), normal_: op('normal_'),
  softmax: op('softmax', 'int'), logSoftmax: op('log_softmax', 'int'),
} satisfies Record<string, Op>;

export class Tensor {
  /** @internal handle into the native table; -1 once disposed. */
  _h: number;
  /** @internal kept past every tidy() scope. */
  _kept = false;

  /** @internal Wraps a native handle; use torch.tensor() and friends to create tensors. */
  constructor(handle: number) {
    this._h = handle;
    track(this);
  }

  // ---- metadata ------------------------------------------------------------------------
  get shape(): number[] { return native.shape(this._h); }
  get dtype(): DType { return native.dtype(this._h) as DType; }
  get device(): Device { return native.device(this._h) as Device; }
  get numel(): number { return native.numel(this._h); }
  get ndim(): number { return this.shape.length; }
  dim(): number { return this.shape.length; }
  size(d?: number): number | number[] {
    const s = this.shape;
    if (d === undefined) return s;
    const i = d < 0 ? d + s.length : d;
    if (i < 0 || i >= s.length) throw new TorchError(`dimension ${d} is out of range for a ${s.length}-d tensor`, 'size');
    return s[i];
  }
  stride(): number[] { return native.strides(this._h); }
  isContiguous(): boolean { return native.isContiguous(this._h); }
  get isDisposed(): boolean { return this._h < 0; }

  // ---- autograd ------------------------------------------------------------------------
  get requiresGrad(): boolean { return native.requiresGrad(this._h); }
  set requiresGrad(v: boolean) { native.setRequiresGrad(this._h, v); }
  requiresGrad_(v = true): this { native.setRequiresGrad(this._h, v); return this; }
  /** The accumulated gradient (a new handle to it each read), or null. */
  get grad(): Tensor | null {
    const h = native.grad(this._h);
    return h === null ? null : new Tensor(h);
  }
  set grad(g: Tensor | null) { native.setGrad(this._h, g === null ? null : H(g, 'grad', 'value')); }
  get isLeaf(): boolean { return native.isLeaf(this._h); }
  get gradFn(): string | null { return native.gradFn(this._h); }
  /** PyTorch's `t.data = value`: this tensor takes value's data (device, dtype) and keeps its identity. */
  setData(value: Tensor): void { native.setData(this._h, H(value, 'setData', 'value')); }
  retainGrad(): this { native.retainGrad(this._h); return this; }
  backward(gradient?: Tensor, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    native.backward([this._h], gradient ? [H(gradient, 'backward', 'gradient')] : null, opts.retainGraph, opts.createGraph ?? false);
  }

  // ---- memory --------------------------------------------------------------------------
  /** Frees the tensor now. Using it afterwards throws a TorchError. */
  dispose(): void {
    if (this._h < 0) return;
    untrack(this);
    native.dispose(this._h);
    this._h = -1;
  }

  // ---- elementwise math ----------------------------------------------------------------
  add(other: TensorOrScalar, alpha: number = 1): Tensor {
    if (typeof other === 'object') return new Tensor(alpha === 1 ? binary(B.add, this._h, S(other, 'add', 'other')) : call(O.addT.id, this._h, S(other, 'add', 'other'), alpha));
    return new Tensor(call(O.addS.id, this._h, other, alpha));
  }
  sub(other: TensorOrScalar, alpha: number = 1): Tensor {
    if (typeof other === 'object') return new Tensor(alpha === 1 ? binary(B.sub, this._h, S(other, 'sub', 'other')) : call(O.subT.id, this._h, S(other, 'sub', 'other'), alpha));
    return new Tensor(call(O.subS.id, this._h, other, alpha));
  }
  mul(other: TensorOrScalar): Tensor {
    return new Tensor(typeof other === 'object' ? binary(B.mul, this._h, S(other, 'mul', 'other')) : call(O.mulS.id, this._h, other));
  }
  div(other: TensorOrScalar): Tensor {
    return new Tensor(typeof other === 'object' ? binary(B.div, this._h, S(other, 'div', 'other')) : call(O.divS.id, this._h, other));
  }
  pow(exponent: TensorOrScalar): Tensor {
    return new Tensor(typeof exponent === 'object' ? call(O.powT.id, this._h, S(exponent, 'pow', 'exponent')) : call(O.powS.id, this._h, exponent));
  }
  add_(other: TensorOrScalar, alpha: number = 1): this {
    if (typeof other === 'object') call(O.addT_.id, this._h, S(other, 'add_', 'other'), alpha); else call(O.addS_.id, this._h, other, alpha);
    return this;
  }
  sub_(other: TensorOrScalar, alpha: number = 1): this {
    if (typeof other === 'object') call(O.subT_.id, this._h, S(other, 'sub_', 'other'), alpha); else call(O.subS_.id, this._h, other, alpha);
    return this;
  }
  mul_(other: TensorOrScalar): this {
    if (typeof other === 'object') call(O.mulT_.id, this._h, S(other, 'mul_', 'other')); else call(O.mulS_.id, this._h, other);
    return this;
  }
  div_(other: TensorOrScalar): this {
    if (typeof other === 'object') call(O.divT_.id, this._h, S(other, 'div_', 'other')); else call(O.divS_.id, this._h, other);
    return this;
  }
  neg(): Tensor { return new Tensor(unary(U.neg, this._h)); }
  abs(): Tensor { return new Tensor(unary(U.abs, this._h)); }
  exp(): Tensor { return new Tensor(unary(U.exp, this._h)); }
  log(): Tensor { return new Tensor(unary(U.log, this._h)); }
  log1p(): Tensor { return new Tensor(unary(U.log1p, this._h)); }
  sqrt(): Tensor { return new Tensor(unary(U.sqrt, this._h)); }
  rsqrt(): Tensor { return new Tensor(unary(U.rsqrt, this._h)); }
  sin(): Tensor { return new Tensor(unary(U.sin, this._h)); }
  cos(): Tensor { return new Tensor(unary(U.cos, this._h)); }
  tanh(): Tensor { return new Tensor(unary(U.tanh, this._h)); }
  sigmoid(): Tensor { return new Tensor(unary(U.sigmoid, this._h)); }
  relu(): Tensor { return new Tensor(unary(U.relu, this._h)); }
  /** GELU; approximate 'tanh' as in PyTorch. */
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor { return new Tensor(call(O.gelu.id, this._h, approximate)); }
  silu(): Tensor { return new Tensor(unary(U.silu, this._h)); }
  softplus(beta = 1, threshold = 20): Tensor { return new Tensor(call(O.softplus.id, this._h, beta, threshold)); }
  sign(): Tensor { return new Tensor(call(O.sign.id, this._h)); }
  square(): Tensor { return new Tensor(unary(U.square, this._h)); }
  reciprocal(): Tensor { return new Tensor(unary(U.reciprocal, this._h)); }
  floor(): Tensor { return new Tensor(call(O.floor.id, this._h)); }
  round(): Tensor { return new Tensor(call(O.round.id, this._h)); }
  erf(): Tensor { return new Tensor(call(O.erf.id, this._h)); }
  clamp(min?: number | Tensor | null, max?: number | Tensor | null): Tensor {
    if (min instanceof Tensor || max instanceof Tensor) {
      return new Tensor(call(O.clampT.id, this._h, min == null ? null : H(min, 'clamp', 'min'), max == null ? null : H(max, 'clamp', 'max')));
    }
    return new Tensor(call(O.clamp.id, this._h, min ?? null, max ?? null));
  }
  clamp_(min?: number | null, max?: number | null): this { call(O.clamp_.id, this._h, min ?? null, max ?? null); return this; }
  /** A copy with the positions where mask holds filled, in order, from source's elements (differentiable in both). */
  maskedScatter(mask: Tensor, source: Tensor): Tensor {
    return new Tensor(call(O.maskedScatter.id, this._h, H(mask, 'maskedScatter', 'mask'), H(source, 'maskedScatter', 'source')));
  }
  /** The elements where mask holds, in order, as a 1-D tensor (differentiable). */
  maskedSelect(mask: Tensor): Tensor {
    return new Tensor(call(O.maskedSelect.id, this._h, H(mask, 'maskedSelect', 'mask')));
  }
  maskedFill(mask: Tensor, value: TensorOrScalar): Tensor {
    return new Tensor(typeof value === 'object' ? call(O.maskedFillT.id, this._h, H(mask, 'maskedFill', 'mask'), S(value, 'maskedFill', 'value')) : call(O.maskedFillS.id, this._h, H(mask, 'maskedFill', 'mask'), value));
  }
  maximum(other: Tensor): Tensor { return new Tensor(call(O.maximum.id, this._h, H(other, 'maximum', 'other'))); }
  minimum(other: Tensor): Tensor { return new Tensor(call(O.minimum.id, this._h, H(other, 'minimum', 'other'))); }

  // ---- comparisons and logic -----------------------------------------------------------
  eq(other: TensorOrScalar): Tensor { return cmp(this, other, O.eqT, O.eqS); }
  ne(other: TensorOrScalar): Tensor { return cmp(this, other, O.neT, O.neS); }
  lt(other: TensorOrScalar): Tensor { return cmp(this, other, O.ltT, O.ltS); }
  le(other: TensorOrScalar): Tensor { return cmp(this, other, O.leT, O.leS); }
  gt(other: TensorOrScalar): Tensor { return cmp(this, other, O.gtT, O.gtS); }
  ge(other: TensorOrScalar): Tensor { return cmp(this, other, O.geT, O.geS); }
  logicalNot(): Tensor { return new Tensor(call(O.logicalNot.id, this._h)); }
  logicalAnd(other: Tensor): Tensor { return new Tensor(call(O.logicalAnd.id, this._h, H(other, 'logicalAnd', 'other'))); }
  logicalOr(other: Tensor): Tensor { return new Tensor(call(O.logicalOr.id, this._h, H(other, 'logicalOr', 'other'))); }

  // ---- reductions ----------------------------------------------------------------------
  sum(dim?: number | number[], keepdim = false, opts: { dtype?: DType } = {}): Tensor {
    if (dim === undefined) return new Tensor(opts.dtype === undefined ? unary(U.sum, this._h) : call(O.sum.id, this._h, opts.dtype));
    return new Tensor(call(O.sumDim.id, this._h, dim, keepdim, opts.dtype ?? null));
  }
  mean(dim?: number | number[], keepdim = false, opts: { dtype?: DType } = {}): Tensor {
    if (dim === undefined) return new Tensor(opts.dtype === undefined ? unary(U.mean, this._h) : call(O.mean.id, this._h, opts.dtype));
    return new Tensor(call(O.meanDim.id, this._h, dim, keepdim, opts.dtype ?? null));
  }
  /** The largest element, or along `dim` the largest values (see maxWithIndices for both). */
  max(dim?: number, keepdim = false): Tensor {
    if (dim === undefined) return new Tensor(call(O.max.id, this._h));
    const [values, indices] = call(O.maxDim.id, this._h, dim, keepdim) as number[];
    native.dispose(indices);
    return new Tensor(values);
  }
  min(dim?: number, keepdim = false): Tensor {
    if (dim === undefined) return new Tensor(call(O.min.id, this._h));
    const [values, indices] = call(O.minDim.id, this._h, dim, keepdim) as number[];
    native.dispose(indices);
    return new Tensor(values);
  }
  maxWithIndices(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [v, i] = call(O.maxDim.id, this._h, dim, keepdim) as number[];
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  minWithIndices(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [v, i] = call(O.minDim.id, this._h, dim, keepdim) as number[];
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  argmax(dim?: number, keepdim = false): Tensor { return new Tensor(call(O.argmax.id, this._h, dim ?? null, keepdim)); }
  argmin(dim?: number, keepdim = false): Tensor { return new Tensor(call(O.argmin.id, this._h, dim ?? null, keepdim)); }
  logsumexp(dim: number | number[], keepdim = false): Tensor { return new Tensor(call(O.logsumexp.id, this._h, dim, keepdim)); }
  /** Standard deviation (unbiased by default, as PyTorch). */
  std(dim?: number | number[], keepdim = false, opts: { unbiased?: boolean } = {}): Tensor {
    return new Tensor(dim === undefined ? call(O.std.id, this._h, opts.unbiased ?? true) : call(O.stdDim.id, this._h, dim, opts.unbiased ?? true, keepdim));
  }
  var(dim?: number | number[], keepdim = false, opts: { unbiased?: boolean } = {}): Tensor {
    return new Tensor(dim === undefined ? call(O.var.id, this._h, opts.unbiased ?? true) : call(O.varDim.id, this._h, dim, opts.unbiased ?? true, keepdim));
  }
  /** p-norm over all elements or along `dim`. */
  norm(p: number = 2, dim?: number | number[], keepdim = false): Tensor {
    return new Tensor(dim === undefined ? call(O.norm.id, this._h, p) : call(O.normDim.id, this._h, p, dim, keepdim));
  }
  prod(): Tensor { return new Tensor(call(O.prod.id, this._h, null)); }
  cumsum(dim: number): Tensor { return new Tensor(call(O.cumsum.id, this._h, dim, null)); }
  all(): Tensor { return new Tensor(call(O.allDim.id, this._h)); }
  any(): Tensor { return new Tensor(call(O.anyDim.id, this._h)); }

  // ---- linear algebra ------------------------------------------------------------------
  matmul(other: Tensor): Tensor { return new Tensor(binary(B.matmul, this._h, H(other, 'matmul', 'other'))); }
  bmm(other: Tensor): Tensor { return new Tensor(binary(B.bmm, this._h, H(other, 'bmm', 'other'))); }
  mm(other: Tensor): Tensor { return new Tensor(binary(B.mm, this._h, H(other, 'mm', 'other'))); }

  // ---- shape ---------------------------------------------------------------------------
  reshape(...shape: number[] | [number[]]): Tensor { return new Tensor(call(O.reshape.id, this._h, sizes(shape))); }
  view(...shape: number[] | [number[]]): Tensor { return new Tensor(call(O.view.id, this._h, sizes(shape))); }
  flatten(startDim = 0, endDim = -1): Tensor { return new Tensor(call(O.flatten.id, this._h, startDim, endDim)); }
  squeeze(dim?: number): Tensor { return new Tensor(dim === undefined ? call(O.squeeze.id, this._h) : call(O.squeezeDim.id, this._h, dim)); }
  unsqueeze(dim: number): Tensor { return new Tensor(call(O.unsqueeze.id, this._h, dim)); }
  transpose(dim0: number, dim1: number): Tensor { return new Tensor(call(O.transpose.id, this._h, dim0, dim1)); }
  /** 2-D transpose. */
  t(): Tensor { return new Tensor(call(O.t.id, this._h)); }
  permute(...dims: number[] | [number[]]): Tensor { return new Tensor(call(O.permute.id, this._h, sizes(dims))); }
  contiguous(): Tensor { return new Tensor(call(O.contiguous.id, this._h)); }
  expand(...shape: number[] | [number[]]): Tensor { return new Tensor(call(O.expand.id, this._h, sizes(shape), false)); }
  expandAs(other: Tensor): Tensor { H(other, 'expandAs', 'other'); return this.expand(other.shape); }
  repeat(...repeats: number[] | [number[]]): Tensor { return new Tensor(call(O.repeat.id, this._h, sizes(repeats))); }
  narrow(dim: number, start: number, length: number): Tensor { return new Tensor(call(O.narrow.id, this._h, dim, start, length)); }
  select(dim: number, index: number): Tensor { return new Tensor(call(O.select.id, this._h, dim, index)); }
  indexSelect(dim: number, index: Tensor): Tensor { return new Tensor(call(O.indexSelect.id, this._h, dim, H(index, 'indexSelect', 'index'))); }
  gather(dim: number, index: Tensor): Tensor { return new Tensor(call(O.gather.id, this._h, dim, H(index, 'gather', 'index'), false)); }
  scatter(dim: number, index: Tensor, src: TensorOrScalar): Tensor {
    return new Tensor(typeof src === 'object' ? call(O.scatterSrc.id, this._h, dim, H(index, 'scatter', 'index'), S(src, 'scatter', 'src')) : call(O.scatterValue.id, this._h, dim, H(index, 'scatter', 'index'), src));
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return new Tensor(call(O.scatterAdd.id, this._h, dim, H(index, 'scatterAdd', 'index'), H(src, 'scatterAdd', 'src'))); }
  /** Splits into pieces of `size` (a number) or of the given sizes (an array), along dim. */
  split(sizeOrSizes: number | number[], dim = 0): Tensor[] {
    const hs = (Array.isArray(sizeOrSizes) ? call(O.splitSizes.id, this._h, sizeOrSizes, dim) : call(O.split.id, this._h, sizeOrSizes, dim)) as number[];
    return hs.map((h) => new Tensor(h));
  }
  chunk(chunks: number, dim = 0): Tensor[] { return (call(O.chunk.id, this._h, chunks, dim) as number[]).map((h) => new Tensor(h)); }
  flip(dims: number[]): Tensor { return new Tensor(call(O.flip.id, this._h, dims)); }
  tril(diagonal = 0): Tensor { return new Tensor(call(O.tril.id, this._h, diagonal)); }
  triu(diagonal = 0): Tensor { return new Tensor(call(O.triu.id, this._h, diagonal)); }
  topk(k: number, dim = -1, largest = true, sorted = true): { values: Tensor; indices: Tensor } {
    const [v, i] = call(O.topk.id, this._h, k, dim, largest, sorted) as number[];
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [v, i] = call(O.sort.id, this._h, dim, descending) as number[];
    return { values: new Tensor(v), indices: new Tensor(i) };
  }

  // ---- functional on self ----------------------------------------------------------------
  softmax(dim: number, opts: { dtype?: DType } = {}): Tensor { return new Tensor(call(O.softmax.id, this._h, dim, opts.dtype ?? null)); }
  logSoftmax(dim: number, opts: { dtype?: DType } = {}): Tensor { return new Tensor(call(O.logSoftmax.id, this._h, dim, opts.dtype ?? null)); }

  // ---- conversion ----------------------------------------------------------------------
  /** A tensor of another dtype or on another device (the same tensor when nothing changes). */
  to(target: DType | Device | { dtype?: DType; device?: Device }, opts: { copy?: boolean; nonBlocking?: boolean } = {}): Tensor {
    const copy = opts.copy ?? false;
    const nb = opts.nonBlocking ?? false;
    let dtype: DType | undefined;
    let device: string | undefined;
    if (typeof target === 'string') {
      if (target === 'cpu' || target.startsWith('cuda')) device = target;
      else if ((dtypes as readonly string[]).includes(target)) dtype = target as DType;
      else throw new TorchError(`to: '${target}' is neither a dtype (${dtypes.join(' ')}) nor a device ('cpu', 'cuda', 'cuda:N')`, 'to');
    } else {
      dtype = target.dtype;
      device = target.device;
    }
    if (device !== undefined) return new Tensor(call(O.toDevice.id, this._h, device, dtype ?? this.dtype, nb, copy, null));
    if (dtype !== undefined) return new Tensor(call(O.toDtype.id, this._h, checkDtype(dtype), nb, copy, null));
    return new Tensor(native.share(this._h));
  }
  float(): Tensor { return this.to('float32'); }
  double(): Tensor { return this.to('float64'); }
  half(): Tensor { return this.to('float16'); }
  bfloat16(): Tensor { return this.to('bfloat16'); }
  long(): Tensor { return this.to('int64'); }
  int(): Tensor { return this.to('int32'); }
  bool(): Tensor { return this.to('bool'); }
  cpu(): Tensor { return this.to('cpu'); }
  cuda(index = 0): Tensor { return this.to(`cuda:${index}`); }
  clone(): Tensor { return new Tensor(call(O.clone.id, this._h, null)); }
  /** A tensor sharing storage that autograd does not track. */
  detach(): Tensor { return new Tensor(unary(U.detach, this._h)); }

  // ---- in-place initialisation -----------------------------------------------------------
  zero_(): this { call(O.zero_.id, this._h); return this; }
  fill_(value: number): this { call(O.fill_.id, this._h, value); return this; }
  copy_(src: Tensor): this { call(O.copy_.id, this._h, H(src, 'copy_', 'src'), false); return this; }
  uniform_(from = 0, to = 1): this { call(O.uniform_.id, this._h, from, to, null); return this; }
  normal_(mean = 0, std = 1): this { call(O.normal_.id, this._h, mean, std, null); return this; }

  // ---- data out --------------------------------------------------------------------------
  /** A typed copy of the elements in row-major order (float16/bfloat16: raw bits, bool: 0/1). */
  toArray(): TypedArray {
    const Ctor = arrayTypeOf[readableDtype(this, 'toArray')];
    return new Ctor(native.toBuffer(this._h));
  }
  /**
   * The single element as a number (or boolean). An integer outside ±(2^53 - 1), where a number
   * would round, is a TorchError: itemBigInt() gives it exactly.
   */
  item(): number | boolean { return native.item(this._h); }
  /** The single element of an integer tensor, exactly, as a bigint (int64 beyond 2^53 included). */
  itemBigInt(): bigint { return native.item(this._h, true); }
  /** The elements as nested arrays of numbers (booleans for bool tensors). */
  toNested(): NestedArray {
    const shape = this.shape;
    const flat = numbersOf(this) as (number | boolean)[];
    if (shape.length === 0) return flat[0];
    let i = 0;
    const build = (d: number): NestedArray[] => {
      const out: NestedArray[] = [];
      for (let k = 0; k < shape[d]; k++) out.push(d === shape.length - 1 ? flat[i++] : build(d + 1));
      return out;
    };
    return build(0);
  }
  /** Prints like PyTorch: `tensor([[1., 2.], [3., 4.]], dtype=torch.float64)`. */
  toString(): string {
    if (this._h < 0) return 'tensor(<disposed>)';
    const dtype = this.dtype;
    if (!(dtype in arrayTypeOf)) return `tensor(<${dtype} [${this.shape}]: ${dtype} values cannot be read or printed>)`;
    return formatTensor(this.shape, numbersOf(this, true), {
      dtype: this.dtype, device: this.device, requiresGrad: this.requiresGrad, isLeaf: this.isLeaf, gradFn: this.gradFn,
    });
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string { return this.toString(); }
}

function cmp(a: Tensor, b: TensorOrScalar, t: Op, s: Op): Tensor {
  return new Tensor(typeof b === 'object' ? call(t.id, a._h, S(b, t.name, 'other')) : call(s.id, a._h, b));
}

/**
 * The dtype, when JS can read the values: ops reached through torch.ops can return complex
 * tensors, which have no typed-array form here (view_as_real gives their (re, im) pairs).
 */
function readableDtype(t: Tensor, what: string): DType {
  const dtype = t.dtype;
  if (!(dtype in arrayTypeOf)) {
    throw new TorchError(`${what}: ${dtype} tensors cannot be read: complex dtypes are not supported ` +
      '(torch.ops.aten.view_as_real(x) gives the (re, im) pairs as floats)', what);
  }
  return dtype;
}

/** Accepts f(2, 3) and f([2, 3]). */
export function sizes(args: number[] | [number[]]): number[] {
  return Array.isArray(args[0]) ? (args[0] as number[]) : (args as number[]);
}

/** Elements as JS numbers (booleans for bool), whatever the dtype; int64 as bigint if asked. */
function numbersOf(t: Tensor, exactInt64 = false): (number | boolean | bigint)[] {
  const dtype = readableDtype(t, 'toNested');
  if (dtype === 'float16' || dtype === 'bfloat16') {
    const f = t.float();
    try { return Array.from(f.toArray() as Float32Array); } finally { f.dispose(); }
  }
  const a = t.toArray();
  if (dtype === 'bool') return Array.from(a as Uint8Array, (x) => x !== 0);
  if (a instanceof BigInt64Array) return exactInt64 ? Array.from(a) : Array.from(a, (x) => Number(x));
  return Array.from(a as Float32Array);
}
