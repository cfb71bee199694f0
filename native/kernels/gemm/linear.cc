// unimrg::linear(input, weight, bias?) = input · weightᵀ + bias, the same contract as
// aten::linear. Float32 CPU tensors run the forward GEMM and both backward GEMMs through
// oneDNN's sgemm (kernels/gemm/cpu_gemm.h); anything else (other dtypes or devices, empty tensors,
// no oneDNN in the process, or a backward that must itself be differentiable) is aten::linear
// and aten's own autograd, so callers may use this op everywhere.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

#include "kernels/gemm/cpu_gemm.h"

namespace unimrg {

namespace {

using OptTensor = c10::optional<at::Tensor>;

bool use_onednn(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  return onednn_gemm_available() && cpu_float32(x) && cpu_float32(w) && w.dim() == 2 && x.dim() >= 1 &&
         x.size(-1) == w.size(1) && x.numel() > 0 && w.numel() > 0 &&
         (!b.defined() || (cpu_float32(b) && b.dim() == 1 && b.size(0) == w.size(0)));
}

// onednn_product where use_onednn already holds (so it cannot decline).
at::Tensor product(const at::Tensor& a, const at::Tensor& b, const at::Tensor& bias = {}) {
  at::Tensor out = onednn_product(a, b, bias);
  TORCH_INTERNAL_ASSERT(out.defined(), "unimrg::linear: oneDNN declined a float32 GEMM");
  return out;
}

std::vector<int64_t> output_shape(const at::Tensor& x, int64_t n) {
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end() - 1);
  shape.push_back(n);
  return shape;
}

at::Tensor onednn_linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  return product(x.reshape({-1, x.size(-1)}), w.t(), b).view(output_shape(x, w.size(0)));
}

at::Tensor bias_or_undefined(const OptTensor& b) { return b.has_value() ? *b : at::Tensor(); }

class OnednnLinear : public torch::autograd::Function<OnednnLinear> {
 public:
  // The bias goes in as an optional: autograd::Function cannot take an undefined Tensor.
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w,
                            const OptTensor& bias) {
    ctx->save_for_backward({x, w});
    at::Tensor b = bias_or_undefined(bias);
    ctx->saved_data["bias"] = b.defined();
    at::AutoDispatchBelowADInplaceOrView below;
    return onednn_linear(x, w, b);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &w = saved[1];
    const int64_t K = w.size(1), N = w.size(0);
    at::Tensor gy = grads[0].reshape({-1, N});
    at::Tensor gx, gw, gb;
    // create_graph: the gradients must themselves be differentiable, so use ATen ops.
    const bool differentiable = at::GradMode::is_enabled() || !cpu_float32(gy);
    if (ctx->needs_input_grad(0)) gx = (differentiable ? gy.mm(w) : product(gy, w)).view(x.sizes());
    if (ctx->needs_input_grad(1)) {
      const at::Tensor x2 = x.reshape({-1, K});
      gw = differentiable ? gy.t().mm(x2) : product(gy.t(), x2);
    }
    if (ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2)) gb = gy.sum(0);
    return {gx, gw, gb};
  }
};

at::Tensor linear_no_grad(const at::Tensor& x, const at::Tensor& w, const OptTensor& bias) {
  at::Tensor b = bias_or_undefined(bias);
  return use_onednn(x, w, b) ? onednn_linear(x, w, b) : at::linear(x, w, bias);
}

at::Tensor linear_autograd(const at::Tensor& x, const at::Tensor& w, const OptTensor& bias) {
  at::Tensor b = bias_or_undefined(bias);
  return use_onednn(x, w, b) ? OnednnLinear::apply(x, w, bias) : at::linear(x, w, bias);
}

// Under autocast, aten::linear is a lower-precision op: hand over to it so that its own autocast
// kernel casts the inputs (the result is never float32 then, so oneDNN would not apply anyway).
at::Tensor linear_autocast(const at::Tensor& x, const at::Tensor& w, const OptTensor& bias) {
  return at::linear(x, w, bias);
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(unimrg, m) { m.def("linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor"); }

TORCH_LIBRARY_IMPL(unimrg, CompositeExplicitAutograd, m) { m.impl("linear", TORCH_FN(linear_no_grad)); }

TORCH_LIBRARY_IMPL(unimrg, Autograd, m) { m.impl("linear", TORCH_FN(linear_autograd)); }

TORCH_LIBRARY_IMPL(unimrg, AutocastCPU, m) { m.impl("linear", TORCH_FN(linear_autocast)); }

TORCH_LIBRARY_IMPL(unimrg, AutocastCUDA, m) { m.impl("linear", TORCH_FN(linear_autocast)); }

}  // namespace unimrg
