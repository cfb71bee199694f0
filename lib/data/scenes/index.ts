// data.scenes: the embedded procedural scene generator.
export { generate, scene, sceneSeeds, MIN_SIZE, MAX_SIZE } from './generate';
export type { GenerateOptions, SceneItem, SceneObjectInfo, SceneOptions } from './generate';
export { QA_CATEGORIES, RELATION_MARGIN, OCCLUDED_BELOW, relationHolds } from './qa';
export type { QA, QACategory } from './qa';
export { SPLITS, SPLIT_NAMES, splitOf } from './splits';
export type { Split } from './splits';
export { COLORS, SHAPES, SIZES, RGB, RADIUS, HELD_OUT_PAIRS, PLURAL, isHeldOut } from './vocabulary';
export type { Color, Shape, Size } from './vocabulary';
export { REFERENCE_SIZE, MIN_VISIBLE } from './layout';
