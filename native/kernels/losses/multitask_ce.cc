// unimrg::multitask_cross_entropy: the schemas, the argument checks, the CPU registration and
// the Autograd kernel.
//
// The public op returns (loss, task_loss, task_tokens). Its Autograd kernel calls the private op
// unimrg::_multitask_cross_entropy_fused (CPU kernel in multitask_ce_cpu.cc, CUDA kernel in
// cuda/), which computes the loss and d loss / d logits in the same pass; backward only scales
// that saved gradient by the incoming one (a scalar for mean/sum, per row for none). The weights
// get a gradient too (L_t, S_t or the per-row losses); denominators are constants.
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

#include <string>

#include "kernels/losses/multitask_ce.h"
#include "kernels/losses/dtype_text.h"
#include "kernels/losses/multitask_ce_math.h"

namespace unimrg {

// ---- argument checks ------------------------------------------------------------------------

int parse_ce_reduction(c10::string_view r) {
  if (r == "mean") return ce::kMean;
  if (r == "sum") return ce::kSum;
  if (r == "none") return ce::kNone;
  TORCH_CHECK(false, "multitask_cross_entropy: reduction must be 'mean', 'sum' or 'none', got '", std::string(r), "'");
}

const char* ce_reduction_name(int r) { return r == ce::kSum ? "sum" : r == ce::kNone ? "none" : "mean"; }

namespace {
bool is_index_type(at::ScalarType t) { return t == at::kLong || t == at::kInt; }
bool present(const c10::optional<at::Tensor>& t) { return t.has_value() && t->defined(); }
}  // namespace

CeSizes check_ce_args(const at::Tensor& logits, const at::Tensor& targets, const at::Tensor& task_ids,
                      const at::Tensor& weights, double label_smoothing, double z_loss,
                      const c10::optional<at::Tensor>& denominators, c10::string_view reduction) {
  const char* op = "multitask_cross_entropy: ";
  TORCH_CHECK(logits.defined() && targets.defined() && task_ids.defined() && weights.defined(), op,
              "logits, targets, task_ids and weights are required");
  TORCH_CHECK(logits.dim() == 2, op, "logits must be 2-D [N, V], got ", logits.dim(), "-D ", logits.sizes());
  const auto lt = logits.scalar_type();
  TORCH_CHECK(lt == at::kFloat || lt == at::kHalf || lt == at::kBFloat16 || (lt == at::kDouble && logits.is_cpu()), op,
              "logits must be float32, float16 or bfloat16 (float64 on CPU), got ", dtype_text(lt));
  const int64_t N = logits.size(0), V = logits.size(1);
  TORCH_CHECK(V >= 1, op, "logits need at least one class (V = 0)");
  TORCH_CHECK(targets.dim() == 1 && targets.size(0) == N, op, "targets must be 1-D [N] with N = ", N,
              " (the rows of logits), got shape ", targets.sizes());
  TORCH_CHECK(is_index_type(targets.scalar_type()), op, "targets must be int64 or int32, got ", dtype_text(targets.scalar_type()));
  TORCH_CHECK(task_ids.dim() == 1 && task_ids.size(0) == N, op, "task_ids must be 1-D [N] with N = ", N,
              ", got shape ", task_ids.sizes());
  TORCH_CHECK(is_index_type(task_ids.scalar_type()), op, "task_ids must be int64 or int32, got ",
              dtype_text(task_ids.scalar_type()));
  TORCH_CHECK(weights.dim() == 1, op, "weights must be 1-D [T] (one weight per task), got shape ", weights.sizes());
  const int64_t T = weights.size(0);
  TORCH_CHECK(T >= 1, op, "weights must hold at least one task weight");
  TORCH_CHECK(at::isFloatingType(weights.scalar_type()), op, "weights must be a floating tensor, got ",
              dtype_text(weights.scalar_type()));
  const auto dev = logits.device();
  TORCH_CHECK(targets.device() == dev, op, "targets are on ", targets.device(), " but logits on ", dev);
  TORCH_CHECK(task_ids.device() == dev, op, "task_ids are on ", task_ids.device(), " but logits on ", dev);
  TORCH_CHECK(weights.device() == dev, op, "weights are on ", weights.device(), " but logits on ", dev);
  if (present(denominators)) {
    const at::Tensor& d = *denominators;
    TORCH_CHECK(d.dim() == 1 && d.size(0) == T, op, "denominators must be 1-D [T] with T = ", T,
                " (the length of weights), got shape ", d.sizes());
    TORCH_CHECK(d.device() == dev, op, "denominators are on ", d.device(), " but logits on ", dev);
    TORCH_CHECK(at::isFloatingType(d.scalar_type()) || at::isIntegralType(d.scalar_type(), false), op,
                "denominators must be a floating or integer tensor, got ", dtype_text(d.scalar_type()));
  }
  TORCH_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, op, "label_smoothing must lie in [0, 1], got ",
              label_smoothing);
  TORCH_CHECK(std::isfinite(z_loss) && z_loss >= 0.0, op, "z_loss must be a finite number >= 0, got ", z_loss);
  return CeSizes{N, V, T, parse_ce_reduction(reduction)};
}

// ---- buffers --------------------------------------------------------------------------------

at::Tensor ce_kernel_logits(const at::Tensor& logits, bool write_in_place) {
  const int64_t N = logits.size(0), V = logits.size(1);
  if (V > 1 && logits.stride(1) != 1) return logits.contiguous();
  // Rows that overlap (an expanded tensor, stride 0) cannot each receive their own gradient.
  if (write_in_place && N > 1 && logits.stride(0) < V) return logits.contiguous();
  return logits;
}

at::Tensor ce_task_counts(const at::Tensor& targets, const at::Tensor& task_ids, int64_t tasks, int64_t ignore_index) {
  const at::Tensor valid = targets.ne(ignore_index);
  const at::Tensor idx = at::where(valid, task_ids.to(at::kLong), at::zeros_like(task_ids, at::kLong)).clamp_(0, tasks - 1);
  return at::zeros({tasks}, targets.options().dtype(at::kLong)).scatter_add_(0, idx, valid.to(at::kLong));
}

// ---- dispatcher entry points ----------------------------------------------------------------

using OptTensor = c10::optional<at::Tensor>;
using PublicOutputs = std::tuple<at::Tensor, at::Tensor, at::Tensor>;

CeOutputs call_multitask_ce_fused(const at::Tensor& logits, const at::Tensor& targets, const at::Tensor& task_ids,
                                  const at::Tensor& weights, int64_t ignore_index, double label_smoothing,
                                  double z_loss, const OptTensor& denominators, c10::string_view reduction,
                                  bool inplace, bool compute_grad) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("unimrg::_multitask_cross_entropy_fused", "")
                       .typed<CeOutputs(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                        int64_t, double, double, const OptTensor&, c10::string_view, bool, bool)>();
  return op.call(logits, targets, task_ids, weights, ignore_index, label_smoothing, z_loss, denominators, reduction,
                 inplace, compute_grad);
}

namespace {

PublicOutputs call_public(const at::Tensor& logits, const at::Tensor& targets, const at::Tensor& task_ids,
                          const at::Tensor& weights, int64_t ignore_index, double label_smoothing, double z_loss,
                          const OptTensor& denominators, c10::string_view reduction, bool inplace) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("unimrg::multitask_cross_entropy", "")
                       .typed<PublicOutputs(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                            const at::Tensor&, int64_t, double, double, const OptTensor&,
                                            c10::string_view, bool)>();
  return op.call(logits, targets, task_ids, weights, ignore_index, label_smoothing, z_loss, denominators, reduction,
                 inplace);
}

// The CPU kernel of the public op: the loss alone (no gradient is wanted below autograd).
PublicOutputs multitask_ce_cpu(const at::Tensor& logits, const at::Tensor& targets, const at::Tensor& task_ids,
                               const at::Tensor& weights, int64_t ignore_index, double label_smoothing, double z_loss,
                               const OptTensor& denominators, c10::string_view reduction, bool inplace) {
  auto o = multitask_ce_forward_cpu(logits, targets, task_ids, weights, ignore_index, label_smoothing, z_loss,
                                    denominators, reduction, inplace, /*compute_grad=*/false);
  return PublicOutputs(std::get<0>(o), std::get<1>(o), std::get<2>(o));
}

// unimrg::_multitask_cross_entropy_scale_ on the CPU: grad *= grad_output (a scalar, or one per
// row), skipped when the scalar is 1 (the usual loss.backward()), which saves a pass over N x V.
at::Tensor& scale_grad_cpu(at::Tensor& grad, const at::Tensor& grad_output) {
  if (grad_output.dim() == 1) {
    TORCH_CHECK(grad_output.size(0) == grad.size(0), "multitask_cross_entropy: grad_output has ", grad_output.numel(),
                " elements for ", grad.size(0), " rows");
    grad.mul_(grad_output.unsqueeze(1));
  } else if (grad_output.item<double>() != 1.0) {
    grad.mul_(grad_output);
  }
  return grad;
}

at::Tensor& call_scale_grad(at::Tensor& grad, const at::Tensor& grad_output) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("unimrg::_multitask_cross_entropy_scale_", "")
                       .typed<at::Tensor&(at::Tensor&, const at::Tensor&)>();
  return op.call(grad, grad_output);
}

// ---- autograd -------------------------------------------------------------------------------

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/**
 * A weak reference to the logits (and their version): a second backward through the same call
 * (retain_graph, torch.autograd.gradcheck) recomputes the gradient from them when they are still
 * alive and unmodified. Weak, so that the graph never keeps N x V logits alive by itself.
 */
struct WeakLogits : torch::CustomClassHolder {
  c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl> impl;
  int64_t version;
  explicit WeakLogits(const at::Tensor& t) : impl(t.getIntrusivePtr()), version(t._version()) {}
};

class MultitaskCrossEntropy : public torch::autograd::Function<MultitaskCrossEntropy> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& logits, const at::Tensor& targets,
                               const at::Tensor& task_ids, const at::Tensor& weights, int64_t ignore_index,
                               double label_smoothing, double z_loss, const OptTensor& denominators,
                               c10::string_view reduction, bool inplace) {
    at::AutoDispatchBelowADInplaceOrView below;
    const bool logits_grad = logits.requires_grad();
    const bool weights_grad = weights.requires_grad();
    at::Tensor loss, task_loss, task_tokens, row_loss, grad;
    std::tie(loss, task_loss, task_tokens, row_loss, grad) =
        call_multitask_ce_fused(logits, targets, task_ids, weights, ignore_index, label_smoothing, z_loss,
                                denominators, reduction, inplace, logits_grad);
    if (logits_grad && grad.is_same(logits)) {
      // inplace: the logits now hold the gradient. Bump their version so that autograd refuses
      // any other use that saved them, and hand out a new tensor over the same storage (the
      // leaf must not become its own .grad).
      logits.unsafeGetTensorImpl()->bump_version();
      grad = grad.detach();
    }
    ctx->saved_data["logits_grad"] = logits_grad;
    ctx->saved_data["reduction"] = static_cast<int64_t>(parse_ce_reduction(reduction));
    if (logits_grad) {
      ctx->saved_data["grad"] = grad;  // the first backward takes it over (see there)
      if (!grad.is_alias_of(logits)) {
        // What a later backward needs to recompute the gradient (all small but the weak logits).
        ctx->saved_data["weak_logits"] = c10::IValue::make_capsule(c10::make_intrusive<WeakLogits>(logits));
        ctx->saved_data["targets"] = targets.detach();
        ctx->saved_data["task_ids"] = task_ids.detach();
        ctx->saved_data["weights"] = weights.detach();
        ctx->saved_data["denominators"] = present(denominators) ? c10::IValue(denominators->detach()) : c10::IValue();
        ctx->saved_data["ignore_index"] = ignore_index;
        ctx->saved_data["label_smoothing"] = label_smoothing;
        ctx->saved_data["z_loss"] = z_loss;
      }
    }
    if (weights_grad) {
      // d loss / d w_t = sum over the task's rows of row_loss_i * f_t (* grad_out_i for none),
      // f_t = 1 / D_t (mean, none; 0 when D_t = 0) or 1 (sum).
      const int64_t T = weights.size(0);
      const at::Tensor valid = targets.ne(ignore_index);
      const at::Tensor idx =
          at::where(valid, task_ids.to(at::kLong), at::zeros_like(task_ids, at::kLong)).clamp_(0, T - 1);
      at::Tensor f;
      if (parse_ce_reduction(reduction) == ce::kSum) {
        f = at::ones({T}, row_loss.options());
      } else {
        const at::Tensor d = present(denominators) ? denominators->to(row_loss.scalar_type())
                                                   : task_tokens.to(row_loss.scalar_type());
        f = at::where(d != 0, d.reciprocal(), at::zeros_like(d));
      }
      ctx->saved_data["w_idx"] = idx;
      ctx->saved_data["w_rows"] = row_loss;
      ctx->saved_data["w_f"] = f;
      ctx->saved_data["w_dtype"] = static_cast<int64_t>(weights.scalar_type());
    }
    ctx->mark_non_differentiable({task_loss, task_tokens});
    return {loss, task_loss, task_tokens};
  }

  static at::Tensor recompute_grad(AutogradContext* ctx) {
    const char* op = "multitask_cross_entropy: a second backward through the same call ";
    TORCH_CHECK(ctx->saved_data.count("weak_logits"), op,
                "is impossible with inplace=true (the logits hold the gradient handed over by the first one)");
    auto weak = c10::static_intrusive_pointer_cast<WeakLogits>(ctx->saved_data["weak_logits"].toCapsule());
    const at::Tensor logits(weak->impl.lock());
    TORCH_CHECK(logits.defined(), op, "recomputes the gradient from the logits, but they have been freed");
    TORCH_CHECK(logits._version() == weak->version, op,
                "recomputes the gradient from the logits, but they were modified in place since the forward");
    const c10::IValue& d = ctx->saved_data["denominators"];
    const OptTensor denominators = d.isTensor() ? OptTensor(d.toTensor()) : OptTensor();
    const std::string reduction = ce_reduction_name(static_cast<int>(ctx->saved_data["reduction"].toInt()));
    at::AutoDispatchBelowADInplaceOrView below;
    return std::get<4>(call_multitask_ce_fused(
        logits, ctx->saved_data["targets"].toTensor(), ctx->saved_data["task_ids"].toTensor(),
        ctx->saved_data["weights"].toTensor(), ctx->saved_data["ignore_index"].toInt(),
        ctx->saved_data["label_smoothing"].toDouble(), ctx->saved_data["z_loss"].toDouble(), denominators, reduction,
        /*inplace=*/false, /*compute_grad=*/true));
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    TORCH_CHECK(!at::GradMode::is_enabled(), "multitask_cross_entropy: only first-order gradients are supported ",
                "(its gradient is computed in the forward pass); backward with create_graph=true is not");
    // After a backward without retain_graph autograd has released this node's buffers: refuse a
    // second one as ATen does ("Trying to backward through the graph a second time"), rather
    // than recompute and add the gradient again.
    ctx->get_saved_variables();
    const at::Tensor& go = grad_outputs[0];
    const int reduction = static_cast<int>(ctx->saved_data["reduction"].toInt());
    variable_list out(10);
    if (go.defined() && ctx->saved_data["logits_grad"].toBool()) {
      // The first backward takes the saved gradient over rather than copying it: N x V values
      // are too many to hold twice, and autograd then adopts it as .grad without a clone.
      // Scaling happens in place. A later backward recomputes it (see WeakLogits).
      c10::IValue& slot = ctx->saved_data["grad"];
      at::Tensor g;
      if (slot.isTensor()) {
        g = slot.toTensor();
        slot = c10::IValue();
      } else {
        g = recompute_grad(ctx);
      }
      {
        at::AutoDispatchBelowADInplaceOrView below;
        call_scale_grad(g, go);  // nothing to do (and no sync) for the usual loss.backward()
      }
      out[0] = g;
    }
    if (go.defined() && ctx->saved_data.count("w_rows")) {
      const at::Tensor idx = ctx->saved_data["w_idx"].toTensor();
      const at::Tensor rows = ctx->saved_data["w_rows"].toTensor();
      const at::Tensor f = ctx->saved_data["w_f"].toTensor();
      const at::Tensor contrib = reduction == ce::kNone ? rows * go.to(rows.scalar_type()) : rows;
      at::Tensor gw = at::zeros_like(f).index_add_(0, idx, contrib).mul_(f);
      if (reduction != ce::kNone) gw.mul_(go.to(gw.scalar_type()));
      out[3] = gw.to(static_cast<at::ScalarType>(ctx->saved_data["w_dtype"].toInt()));
    }
    return out;
  }
};

PublicOutputs multitask_ce_autograd(const at::Tensor& logits, const at::Tensor& targets, const at::Tensor& task_ids,
                                    const at::Tensor& weights, int64_t ignore_index, double label_smoothing,
                                    double z_loss, const OptTensor& denominators, c10::string_view reduction,
                                    bool inplace) {
  const bool need = at::GradMode::is_enabled() && (logits.requires_grad() || weights.requires_grad());
  if (!need) {
    at::AutoDispatchBelowADInplaceOrView below;
    return call_public(logits, targets, task_ids, weights, ignore_index, label_smoothing, z_loss, denominators,
                       reduction, inplace);
  }
  auto outs = MultitaskCrossEntropy::apply(logits, targets, task_ids, weights, ignore_index, label_smoothing, z_loss,
                                           denominators, reduction, inplace);
  return PublicOutputs(outs[0], outs[1], outs[2]);
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(unimrg, m) {
  m.def(
      "multitask_cross_entropy(Tensor logits, Tensor targets, Tensor task_ids, Tensor weights, "
      "int ignore_index=-100, float label_smoothing=0.0, float z_loss=0.0, Tensor? denominators=None, "
      "str reduction=\"mean\", bool inplace=False) -> (Tensor loss, Tensor task_loss, Tensor task_tokens)");
  // Private: the loss and, when compute_grad, d loss / d logits in one pass (see multitask_ce.h).
  m.def(
      "_multitask_cross_entropy_fused(Tensor logits, Tensor targets, Tensor task_ids, Tensor weights, "
      "int ignore_index, float label_smoothing, float z_loss, Tensor? denominators, str reduction, bool inplace, "
      "bool compute_grad) -> (Tensor loss, Tensor task_loss, Tensor task_tokens, Tensor row_loss, Tensor grad)");
  // Private: backward's in-place scaling of the saved gradient by grad_output (0-d or [N]).
  m.def("_multitask_cross_entropy_scale_(Tensor(a!) grad, Tensor grad_output) -> Tensor(a!)");
}

TORCH_LIBRARY_IMPL(unimrg, CPU, m) {
  m.impl("multitask_cross_entropy", TORCH_FN(multitask_ce_cpu));
  m.impl("_multitask_cross_entropy_fused", TORCH_FN(multitask_ce_forward_cpu));
  m.impl("_multitask_cross_entropy_scale_", TORCH_FN(scale_grad_cpu));
}

TORCH_LIBRARY_IMPL(unimrg, Autograd, m) { m.impl("multitask_cross_entropy", TORCH_FN(multitask_ce_autograd)); }

}  // namespace unimrg
