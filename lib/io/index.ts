// `import { io } from 'unimrg'`: safetensors checkpoints (lazy reads, atomic writes).
export { saveSafetensors, loadSafetensors, openSafetensors, readSafetensorsHeader, SafetensorsFile, type TensorInfo, type SafetensorsHeader } from './safetensors';
export { writeFileAtomic } from './atomic';
