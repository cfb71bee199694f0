// The CPU kernel of unimrg::multitask_diffusion_loss: one pass over pred/target computes the
// per-task masked squared errors and, when asked, the gradient (the denominators only depend on
// task_ids and the mask, so they are known before that pass).
//   1. tokens (serial, O(N)): check task ids, per-task mask sums -> D_t, grad scale 2 w_t / (C D_t)
//   2. rows (at::parallel_for over (row, segment) work items, at::vec::Vectorized inside):
//      masked sum of squared errors per item, gradient written in pred's dtype
//   3. items -> tasks (serial, in float64, fixed order: deterministic for any thread count)
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "kernels/losses/diffusion_loss.h"
#include "kernels/losses/diffusion_loss_math.h"
#include "kernels/losses/nonnegative.h"

namespace unimrg {

namespace {

using namespace diffusion;

// Elements of a row per work item: long rows are split so a few huge rows use every core.
constexpr int64_t kSegment = 8192;
// Elements per parallel_for chunk, at least (ATen's own grain): small losses stay on one thread.
constexpr int64_t kGrainElements = 32768;

template <typename scalar_t, typename acc_t>
inline at::vec::Vectorized<acc_t> load_acc(const scalar_t* p) {
  using Vec = at::vec::Vectorized<acc_t>;
  if constexpr (std::is_same<scalar_t, acc_t>::value) {
    return Vec::loadu(p);
  } else {
    alignas(64) acc_t buf[Vec::size()];
    for (int j = 0; j < Vec::size(); ++j) buf[j] = static_cast<acc_t>(p[j]);
    return Vec::loadu(buf);
  }
}

template <typename scalar_t, typename acc_t>
inline void store_from_acc(scalar_t* out, const at::vec::Vectorized<acc_t>& v) {
  if constexpr (std::is_same<scalar_t, acc_t>::value) {
    v.store(out);
  } else {
    alignas(64) acc_t buf[at::vec::Vectorized<acc_t>::size()];
    v.store(buf);
    for (int j = 0; j < at::vec::Vectorized<acc_t>::size(); ++j) out[j] = static_cast<scalar_t>(buf[j]);
  }
}

/** Sum of squared differences of n elements; writes row_scale * (p - q) to g unless g is null. */
template <typename scalar_t, typename acc_t>
acc_t segment_sq_sum(const scalar_t* p, const scalar_t* q, scalar_t* g, int64_t n, acc_t row_scale) {
  using Vec = at::vec::Vectorized<acc_t>;
  constexpr int64_t W = Vec::size();
  Vec acc0(acc_t(0)), acc1(acc_t(0));
  const Vec s(row_scale);
  int64_t c = 0;
  for (; c + 2 * W <= n; c += 2 * W) {
    const Vec d0 = load_acc<scalar_t, acc_t>(p + c) - load_acc<scalar_t, acc_t>(q + c);
    const Vec d1 = load_acc<scalar_t, acc_t>(p + c + W) - load_acc<scalar_t, acc_t>(q + c + W);
    acc0 = acc0 + d0 * d0;
    acc1 = acc1 + d1 * d1;
    if (g != nullptr) {
      store_from_acc<scalar_t, acc_t>(g + c, d0 * s);
      store_from_acc<scalar_t, acc_t>(g + c + W, d1 * s);
    }
  }
  alignas(64) acc_t lanes[W];
  (acc0 + acc1).store(lanes);
  acc_t sum = 0;
  for (int64_t j = 0; j < W; ++j) sum += lanes[j];
  for (; c < n; ++c) {
    const acc_t a = static_cast<acc_t>(p[c]);
    const acc_t b = static_cast<acc_t>(q[c]);
    sum += sq_diff(a, b);
    if (g != nullptr) g[c] = static_cast<scalar_t>(elem_grad(a, b, row_scale));
  }
  return sum;
}

template <typename scalar_t>
void run_cpu(const at::Tensor& pred, const at::Tensor& target, const int64_t* ids, const at::Tensor& mask_acc,
             const std::vector<double>& denom, const std::vector<double>& weight, const DiffusionLossSizes& sz,
             at::Tensor* grad, std::vector<double>* task_sq) {
  using acc_t = at::opmath_type<scalar_t>;
  const int64_t N = sz.tokens, C = sz.channels, T = sz.tasks;
  const int64_t S = segments_per_row(C, kSegment);
  const int64_t items = sz.rows * S;
  const scalar_t* p = pred.data_ptr<scalar_t>();
  const scalar_t* q = target.data_ptr<scalar_t>();
  scalar_t* g = grad != nullptr ? grad->data_ptr<scalar_t>() : nullptr;
  const acc_t* m = mask_acc.defined() ? mask_acc.data_ptr<acc_t>() : nullptr;

  std::vector<acc_t> scale(T);
  for (int64_t t = 0; t < T; ++t) scale[t] = static_cast<acc_t>(grad_scale<double>(weight[t], C, denom[t]));

  // 2. rows: one value per (row, segment) item.
  std::vector<acc_t> item_sum(items);
  const int64_t seg_len = std::min(C, kSegment);
  const int64_t grain = std::max<int64_t>(1, kGrainElements / seg_len);
  at::parallel_for(0, items, grain, [&](int64_t begin, int64_t end) {
    for (int64_t it = begin; it < end; ++it) {
      const int64_t row = it / S;
      const int64_t start = (it - row * S) * kSegment;
      const int64_t len = std::min(kSegment, C - start);
      const int64_t tok = token_of_row(row, N);
      const acc_t mk = m != nullptr ? m[tok] : acc_t(1);
      const int64_t off = row * C + start;
      if (!live_token(mk)) {
        if (g != nullptr) std::fill(g + off, g + off + len, static_cast<scalar_t>(0));
        item_sum[it] = 0;
        continue;
      }
      const acc_t row_scale = scale[ids[tok]] * mk;
      item_sum[it] = mk * segment_sq_sum<scalar_t, acc_t>(p + off, q + off, g != nullptr ? g + off : nullptr, len, row_scale);
    }
  });

  // 3. items -> tasks, in a fixed order (no divisions: rows are draw-major, d * N + i).
  std::vector<double>& acc = *task_sq;
  acc.assign(T, 0.0);
  int64_t it = 0;
  for (int64_t d = 0; d < sz.repeat; ++d) {
    for (int64_t i = 0; i < N; ++i) {
      double& slot = acc[ids[i]];
      for (int64_t s = 0; s < S; ++s) slot += static_cast<double>(item_sum[it++]);
    }
  }
}

}  // namespace

DiffusionLossOutputs diffusion_loss_forward_cpu(const at::Tensor& pred_in, const at::Tensor& target_in,
                                                const at::Tensor& task_ids, const at::Tensor& weights,
                                                const c10::optional<at::Tensor>& mask,
                                                const c10::optional<at::Tensor>& denominators, int64_t repeat,
                                                bool compute_grad) {
  const DiffusionLossSizes sz = check_diffusion_loss_args(pred_in, target_in, task_ids, weights, mask, denominators, repeat);
  const at::ScalarType acc_type = diffusion_loss_acc_type(pred_in.scalar_type());
  const int64_t N = sz.tokens, T = sz.tasks;

  const at::Tensor pred = pred_in.contiguous();
  const at::Tensor target = target_in.contiguous();
  const at::Tensor ids_t = task_ids.to(at::kLong).contiguous();
  const int64_t* ids = ids_t.data_ptr<int64_t>();
  const bool has_mask = mask.has_value() && mask->defined();
  const bool has_denom = denominators.has_value() && denominators->defined();
  const at::Tensor mask_acc = has_mask ? mask->to(acc_type).contiguous() : at::Tensor();

  // 1. tokens: check ids, per-task mask sums -> denominators.
  const at::Tensor w64 = weights.to(at::kDouble).contiguous();
  std::vector<double> weight(w64.data_ptr<double>(), w64.data_ptr<double>() + T);
  std::vector<double> mask_sum(T, 0.0);
  const at::Tensor m64 =
      has_mask ? checked_nonnegative(mask->to(at::kDouble).contiguous(), "multitask_diffusion_loss", "mask")
               : at::Tensor();
  const double* m = has_mask ? m64.data_ptr<double>() : nullptr;
  for (int64_t i = 0; i < N; ++i) {
    const int64_t id = ids[i];
    TORCH_CHECK(valid_task(id, T), "multitask_diffusion_loss: task_ids[", i, "] = ", id, " is out of range: ",
                "weights has ", T, " tasks, so ids must be in [0, ", T - 1, "]");
    mask_sum[id] += m != nullptr ? m[i] : 1.0;
  }
  std::vector<double> denom(T);
  if (has_denom) {
    const at::Tensor d64 =
        checked_nonnegative(denominators->to(at::kDouble).contiguous(), "multitask_diffusion_loss", "denominators");
    std::copy(d64.data_ptr<double>(), d64.data_ptr<double>() + T, denom.begin());
  } else {
    for (int64_t t = 0; t < T; ++t) denom[t] = task_denominator(mask_sum[t], repeat);
  }

  at::Tensor grad = compute_grad ? at::empty_like(pred, at::MemoryFormat::Contiguous) : at::Tensor();
  std::vector<double> task_sq;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, pred.scalar_type(), "multitask_diffusion_loss_cpu", [&] {
    run_cpu<scalar_t>(pred, target, ids, mask_acc, denom, weight, sz, compute_grad ? &grad : nullptr, &task_sq);
  });

  const auto opts = pred.options().dtype(acc_type);
  at::Tensor task_loss64 = at::empty({T}, opts.dtype(at::kDouble));
  at::Tensor task_weight64 = at::empty({T}, opts.dtype(at::kDouble));
  double* tl = task_loss64.data_ptr<double>();
  double* tw = task_weight64.data_ptr<double>();
  double loss = 0.0;
  for (int64_t t = 0; t < T; ++t) {
    tl[t] = task_loss_value(task_sq[t], sz.channels, denom[t]);
    tw[t] = denom[t];
    loss += weight[t] * tl[t];
  }
  at::Tensor loss_t = at::scalar_tensor(loss, opts.dtype(at::kDouble)).to(acc_type);
  return {loss_t, task_loss64.to(acc_type), task_weight64.to(acc_type), grad};
}

}  // namespace unimrg
