// unimrg::multitask_cross_entropy: shared declarations of the op's pieces.
//   multitask_ce.cc            schemas, argument checks, the CPU registration, the Autograd kernel
//   multitask_ce_cpu.cc        the CPU kernel (at::parallel_for, 8-lane vectors, an AVX2 clone)
//   multitask_ce_grad_buffer.cc where the gradient goes (in place, or a cached huge-page buffer)
//   multitask_ce_math.h        per-element math shared by the CPU and CUDA kernels
//   multitask_ce_launch.h    plain C++ entry points of the CUDA kernels
//   cuda/multitask_ce.cu       the CUDA kernels (CUDA headers only)
//   cuda/multitask_ce_cuda.cc  the CUDA registration (libtorch glue)
//   linear_ce.cc               unimrg::multitask_linear_cross_entropy, chunked GEMM + this kernel
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/util/Optional.h>
#include <c10/util/string_view.h>

#include <tuple>

namespace unimrg {

/** Sizes of a checked call. */
struct CeSizes {
  int64_t rows;   // N tokens
  int64_t vocab;  // V classes
  int64_t tasks;  // T = weights.numel()
  int reduction;  // ce::Reduction
};

/** Parses "mean" | "sum" | "none"; TORCH_CHECK otherwise. */
int parse_ce_reduction(c10::string_view reduction);
const char* ce_reduction_name(int reduction);

/**
 * Checks shapes, dtypes, devices and scalar options (no tensor data is read, nothing syncs);
 * TORCH_CHECK with a message naming the argument on failure.
 */
CeSizes check_ce_args(const at::Tensor& logits, const at::Tensor& targets, const at::Tensor& task_ids,
                      const at::Tensor& weights, double label_smoothing, double z_loss,
                      const c10::optional<at::Tensor>& denominators, c10::string_view reduction);

/**
 * (loss, task_loss, task_tokens, row_loss, grad_logits). loss: 0-d (mean, sum) or [N] (none);
 * task_loss [T] and row_loss [N] (unscaled per-token losses, 0 where ignored) in float32
 * (float64 for float64 logits); task_tokens [T] int64; grad_logits [N, V] in the logits dtype,
 * undefined unless compute_grad (with inplace it is the logits' own storage).
 */
using CeOutputs = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>;

/** The CPU kernel of the private op unimrg::_multitask_cross_entropy_fused. */
CeOutputs multitask_ce_forward_cpu(const at::Tensor& logits, const at::Tensor& targets, const at::Tensor& task_ids,
                                   const at::Tensor& weights, int64_t ignore_index, double label_smoothing,
                                   double z_loss, const c10::optional<at::Tensor>& denominators,
                                   c10::string_view reduction, bool inplace, bool compute_grad);

/** The CUDA kernel of the same op (cuda/multitask_ce_cuda.cc; only where libtorch has CUDA). */
CeOutputs multitask_ce_forward_cuda(const at::Tensor& logits, const at::Tensor& targets, const at::Tensor& task_ids,
                                    const at::Tensor& weights, int64_t ignore_index, double label_smoothing,
                                    double z_loss, const c10::optional<at::Tensor>& denominators,
                                    c10::string_view reduction, bool inplace, bool compute_grad);

/** Calls unimrg::_multitask_cross_entropy_fused through the dispatcher (CPU or CUDA kernel). */
CeOutputs call_multitask_ce_fused(const at::Tensor& logits, const at::Tensor& targets, const at::Tensor& task_ids,
                                  const at::Tensor& weights, int64_t ignore_index, double label_smoothing,
                                  double z_loss, const c10::optional<at::Tensor>& denominators,
                                  c10::string_view reduction, bool inplace, bool compute_grad);

/**
 * The logits as the kernels read them: unit column stride (a copy otherwise) and, when the
 * gradient is to be written into them, rows that do not overlap.
 */
at::Tensor ce_kernel_logits(const at::Tensor& logits, bool write_in_place);

/** Where the gradient goes: the logits themselves (inplace) or a new [N, V] buffer (multitask_ce_grad_buffer.cc). */
at::Tensor ce_grad_buffer(const at::Tensor& kernel_logits, bool inplace);

/** C_t over the valid tokens, int64 [T], with ATen ops only (no sync); task ids are not checked. */
at::Tensor ce_task_counts(const at::Tensor& targets, const at::Tensor& task_ids, int64_t tasks, int64_t ignore_index);

}  // namespace unimrg
