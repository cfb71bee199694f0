// `import { io } from 'unimrg'`: safetensors files (lazy reads, atomic writes) and full training checkpoints.
export { saveSafetensors, loadSafetensors, openSafetensors, readSafetensorsHeader, SafetensorsFile, type TensorInfo, type SafetensorsHeader } from './safetensors';
export { writeFileAtomic } from './atomic';
export { saveCheckpoint, loadCheckpoint, type SaveCheckpointOptions, type LoadCheckpointOptions, type CheckpointExtra } from './checkpoint';
export { loadPt, type LoadPtOptions } from './pt';
