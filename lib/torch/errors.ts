// TorchError is defined beside the addon that throws it (lib/native/errors.ts).
export { TorchError } from '../native/errors';
