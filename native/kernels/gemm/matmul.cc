// unimrg::matmul(a, b): aten::matmul's contract. Stacks of float32 CPU matrices with the same
// batch shape, a [..., M, K] · b [..., K, N] (attention's scores and weighted sums), run through
// oneDNN's sgemm one matrix per thread (kernels/gemm/cpu_gemm.h), forward and backward; OpenBLAS's
// batched GEMM is ~2.5x slower on attention's small matrices here (bench/gemm.ts). Everything else — broadcasting,
// 1-D and 2-D operands, other dtypes or devices, autocast, double backward — is aten::matmul.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

#include "kernels/gemm/cpu_gemm.h"

namespace unimrg {

namespace {

bool use_onednn(const at::Tensor& a, const at::Tensor& b) {
  if (!onednn_gemm_available() || !cpu_float32(a) || !cpu_float32(b)) return false;
  const int64_t d = a.dim();
  if (d < 3 || b.dim() != d || a.size(-1) != b.size(-2) || a.numel() == 0 || b.numel() == 0) return false;
  return a.sizes().slice(0, d - 2) == b.sizes().slice(0, d - 2);
}

// The batched product of same-batch-shape stacks (use_onednn holds); views where the batch
// dimensions merge, copies otherwise.
at::Tensor onednn_matmul(const at::Tensor& a, const at::Tensor& b) {
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  at::Tensor out = onednn_product(a.reshape({-1, M, K}), b.reshape({-1, K, N}));
  TORCH_INTERNAL_ASSERT(out.defined(), "unimrg::matmul: oneDNN declined a float32 GEMM");
  std::vector<int64_t> shape(a.sizes().begin(), a.sizes().end() - 1);
  shape.push_back(N);
  return out.view(shape);
}

class OnednnMatmul : public torch::autograd::Function<OnednnMatmul> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& a, const at::Tensor& b) {
    ctx->save_for_backward({a, b});
    at::AutoDispatchBelowADInplaceOrView below;
    return onednn_matmul(a, b);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &a = saved[0], &b = saved[1], &g = grads[0];
    // create_graph: the gradients must themselves be differentiable, so use ATen ops.
    const bool differentiable = at::GradMode::is_enabled() || !use_onednn(g, b.transpose(-2, -1));
    auto product = [&](const at::Tensor& x, const at::Tensor& y) {
      return differentiable ? at::matmul(x, y) : onednn_matmul(x, y);
    };
    at::Tensor ga, gb;
    if (ctx->needs_input_grad(0)) ga = product(g, b.transpose(-2, -1));
    if (ctx->needs_input_grad(1)) gb = product(a.transpose(-2, -1), g);
    return {ga, gb};
  }
};

at::Tensor matmul_no_grad(const at::Tensor& a, const at::Tensor& b) {
  return use_onednn(a, b) ? onednn_matmul(a, b) : at::matmul(a, b);
}

at::Tensor matmul_autograd(const at::Tensor& a, const at::Tensor& b) {
  return use_onednn(a, b) ? OnednnMatmul::apply(a, b) : at::matmul(a, b);
}

// Under autocast aten::matmul is a lower-precision op: its own autocast kernel casts the inputs.
at::Tensor matmul_autocast(const at::Tensor& a, const at::Tensor& b) { return at::matmul(a, b); }

}  // namespace

TORCH_LIBRARY_FRAGMENT(unimrg, m) { m.def("matmul(Tensor self, Tensor other) -> Tensor"); }

TORCH_LIBRARY_IMPL(unimrg, CompositeExplicitAutograd, m) { m.impl("matmul", TORCH_FN(matmul_no_grad)); }

TORCH_LIBRARY_IMPL(unimrg, Autograd, m) { m.impl("matmul", TORCH_FN(matmul_autograd)); }

TORCH_LIBRARY_IMPL(unimrg, AutocastCPU, m) { m.impl("matmul", TORCH_FN(matmul_autocast)); }

TORCH_LIBRARY_IMPL(unimrg, AutocastCUDA, m) { m.impl("matmul", TORCH_FN(matmul_autocast)); }

}  // namespace unimrg
