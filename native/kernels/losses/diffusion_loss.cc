// unimrg::multitask_diffusion_loss: the schemas, the CPU registration and the Autograd kernel.
//
// The public op returns (loss, task_loss, task_weight). Its Autograd kernel calls the private
// op unimrg::_multitask_diffusion_loss_forward (CPU and CUDA kernels), which computes the loss
// and, when an input needs it, d loss / d pred in the same pass; backward only scales that saved
// gradient by the incoming one (and negates it for target). mask and denominators are constants.
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

#include "kernels/losses/diffusion_loss.h"

namespace unimrg {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using OptTensor = c10::optional<at::Tensor>;

bool present(const OptTensor& t) { return t.has_value() && t->defined(); }

DiffusionLossOutputs call_forward_op(const at::Tensor& pred, const at::Tensor& target, const at::Tensor& task_ids,
                                     const at::Tensor& weights, const OptTensor& mask, const OptTensor& denominators,
                                     int64_t repeat, bool compute_grad) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("unimrg::_multitask_diffusion_loss_forward", "")
                       .typed<DiffusionLossOutputs(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                                   const at::Tensor&, const OptTensor&, const OptTensor&, int64_t,
                                                   bool)>();
  return op.call(pred, target, task_ids, weights, mask, denominators, repeat, compute_grad);
}

class DiffusionLossFunction : public torch::autograd::Function<DiffusionLossFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& pred, const at::Tensor& target,
                               const at::Tensor& task_ids, const at::Tensor& weights, const OptTensor& mask,
                               const OptTensor& denominators, int64_t repeat, bool grad_enabled) {
    at::AutoDispatchBelowADInplaceOrView below;
    const bool pred_grad = grad_enabled && pred.requires_grad();
    const bool target_grad = grad_enabled && target.requires_grad();
    const bool weights_grad = grad_enabled && weights.requires_grad();
    at::Tensor loss, task_loss, task_weight, grad;
    std::tie(loss, task_loss, task_weight, grad) =
        call_forward_op(pred, target, task_ids, weights, mask, denominators, repeat, pred_grad || target_grad);
    ctx->save_for_backward({grad, weights_grad ? task_loss : at::Tensor()});
    ctx->saved_data["pred_grad"] = pred_grad;
    ctx->saved_data["target_grad"] = target_grad;
    ctx->saved_data["weights_dtype"] = static_cast<int64_t>(weights.scalar_type());
    ctx->mark_non_differentiable({task_loss, task_weight});
    return {loss, task_loss, task_weight};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor& grad = saved[0];
    const at::Tensor& task_loss = saved[1];
    const at::Tensor& go = grad_outputs[0];  // d(out)/d(loss), a 0-d tensor
    at::Tensor grad_pred, grad_target, grad_weights;
    if (grad.defined()) {
      const at::Tensor scaled = grad * go;  // pred's dtype: go is 0-d
      if (ctx->saved_data["pred_grad"].toBool()) grad_pred = scaled;
      if (ctx->saved_data["target_grad"].toBool()) grad_target = scaled.neg();
    }
    if (task_loss.defined()) {
      grad_weights = (task_loss * go).to(static_cast<at::ScalarType>(ctx->saved_data["weights_dtype"].toInt()));
    }
    // One entry per forward argument: pred, target, task_ids, weights, mask, denominators,
    // repeat, grad_enabled.
    return {grad_pred, grad_target, at::Tensor(), grad_weights, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

std::tuple<at::Tensor, at::Tensor, at::Tensor> diffusion_loss_autograd(const at::Tensor& pred, const at::Tensor& target,
                                                                       const at::Tensor& task_ids,
                                                                       const at::Tensor& weights, const OptTensor& mask,
                                                                       const OptTensor& denominators, int64_t repeat) {
  const bool grad_enabled = at::GradMode::is_enabled();
  if (grad_enabled) {
    TORCH_CHECK(!(present(mask) && mask->requires_grad()),
                "multitask_diffusion_loss: mask is not differentiable; pass mask.detach()");
    TORCH_CHECK(!(present(denominators) && denominators->requires_grad()),
                "multitask_diffusion_loss: denominators are not differentiable; pass denominators.detach()");
  }
  variable_list out = DiffusionLossFunction::apply(pred, target, task_ids, weights, mask, denominators, repeat,
                                                   grad_enabled);
  return {out[0], out[1], out[2]};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> diffusion_loss_cpu(const at::Tensor& pred, const at::Tensor& target,
                                                                  const at::Tensor& task_ids, const at::Tensor& weights,
                                                                  const OptTensor& mask, const OptTensor& denominators,
                                                                  int64_t repeat) {
  auto out = diffusion_loss_forward_cpu(pred, target, task_ids, weights, mask, denominators, repeat, false);
  return {std::get<0>(out), std::get<1>(out), std::get<2>(out)};
}

}  // namespace

}  // namespace unimrg

TORCH_LIBRARY_FRAGMENT(unimrg, m) {
  m.def(
      "multitask_diffusion_loss(Tensor pred, Tensor target, Tensor task_ids, Tensor weights, Tensor? mask=None, "
      "Tensor? denominators=None, int repeat=1) -> (Tensor loss, Tensor task_loss, Tensor task_weight)");
  // Private: the loss and, when compute_grad, d loss / d pred (undefined otherwise).
  m.def(
      "_multitask_diffusion_loss_forward(Tensor pred, Tensor target, Tensor task_ids, Tensor weights, Tensor? mask, "
      "Tensor? denominators, int repeat, bool compute_grad) -> (Tensor loss, Tensor task_loss, Tensor task_weight, "
      "Tensor grad_pred)");
}

TORCH_LIBRARY_IMPL(unimrg, CPU, m) {
  m.impl("multitask_diffusion_loss", &unimrg::diffusion_loss_cpu);
  m.impl("_multitask_diffusion_loss_forward", &unimrg::diffusion_loss_forward_cpu);
}

TORCH_LIBRARY_IMPL(unimrg, Autograd, m) {
  m.impl("multitask_diffusion_loss", &unimrg::diffusion_loss_autograd);
}
