// unimrg::multitask_linear_cross_entropy: the output layer and the multitask cross-entropy,
// without ever holding the N x V logits. Tokens are taken a chunk at a time: one GEMM makes the
// chunk's logits, the fused cross-entropy kernel (unimrg::_multitask_cross_entropy_fused,
// CPU or CUDA) turns them in place into d loss / d logits, and two more GEMMs fold that into
// grad_hidden (the chunk's rows) and grad_weight (accumulated, in float32 for float16 / bfloat16
// weights when fp32_accumulate). Everything is ATen ops around our kernel, so CPU and CUDA share
// this file. The gradients are computed in the forward pass; backward scales them.
//
// The per-task denominators must be global (all N tokens), not per chunk: without external
// denominators the counts C_t are computed first (ATen ops, no sync) and passed to every chunk.
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

#include "kernels/gemm/cpu_gemm.h"
#include "kernels/losses/multitask_ce.h"
#include "kernels/losses/dtype_text.h"
#include "kernels/losses/multitask_ce_math.h"

namespace unimrg {

namespace {

using OptTensor = c10::optional<at::Tensor>;
using PublicOutputs = std::tuple<at::Tensor, at::Tensor, at::Tensor>;
constexpr int64_t kChunkBudgetBytes = int64_t(256) << 20;  // logits of one chunk, chunk_size = 0

bool present(const OptTensor& t) { return t.has_value() && t->defined(); }

// One chunk's logits h · Wᵀ (+ bias): oneDNN's sgemm for float32 on the CPU (kernels/gemm/cpu_gemm.h).
at::Tensor chunk_logits(const at::Tensor& h, const at::Tensor& wt, const OptTensor& bias) {
  at::Tensor logits = onednn_product(h, wt, present(bias) ? *bias : at::Tensor());
  if (logits.defined()) return logits;
  return present(bias) ? at::addmm(*bias, h, wt) : at::mm(h, wt);
}

struct LinearOutputs {
  at::Tensor loss, task_loss, task_tokens, row_loss;  // row_loss: [N] unscaled, for d loss / d weights
  at::Tensor grad_hidden, grad_weight, grad_bias;     // undefined unless asked
};

void check_linear_args(const at::Tensor& hidden, const at::Tensor& weight, const OptTensor& bias, int reduction,
                       int64_t chunk_size) {
  const char* op = "multitask_linear_cross_entropy: ";
  TORCH_CHECK(hidden.dim() == 2, op, "hidden must be 2-D [N, H], got shape ", hidden.sizes());
  TORCH_CHECK(weight.dim() == 2 && weight.size(1) == hidden.size(1), op, "weight must be [V, H] with H = ",
              hidden.size(1), " (from hidden), got shape ", weight.sizes());
  TORCH_CHECK(weight.scalar_type() == hidden.scalar_type(), op, "weight is ", dtype_text(weight.scalar_type()), " but hidden is ",
              dtype_text(hidden.scalar_type()));
  TORCH_CHECK(weight.device() == hidden.device(), op, "weight is on ", weight.device(), " but hidden on ",
              hidden.device());
  if (present(bias)) {
    TORCH_CHECK(bias->dim() == 1 && bias->size(0) == weight.size(0), op, "bias must be [V] with V = ", weight.size(0),
                ", got shape ", bias->sizes());
    TORCH_CHECK(bias->scalar_type() == hidden.scalar_type() && bias->device() == hidden.device(), op,
                "bias must have hidden's dtype and device");
  }
  TORCH_CHECK(reduction != ce::kNone, op,
              "reduction 'none' is not supported (the gradients are summed over chunks in the forward pass); "
              "use multitask_cross_entropy on explicit logits");
  TORCH_CHECK(chunk_size >= 0, op, "chunk_size must be >= 0 (0: pick from a 256 MiB budget), got ", chunk_size);
}

LinearOutputs linear_forward(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                             const at::Tensor& task_ids, const at::Tensor& weights, const OptTensor& bias,
                             int64_t ignore_index, double label_smoothing, double z_loss,
                             const OptTensor& denominators, c10::string_view reduction_s, int64_t chunk_size,
                             bool fp32_accumulate, bool need_hidden, bool need_weight, bool need_bias) {
  const int reduction = parse_ce_reduction(reduction_s);
  check_linear_args(hidden, weight, bias, reduction, chunk_size);
  const int64_t N = hidden.size(0), V = weight.size(0);
  // The logits' checks (targets, task ids, weights, denominators) happen in the CE op per chunk;
  // check the shapes that the chunking relies on here, so the message names the right thing.
  TORCH_CHECK(targets.dim() == 1 && targets.size(0) == N && task_ids.dim() == 1 && task_ids.size(0) == N,
              "multitask_linear_cross_entropy: targets and task_ids must be 1-D [N] with N = ", N,
              " (the rows of hidden), got ", targets.sizes(), " and ", task_ids.sizes());
  TORCH_CHECK(weights.dim() == 1 && weights.size(0) >= 1,
              "multitask_linear_cross_entropy: weights must be 1-D [T] (one weight per task), got shape ",
              weights.sizes());
  const int64_t T = weights.size(0);
  const at::Tensor D = present(denominators) ? *denominators : ce_task_counts(targets, task_ids, T, ignore_index);

  // Default chunk: logits of at most max(256 MiB, the float32 grad_weight accumulator) — every
  // chunk rewrites the [V, H] accumulator, so fewer chunks where it is big (large V x H).
  const int64_t budget = std::max<int64_t>(kChunkBudgetBytes, V * weight.size(1) * 4);
  int64_t chunk = chunk_size > 0 ? chunk_size : budget / std::max<int64_t>(1, V * hidden.element_size());
  chunk = std::max<int64_t>(1, std::min<int64_t>(chunk, std::max<int64_t>(N, 1)));
  const bool need_any = need_hidden || need_weight || need_bias;
  const bool reduced = hidden.scalar_type() == at::kHalf || hidden.scalar_type() == at::kBFloat16;
  const at::ScalarType acc_type = fp32_accumulate && reduced ? at::kFloat : weight.scalar_type();

  LinearOutputs out;
  if (need_hidden) out.grad_hidden = at::empty_like(hidden, at::MemoryFormat::Contiguous);
  if (need_weight) out.grad_weight = at::zeros({V, weight.size(1)}, weight.options().dtype(acc_type));
  if (need_bias) out.grad_bias = at::zeros({V}, weight.options().dtype(acc_type));
  const at::Tensor wt = weight.t();
  std::vector<at::Tensor> row_losses;
  for (int64_t start = 0; start < N; start += chunk) {
    const int64_t c = std::min(chunk, N - start);
    const at::Tensor h = hidden.narrow(0, start, c);
    const at::Tensor logits = chunk_logits(h, wt, bias);
    at::Tensor loss, task_loss, tokens, row_loss, g;
    std::tie(loss, task_loss, tokens, row_loss, g) = call_multitask_ce_fused(
        logits, targets.narrow(0, start, c), task_ids.narrow(0, start, c), weights, ignore_index, label_smoothing,
        z_loss, D, reduction_s, /*inplace=*/true, /*compute_grad=*/need_any);
    if (start == 0) {
      out.loss = loss;
      out.task_loss = task_loss;
      out.task_tokens = tokens;
    } else {
      out.loss.add_(loss);
      out.task_loss.add_(task_loss);
      out.task_tokens.add_(tokens);
    }
    row_losses.push_back(row_loss);
    if (!need_any) continue;
    if (need_hidden) {
      at::Tensor gh = out.grad_hidden.narrow(0, start, c);
      if (!onednn_mm(g, weight, gh, 0.f)) at::mm_out(gh, g, weight);
    }
    if (need_weight) {
      if (out.grad_weight.scalar_type() == g.scalar_type()) {
        if (!onednn_mm(g.t(), h, out.grad_weight, 1.f)) out.grad_weight.addmm_(g.t(), h);
      } else {
        out.grad_weight.add_(at::mm(g.t(), h));  // each chunk's product rounded once, summed in float32
      }
    }
    if (need_bias) out.grad_bias.add_(g.sum(c10::IntArrayRef{0}, /*keepdim=*/false, acc_type));
  }
  if (N == 0) {
    // No chunk ran: the CE op on an empty chunk gives the right zeros and dtypes.
    std::tie(out.loss, out.task_loss, out.task_tokens, std::ignore, std::ignore) = call_multitask_ce_fused(
        at::empty({0, V}, hidden.options()), targets, task_ids, weights, ignore_index, label_smoothing, z_loss, D,
        reduction_s, false, false);
    row_losses.push_back(at::empty({0}, out.task_loss.options()));
  }
  out.row_loss = row_losses.size() == 1 ? row_losses[0] : at::cat(row_losses);
  if (need_weight) out.grad_weight = out.grad_weight.to(weight.scalar_type());
  if (need_bias) out.grad_bias = out.grad_bias.to(weight.scalar_type());
  return out;
}

// The kernel of the public op below autograd (no gradient wanted), for every backend.
PublicOutputs linear_ce_no_grad(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                                const at::Tensor& task_ids, const at::Tensor& weights, const OptTensor& bias,
                                int64_t ignore_index, double label_smoothing, double z_loss,
                                const OptTensor& denominators, c10::string_view reduction, int64_t chunk_size,
                                bool fp32_accumulate) {
  LinearOutputs o = linear_forward(hidden, weight, targets, task_ids, weights, bias, ignore_index, label_smoothing,
                                   z_loss, denominators, reduction, chunk_size, fp32_accumulate, false, false, false);
  return PublicOutputs(o.loss, o.task_loss, o.task_tokens);
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class LinearCrossEntropy : public torch::autograd::Function<LinearCrossEntropy> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                               const at::Tensor& targets, const at::Tensor& task_ids, const at::Tensor& weights,
                               const OptTensor& bias, int64_t ignore_index, double label_smoothing, double z_loss,
                               const OptTensor& denominators, c10::string_view reduction, int64_t chunk_size,
                               bool fp32_accumulate) {
    at::AutoDispatchBelowADInplaceOrView below;
    LinearOutputs o = linear_forward(hidden, weight, targets, task_ids, weights, bias, ignore_index, label_smoothing,
                                     z_loss, denominators, reduction, chunk_size, fp32_accumulate,
                                     hidden.requires_grad(), weight.requires_grad(),
                                     present(bias) && bias->requires_grad());
    ctx->saved_data["grad_hidden"] = o.grad_hidden;
    ctx->saved_data["grad_weight"] = o.grad_weight;
    ctx->saved_data["grad_bias"] = o.grad_bias;
    ctx->saved_data["used"] = false;
    if (weights.requires_grad()) {
      // d loss / d w_t: L_t (mean) or S_t (sum).
      if (parse_ce_reduction(reduction) == ce::kSum) {
        const at::Tensor valid = targets.ne(ignore_index);
        const at::Tensor idx = at::where(valid, task_ids.to(at::kLong), at::zeros_like(task_ids, at::kLong))
                                   .clamp_(0, weights.size(0) - 1);
        ctx->saved_data["grad_weights"] = at::zeros_like(o.task_loss).index_add_(0, idx, o.row_loss);
      } else {
        ctx->saved_data["grad_weights"] = o.task_loss.clone();
      }
      ctx->saved_data["weights_dtype"] = static_cast<int64_t>(weights.scalar_type());
    }
    ctx->mark_non_differentiable({o.task_loss, o.task_tokens});
    return {o.loss, o.task_loss, o.task_tokens};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    TORCH_CHECK(!at::GradMode::is_enabled(), "multitask_linear_cross_entropy: only first-order gradients are ",
                "supported (they are computed in the forward pass); create_graph=true is not");
    ctx->get_saved_variables();  // after a backward without retain_graph: ATen's "backward ... a second time"
    TORCH_CHECK(!ctx->saved_data["used"].toBool(), "multitask_linear_cross_entropy: backward ran twice through the "
                "same call; its gradients are handed over on the first backward (retain_graph cannot reuse them): "
                "run the loss again");
    ctx->saved_data["used"] = true;
    const at::Tensor& go = grad_outputs[0];
    variable_list out(13);
    if (!go.defined()) return out;
    const bool unit = go.is_cpu() && go.item<double>() == 1.0;
    // Hand the saved gradients over (no copy), scaled in place by the incoming gradient.
    auto take = [&](const char* key) {
      c10::IValue& slot = ctx->saved_data[key];
      at::Tensor g = slot.isTensor() ? slot.toTensor() : at::Tensor();
      slot = c10::IValue();
      if (g.defined() && !unit) g.mul_(go);
      return g;
    };
    out[0] = take("grad_hidden");
    out[1] = take("grad_weight");
    out[5] = take("grad_bias");
    if (ctx->saved_data.count("grad_weights")) {
      at::Tensor gw = ctx->saved_data["grad_weights"].toTensor() * go.to(at::kFloat);
      out[4] = gw.to(static_cast<at::ScalarType>(ctx->saved_data["weights_dtype"].toInt()));
    }
    return out;
  }
};

PublicOutputs linear_ce_autograd(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                                 const at::Tensor& task_ids, const at::Tensor& weights, const OptTensor& bias,
                                 int64_t ignore_index, double label_smoothing, double z_loss,
                                 const OptTensor& denominators, c10::string_view reduction, int64_t chunk_size,
                                 bool fp32_accumulate) {
  const bool need = at::GradMode::is_enabled() && (hidden.requires_grad() || weight.requires_grad() ||
                                                   weights.requires_grad() || (present(bias) && bias->requires_grad()));
  if (!need) {
    at::AutoDispatchBelowADInplaceOrView below;
    return linear_ce_no_grad(hidden, weight, targets, task_ids, weights, bias, ignore_index, label_smoothing, z_loss,
                             denominators, reduction, chunk_size, fp32_accumulate);
  }
  auto o = LinearCrossEntropy::apply(hidden, weight, targets, task_ids, weights, bias, ignore_index, label_smoothing,
                                     z_loss, denominators, reduction, chunk_size, fp32_accumulate);
  return PublicOutputs(o[0], o[1], o[2]);
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(unimrg, m) {
  m.def(
      "multitask_linear_cross_entropy(Tensor hidden, Tensor weight, Tensor targets, Tensor task_ids, "
      "Tensor weights, Tensor? bias=None, int ignore_index=-100, float label_smoothing=0.0, float z_loss=0.0, "
      "Tensor? denominators=None, str reduction=\"mean\", int chunk_size=0, bool fp32_accumulate=True) "
      "-> (Tensor loss, Tensor task_loss, Tensor task_tokens)");
}

// ATen ops around the CE op: one kernel serves CPU and CUDA.
TORCH_LIBRARY_IMPL(unimrg, CompositeExplicitAutograd, m) {
  m.impl("multitask_linear_cross_entropy", TORCH_FN(linear_ce_no_grad));
}

TORCH_LIBRARY_IMPL(unimrg, Autograd, m) { m.impl("multitask_linear_cross_entropy", TORCH_FN(linear_ce_autograd)); }

}  // namespace unimrg
