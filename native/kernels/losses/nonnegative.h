// Value checks of the fused losses' constant inputs that must be >= 0 (denominators, masks).
#pragma once
#include <ATen/core/Tensor.h>

namespace unimrg {

/**
 * `values` (a floating tensor, as the kernel will read it) with every element >= 0.
 * CPU: the values are read (the kernels read them on the host anyway) and the first negative
 * or NaN one is refused: "<op>: <name>[i] = v is negative; <name> must be >= 0".
 * Elsewhere (CUDA) a check would wait on the device, so nothing is read: negative and NaN
 * values are mapped to NaN by one elementwise op on the stream, and the loss turns NaN
 * instead of training on a sign-flipped task.
 */
at::Tensor checked_nonnegative(const at::Tensor& values, const char* op, const char* name);

}  // namespace unimrg
