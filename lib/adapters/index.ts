// `import { adapters } from 'unimrg'`: one interface over the families of unified multimodal models.
export * from './types';
export { create, codecConfig, family, presets, checkFamily } from './registry';
export { adapterLoss, termCounts, disposeForwardOutput, type AdapterLoss, type AdapterLossOptions } from './loss';
export * as codecs from './codecs';
