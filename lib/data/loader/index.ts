export { DataLoader, createLoader } from './loader';
export type { LoaderOptions, LoaderStats } from './loader';
export { buildPipeline, makeTokenizer } from './spec';
export type { LoaderSpec, SourceSpec, TokenizerSpec } from './spec';
export { ProblemLog, formatProblem } from './problems';
export type { ProblemLogOptions } from './problems';
