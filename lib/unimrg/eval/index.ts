// Evaluation: understanding accuracy, POPE hallucination metrics, generation quality per
// representation, and the PNG outputs of a report (sample grids, loss curves, bar charts).
// Plain typed arrays only: no libtorch needed. Definitions: docs/evaluation.md.
export * from './answers';
export * from './pope';
export * from './image-metrics';
export * from './png';
export * from './plot';
export { Canvas, glyph, textWidth, fitText, GLYPH_W, GLYPH_H, ADVANCE, type RGB } from './raster';
