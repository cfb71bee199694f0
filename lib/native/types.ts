// The raw addon surface. Tensors cross as integer handles into the native slot table.
export type Handle = number;

export interface ArgInfo {
  name: string;
  type: string;
  kind: 'Tensor' | 'Scalar' | 'int' | 'float' | 'bool' | 'str' | 'ScalarType' | 'Layout' | 'Device' | 'MemoryFormat' | 'Generator' | 'unsupported';
  optional: boolean;
  list: boolean;
  hasDefault: boolean;
  kwargOnly: boolean;
}

export interface OpSchema {
  name: string;
  schema: string;
  args: ArgInfo[];
  returns: { kind: ArgInfo['kind']; list: boolean; aliasedArg: number }[];
}

export interface BackendInfo {
  torch: string;
  cuda: string | null;
  cudnn: boolean;
  threads: number;
  /** Where float32 CPU linear layers and batched matmul multiply: 'onednn' (libtorch's libdnnl; UNIMRG_ONEDNN_GEMM=0 turns it off) or 'aten'. */
  cpuGemm: 'onednn' | 'aten';
  cxx11Abi: boolean;
  built: { torch: string; cuda: string; source: string };
  runtime: { torch: string; cuda: boolean };
}

export interface NativeAddon {
  setErrorClass(ctor: new (message: string, op: string) => Error): void;
  findOp(name: string, overload: string): number;
  opSchema(id: number): OpSchema;
  opOverloads(name: string): string[];
  call(id: number, ...args: unknown[]): any;
  unary(code: number, h: Handle): Handle;
  binary(code: number, a: Handle, b: Handle): Handle;
  fromBuffer(data: ArrayBufferView, shape: number[], dtype: string): Handle;
  toBuffer(h: Handle): ArrayBuffer;
  item(h: Handle): number | boolean;
  item(h: Handle, bigint: true): bigint;
  shape(h: Handle): number[];
  strides(h: Handle): number[];
  dtype(h: Handle): string;
  device(h: Handle): string;
  numel(h: Handle): number;
  isContiguous(h: Handle): boolean;
  share(h: Handle): Handle;
  dispose(h: Handle): void;
  disposeMany(hs: Handle[]): void;
  memory(): { tensors: number; bytes: number };
  requiresGrad(h: Handle): boolean;
  setRequiresGrad(h: Handle, v: boolean): void;
  grad(h: Handle): Handle | null;
  setGrad(h: Handle, g: Handle | null): void;
  isLeaf(h: Handle): boolean;
  gradFn(h: Handle): string | null;
  retainGrad(h: Handle): void;
  backward(outputs: Handle[], grads: (Handle | null)[] | null, retainGraph: boolean | undefined, createGraph: boolean): void;
  autogradGrad(outputs: Handle[], inputs: Handle[], gradOutputs: (Handle | null)[] | null, retainGraph: boolean | undefined, createGraph: boolean, allowUnused: boolean): (Handle | null)[];
  setGradEnabled(v: boolean): boolean;
  isGradEnabled(): boolean;
  backend(): BackendInfo;
  setNumThreads(n: number): void;
  manualSeed(seed: number): void;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  cudaSynchronize(): void;
}

// Training substrate (native/optim.cc, native/tensor_io.cc, native/allocator.cc).
export interface NativeTraining {
  /** Fused AdamW over every parameter with a gradient; hyper: [lr, beta1, beta2, eps, wd] per parameter. */
  adamw(params: Handle[], expAvg: Handle[], expAvgSq: Handle[], steps: Float64Array, hyper: Float64Array, maximize: boolean): number;
  /** Fused SGD; hyper: [lr, momentum, dampening, wd, nesterov] per parameter. */
  sgd(params: Handle[], momentumBuffers: Handle[], steps: Float64Array, hyper: Float64Array, maximize: boolean): number;
  clipGradNorm(params: Handle[], maxNorm: number, normType: number, errorIfNonfinite: boolean): number;
  readTensorFromFile(path: string, offset: number, shape: number[], dtype: string): Handle;
  writeTensorToFd(fd: number, h: Handle): number;
  setData(h: Handle, src: Handle): void;
}
// Declaration merging: the addon object carries these entries too.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface NativeAddon extends NativeTraining {}

/** Statistics of the caching CPU allocator (native/allocator.cc); only `caching` when it is off. */
export interface AllocatorStats {
  caching: boolean;
  inUse?: number; cached?: number; peakInUse?: number; cap?: number;
  hits?: number; misses?: number; released?: number; releases?: number;
}
export interface NativeAllocator {
  allocatorStats(): AllocatorStats;
  /** Frees every cached block; returns the bytes given back. */
  emptyCache(): number;
}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface NativeAddon extends NativeAllocator {}

/** The default CPU generator's state (native/rng.cc). */
export interface NativeRng {
  /** A new uint8 tensor holding a copy of the state. */
  getRngState(): Handle;
  setRngState(h: Handle): void;
}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface NativeAddon extends NativeRng {}

// Mixed precision (native/autocast.cc): per-thread autocast state, device 'cpu' | 'cuda'.
export interface AutocastState { enabled: boolean; dtype: string }
export interface NativeAutocast {
  autocastState(device: string): AutocastState;
  /** Sets the state, raises the nesting level; returns the previous state. */
  autocastEnter(device: string, enabled: boolean, dtype: string): AutocastState;
  /** Lowers the nesting level (clearing the cast cache at 0), restores prev; returns the level. */
  autocastExit(device: string, prevEnabled: boolean, prevDtype: string): number;
}
export interface NativeAddon extends NativeAutocast {}

/** `.pt` files written by Python's torch.save (native/pt_io.cc). */
export interface NativePt {
  /** The tensors of a (nested) dict with dotted names; `skipped`: names of non-tensor leaves. */
  readPt(path: string): { names: string[]; handles: Handle[]; skipped: string[] };
}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface NativeAddon extends NativePt {}

/** torch.distributed's c10d (native/distributed/): groups by id, collectives as Promises. */
export interface DistInitOptions {
  backend: 'gloo' | 'nccl'; store: 'tcp' | 'file'; host: string; port: number; path: string;
  rank: number; worldSize: number; timeoutMs: number;
}
export type ReduceOpName = 'sum' | 'avg' | 'product' | 'min' | 'max';
export interface NativeDistributed {
  distInit(o: DistInitOptions): Promise<number>;
  distDestroy(group: number): void;
  distAllReduce(group: number, hs: Handle[], op: ReduceOpName): Promise<void>;
  distBroadcast(group: number, hs: Handle[], src: number): Promise<void>;
  distAllGather(group: number, h: Handle): Promise<Handle[]>;
  distReduceScatter(group: number, inputs: Handle[], op: ReduceOpName): Promise<Handle>;
  distBarrier(group: number): Promise<void>;
  distReducerCreate(group: number, params: Handle[], bucketBytes: number): number;
  distReducerSetSync(reducer: number, sync: boolean): void;
  distReducerFinish(reducer: number): Promise<{ buckets: number; overlapped: number }>;
  distReducerBuckets(reducer: number): number[][];
  distReducerDestroy(reducer: number): void;
}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface NativeAddon extends NativeDistributed {}

/** TorchScript modules (native/jit.cc): modules by id in a per-thread table. */
export type JitOutput = Handle | JitOutput[] | { [key: string]: JitOutput };
export interface NativeJit {
  /** Loads a torch.jit.save'd file onto a device, in eval mode; returns a module id. */
  jitLoad(path: string, device: string): number;
  /** Compiles TorchScript source (a `def forward(self, ...)`) over the given parameters and buffers. */
  jitDefine(source: string, parameters?: Record<string, Handle>, buffers?: Record<string, Handle>): number;
  jitSave(id: number, path: string): void;
  /** Tensors out as handles, in arrays (tuples, lists) and objects (dicts with string keys). */
  jitForward(id: number, inputs: Handle[]): JitOutput;
  jitDispose(id: number): void;
}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface NativeAddon extends NativeJit {}
