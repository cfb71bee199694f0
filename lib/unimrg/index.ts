// `import { unimrg } from 'unimrg'`: the post-training loop, evaluation, experiments and reports.
export { Trainer, type StepMetrics, type TrainEvent, type TrainOptions } from './trainer';
export { buildAdapter, readAdapterSpec, weightsFile, type AdapterSpec } from './run-model';
export { TrainConfigSchema, parseTrainConfig, PRESET_DEFAULTS, type TrainConfig, type TrainConfigInput } from './config';
export { trainInWorker, type RunOptions } from './run';
export { evaluate, evaluateUnderstanding, evaluateGeneration, quickEvaluation, type EvalResult, type EvalOptions, type UnderstandingResult, type GenerationResult } from './evaluate';
export { runExperiment, ExperimentStopped, prepareCodec, PAPER_ARMS, MAIN_ARMS, type Arm, type ExperimentOptions, type ExperimentResult } from './experiment';
export { writeReport, resultTables } from './report';
export * as metrics from './eval';
