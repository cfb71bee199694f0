// libtorch glue of the CUDA multitask diffusion loss (built only when libtorch has CUDA): checks
// the arguments, makes contiguous inputs and the outputs on the current stream, and calls the
// plain launcher of diffusion_loss.cu. Task ids out of range are not checked here (that would
// sync with the device): on CUDA such tokens contribute nothing.
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "kernels/cuda/diffusion_loss_launch.h"
#include "kernels/losses/diffusion_loss.h"
#include "kernels/losses/nonnegative.h"

namespace unimrg {

namespace {

using OptTensor = c10::optional<at::Tensor>;

cuda::DiffusionDtype launch_dtype(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return cuda::DiffusionDtype::Float32;
    case at::kDouble: return cuda::DiffusionDtype::Float64;
    case at::kHalf: return cuda::DiffusionDtype::Float16;
    case at::kBFloat16: return cuda::DiffusionDtype::BFloat16;
    default: break;
  }
  TORCH_CHECK(false, "multitask_diffusion_loss: unsupported dtype ", t);
  return cuda::DiffusionDtype::Float32;
}

DiffusionLossOutputs diffusion_loss_forward_cuda(const at::Tensor& pred_in, const at::Tensor& target_in,
                                                 const at::Tensor& task_ids, const at::Tensor& weights,
                                                 const OptTensor& mask, const OptTensor& denominators, int64_t repeat,
                                                 bool compute_grad) {
  const DiffusionLossSizes sz = check_diffusion_loss_args(pred_in, target_in, task_ids, weights, mask, denominators, repeat);
  TORCH_CHECK(sz.tasks <= cuda::kDiffusionMaxTasks, "multitask_diffusion_loss: the CUDA kernel takes at most ",
              cuda::kDiffusionMaxTasks, " tasks, got ", sz.tasks);
  c10::cuda::CUDAGuard device_guard(pred_in.device());
  const at::ScalarType acc = diffusion_loss_acc_type(pred_in.scalar_type());
  const at::Tensor pred = pred_in.contiguous();
  const at::Tensor target = target_in.contiguous();
  const at::Tensor ids = task_ids.to(at::kLong).contiguous();
  const at::Tensor w = weights.to(acc).contiguous();
  const bool has_mask = mask.has_value() && mask->defined();
  const bool has_denom = denominators.has_value() && denominators->defined();
  // Negative masks / denominators become NaN on the stream (reading them here would sync): see nonnegative.h.
  constexpr const char* kOp = "multitask_diffusion_loss";
  const at::Tensor m = has_mask ? checked_nonnegative(mask->to(acc).contiguous(), kOp, "mask") : at::Tensor();
  const at::Tensor d =
      has_denom ? checked_nonnegative(denominators->to(acc).contiguous(), kOp, "denominators") : at::Tensor();

  const auto opts = pred.options().dtype(acc);
  at::Tensor loss = at::empty({}, opts);
  at::Tensor task_loss = at::empty({sz.tasks}, opts);
  at::Tensor task_weight = at::empty({sz.tasks}, opts);
  at::Tensor grad = compute_grad ? at::empty_like(pred, at::MemoryFormat::Contiguous) : at::Tensor();

  cuda::DiffusionLossLaunch a{};
  a.dtype = launch_dtype(pred.scalar_type());
  a.pred = pred.data_ptr();
  a.target = target.data_ptr();
  a.grad_pred = compute_grad ? grad.data_ptr() : nullptr;
  a.task_ids = ids.data_ptr<int64_t>();
  a.mask = has_mask ? m.data_ptr() : nullptr;
  a.weights = w.data_ptr();
  a.denominators = has_denom ? d.data_ptr() : nullptr;
  a.rows = sz.rows;
  a.tokens = sz.tokens;
  a.channels = sz.channels;
  a.tasks = sz.tasks;
  a.repeat = sz.repeat;
  a.loss = loss.data_ptr();
  a.task_loss = task_loss.data_ptr();
  a.task_weight = task_weight.data_ptr();
  at::Tensor workspace = at::empty({static_cast<int64_t>(cuda::diffusion_loss_workspace_bytes(a))},
                                   pred.options().dtype(at::kByte));
  a.workspace = workspace.data_ptr();
  const cudaError_t err = cuda::launch_diffusion_loss(a, at::cuda::getCurrentCUDAStream().stream());
  TORCH_CHECK(err == cudaSuccess, "multitask_diffusion_loss: CUDA launch failed: ", cudaGetErrorString(err));
  return {loss, task_loss, task_weight, grad};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> diffusion_loss_cuda(const at::Tensor& pred, const at::Tensor& target,
                                                                   const at::Tensor& task_ids,
                                                                   const at::Tensor& weights, const OptTensor& mask,
                                                                   const OptTensor& denominators, int64_t repeat) {
  auto out = diffusion_loss_forward_cuda(pred, target, task_ids, weights, mask, denominators, repeat, false);
  return {std::get<0>(out), std::get<1>(out), std::get<2>(out)};
}

}  // namespace

}  // namespace unimrg

TORCH_LIBRARY_IMPL(unimrg, CUDA, m) {
  m.impl("multitask_diffusion_loss", &unimrg::diffusion_loss_cuda);
  m.impl("_multitask_diffusion_loss_forward", &unimrg::diffusion_loss_forward_cuda);
}
