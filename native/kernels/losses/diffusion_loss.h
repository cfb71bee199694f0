// unimrg::multitask_diffusion_loss: shared declarations of the op's pieces.
//   diffusion_loss.cc        schemas, the Autograd kernel, the CPU registration
//   diffusion_loss_check.cc  argument checks shared by the CPU and CUDA paths
//   diffusion_loss_cpu.cc    the CPU kernel (at::parallel_for + at::vec::Vectorized)
//   cuda/diffusion_loss.cu   the CUDA kernels (CUDA headers only), cuda/diffusion_loss_cuda.cc glue
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/util/Optional.h>
#include <tuple>

namespace unimrg {

/** Sizes of a checked call: rows = tokens * repeat. */
struct DiffusionLossSizes {
  int64_t rows;
  int64_t tokens;
  int64_t channels;
  int64_t tasks;
  int64_t repeat;
};

/** Checks shapes, dtypes and devices (no data is read, nothing syncs); TORCH_CHECK on failure. */
DiffusionLossSizes check_diffusion_loss_args(const at::Tensor& pred, const at::Tensor& target,
                                             const at::Tensor& task_ids, const at::Tensor& weights,
                                             const c10::optional<at::Tensor>& mask,
                                             const c10::optional<at::Tensor>& denominators, int64_t repeat);

/** float64 for float64 inputs, float32 otherwise (float16 / bfloat16 math runs in float32). */
at::ScalarType diffusion_loss_acc_type(at::ScalarType pred_type);

/** (loss, task_loss, task_weight, grad_pred); grad_pred is undefined unless compute_grad. */
using DiffusionLossOutputs = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor>;

DiffusionLossOutputs diffusion_loss_forward_cpu(const at::Tensor& pred, const at::Tensor& target,
                                                const at::Tensor& task_ids, const at::Tensor& weights,
                                                const c10::optional<at::Tensor>& mask,
                                                const c10::optional<at::Tensor>& denominators, int64_t repeat,
                                                bool compute_grad);

}  // namespace unimrg
