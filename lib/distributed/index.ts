// `import { distributed } from 'unimrg'`: data-parallel training over torch.distributed's c10d.
export { ProcessGroup, initProcessGroup } from './group';
export type { Backend, InitOptions, ReduceOp } from './group';
export { DistributedDataParallel } from './ddp';
export type { DDPOptions, SyncStats } from './ddp';
export { DistributedSampler } from './sampler';
export type { SamplerOptions } from './sampler';
export { ddpDenominators, globalTaskTokens } from './denominators';
export { ZeroRedundancyOptimizer, partitionParameters } from './zero';
