// Plain C++ entry point of the CUDA kernels of unimrg::multitask_cross_entropy: pointers, sizes,
// strides and a stream, no libtorch types, so that cuda/multitask_ce.cu builds with CUDA headers
// only (also where libtorch is CPU-only) and cuda/multitask_ce_cuda.cc holds the libtorch glue.
#pragma once
#include <cuda_runtime.h>
#include <stdint.h>

namespace unimrg {
namespace ce_cuda {

enum class DType : int { kFloat = 0, kHalf = 1, kBFloat16 = 2 };

/** The first bad token a kernel met (device memory, int64 x 4): code, position, value, bound. */
enum ErrorCode : int64_t { kNoError = 0, kBadTarget = 1, kBadTask = 2 };

struct LaunchArgs {
  // inputs (device)
  const void* logits;  // [N, V] rows of `dtype`, unit column stride
  int64_t logits_ld;   // row stride, elements
  const int64_t* targets;
  const int64_t* task_ids;
  const float* weights;       // [T]
  const float* denominators;  // [T] or null (then the counts)
  int64_t rows, vocab, tasks, ignore_index;
  float label_smoothing, z_loss;
  int reduction;  // ce::Reduction
  DType dtype;
  // outputs (device)
  void* grad;  // [N, V] of `dtype` (may be `logits`: in place) or null for no gradient
  int64_t grad_ld;
  int64_t* counts;   // [T]: C_t (zeroed here)
  float* task_sum;   // [T + 1]: S_t, and a last slot that turns NaN when a bad token was met
  float* row_loss;   // [N]: unscaled per-token loss, 0 where ignored, NaN where bad
  int64_t* error;    // [4]: the first bad token (left as it is when none)
};

/**
 * grad[i, :] *= scale[0] (per_row false) or scale[i] (per_row true), in place; rows whose factor
 * is exactly 1 are left alone without being read, so the usual loss.backward() (a gradient of 1)
 * costs one tiny launch instead of a pass over N x V. scale: float32 on the device.
 */
cudaError_t launch_scale_rows(void* grad, int64_t ld, int64_t rows, int64_t cols, DType dtype, const float* scale,
                              bool per_row, cudaStream_t stream);

/** Queues the counting pass and the fused row pass on `stream`; returns the launch status. */
cudaError_t launch_multitask_ce(const LaunchArgs& args, cudaStream_t stream);

}  // namespace ce_cuda
}  // namespace unimrg
