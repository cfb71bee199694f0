// `import { optim } from 'unimrg'`: fused optimisers, clipping, schedules, accumulation.
export { Optimizer, type OptimizerState, type ParamGroup, type Params, type Hyper } from './optimizer';
export { AdamW, type AdamWOptions } from './adamw';
export { SGD, type SGDOptions } from './sgd';
export { clipGradNorm } from './clip';
export { LRScheduler, WarmupCosine, ConstantLR, LambdaLR, type LrOptimizer } from './schedules';
export { GradientAccumulator, type AccumulatorOptions } from './accumulate';
export { weightDecayGroups } from './groups';
