// The error every libtorch failure becomes (set as the addon's error class when it loads); torch
// re-exports it, so that this layer depends on nothing above it.
/** Every libtorch failure reaches JavaScript as a TorchError; none aborts the process. */
export class TorchError extends Error {
  /** The operator (or API entry) that failed, e.g. `aten::add.Tensor`. */
  readonly op: string;
  constructor(message: string, op = '') {
    super(op ? `${message} (op: ${op})` : message);
    this.name = 'TorchError';
    this.op = op;
  }
}
