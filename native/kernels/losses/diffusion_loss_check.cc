// Argument checks of unimrg::multitask_diffusion_loss, shared by the CPU and CUDA kernels.
// Shapes, dtypes and devices only: task ids are range-checked by the CPU kernel while it reads
// them (a CUDA check would need a host sync).
#include <ATen/ATen.h>

#include "kernels/losses/diffusion_loss.h"
#include "kernels/losses/dtype_text.h"

namespace unimrg {

namespace {

constexpr const char* kOp = "multitask_diffusion_loss";

bool is_loss_float(at::ScalarType t) {
  return t == at::kFloat || t == at::kDouble || t == at::kHalf || t == at::kBFloat16;
}

void check_vector(const at::Tensor& t, const char* name, int64_t length, const char* length_name,
                  const at::Device& device) {
  TORCH_CHECK(t.dim() == 1, kOp, ": ", name, " must be 1-D [", length_name, "], got shape ", t.sizes());
  TORCH_CHECK(t.size(0) == length, kOp, ": ", name, " has ", t.size(0), " elements but ", length_name,
              " is ", length);
  TORCH_CHECK(t.device() == device, kOp, ": ", name, " is on ", t.device(), " but pred is on ", device);
}

}  // namespace

at::ScalarType diffusion_loss_acc_type(at::ScalarType pred_type) {
  return pred_type == at::kDouble ? at::kDouble : at::kFloat;
}

DiffusionLossSizes check_diffusion_loss_args(const at::Tensor& pred, const at::Tensor& target,
                                             const at::Tensor& task_ids, const at::Tensor& weights,
                                             const c10::optional<at::Tensor>& mask,
                                             const c10::optional<at::Tensor>& denominators, int64_t repeat) {
  TORCH_CHECK(pred.defined() && target.defined() && task_ids.defined() && weights.defined(), kOp,
              ": pred, target, task_ids and weights are required");
  TORCH_CHECK(repeat >= 1, kOp, ": repeat (noise draws per token) must be >= 1, got ", repeat);
  TORCH_CHECK(pred.dim() == 2, kOp, ": pred must be 2-D [tokens * repeat, channels], got shape ", pred.sizes(),
              " (flatten the trailing dimensions first)");
  TORCH_CHECK(target.sizes() == pred.sizes(), kOp, ": target shape ", target.sizes(), " does not match pred shape ",
              pred.sizes());
  TORCH_CHECK(is_loss_float(pred.scalar_type()), kOp, ": pred must be float32, float64, float16 or bfloat16, got ",
              dtype_text(pred.scalar_type()));
  TORCH_CHECK(target.scalar_type() == pred.scalar_type(), kOp, ": target dtype ", dtype_text(target.scalar_type()),
              " does not match pred dtype ", dtype_text(pred.scalar_type()));
  TORCH_CHECK(pred.size(1) >= 1, kOp, ": pred has no channels (shape ", pred.sizes(), ")");
  const at::Device device = pred.device();
  TORCH_CHECK(target.device() == device, kOp, ": target is on ", target.device(), " but pred is on ", device);

  TORCH_CHECK(task_ids.dim() == 1, kOp, ": task_ids must be 1-D [tokens], got shape ", task_ids.sizes());
  TORCH_CHECK(task_ids.scalar_type() == at::kLong || task_ids.scalar_type() == at::kInt, kOp,
              ": task_ids must be int64 or int32, got ", dtype_text(task_ids.scalar_type()));
  TORCH_CHECK(task_ids.device() == device, kOp, ": task_ids is on ", task_ids.device(), " but pred is on ", device);
  const int64_t tokens = task_ids.size(0);
  TORCH_CHECK(pred.size(0) == tokens * repeat, kOp, ": pred has ", pred.size(0), " rows but task_ids has ", tokens,
              " tokens and repeat is ", repeat, ", so ", tokens * repeat,
              " rows were expected (rows are draw-major: row d * tokens + i is draw d of token i)");

  TORCH_CHECK(weights.dim() == 1, kOp, ": weights must be 1-D [tasks], got shape ", weights.sizes());
  TORCH_CHECK(weights.size(0) >= 1, kOp, ": weights is empty: give one weight per task");
  TORCH_CHECK(at::isFloatingType(weights.scalar_type()), kOp, ": weights must be floating point, got ",
              dtype_text(weights.scalar_type()));
  const int64_t tasks = weights.size(0);
  check_vector(weights, "weights", tasks, "tasks", device);

  if (mask.has_value() && mask->defined()) {
    check_vector(*mask, "mask", tokens, "tokens", device);
    TORCH_CHECK(at::isFloatingType(mask->scalar_type()) || mask->scalar_type() == at::kBool, kOp,
                ": mask must be floating point or bool, got ", dtype_text(mask->scalar_type()));
  }
  if (denominators.has_value() && denominators->defined()) {
    check_vector(*denominators, "denominators", tasks, "tasks (the length of weights)", device);
    TORCH_CHECK(at::isFloatingType(denominators->scalar_type()), kOp, ": denominators must be floating point, got ",
                dtype_text(denominators->scalar_type()));
  }
  return DiffusionLossSizes{pred.size(0), tokens, pred.size(1), tasks, repeat};
}

}  // namespace unimrg
