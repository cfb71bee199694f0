// The CPU kernel of unimrg::multitask_cross_entropy (the private op
// unimrg::_multitask_cross_entropy_fused). Two passes over the tokens:
//   1. counts: C_t over the valid tokens (targets and task ids checked here), then the
//      per-task scale w_t / D_t (mean, none) or w_t (sum);
//   2. the fused pass, at::parallel_for over rows: per row, the maximum (and the row sum for
//      label smoothing), then e_j = exp(x_j - max) written straight into the gradient row while
//      summing, then the gradient a e_j - b in place. The row is read twice from memory (the
//      second read mostly from cache), the gradient written once; no N x V temporary.
// Float rows run through 8-lane vectors with a branch-free polynomial exp (ce::exp_poly's
// constants); the row loop is compiled twice, once for AVX2 + FMA (a target attribute, chosen at
// run time) and once for the baseline ISA. float16 / bfloat16 rows are widened into a per-thread
// float row first; float64 runs a scalar double path (used by the finite-difference tests).
// Kept whole (over ~350 lines): one kernel, whose two passes, vector helpers and ISA clones share
// one set of per-row invariants that read best side by side.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/losses/multitask_ce.h"
#include "kernels/losses/multitask_ce_math.h"
#include "kernels/losses/nonnegative.h"

namespace unimrg {

namespace {

// The vector helpers are internal and inlined: the ABI note about 32-byte vectors is moot.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#if defined(__GNUC__)
#define CE_INLINE __attribute__((always_inline)) inline
#else
#define CE_INLINE inline
#endif

// ---- 8-lane float vectors ------------------------------------------------------------------
// GCC/Clang vector extensions: in the AVX2 clone each operation is one ymm instruction, in the
// baseline clone two SSE ones. (at::vec::Vectorized<float> is the obvious choice, but Debian's
// libtorch ships no sleef.h, so only its portable form compiles here: per-lane loops that GCC
// left scalar, 3x slower end to end when measured.)
typedef float f8 __attribute__((vector_size(32)));
typedef int32_t i8 __attribute__((vector_size(32)));
typedef uint32_t u8x __attribute__((vector_size(32)));
typedef uint16_t h8 __attribute__((vector_size(16)));
constexpr int64_t kW = 8;

CE_INLINE f8 splat(float v) { return f8{v, v, v, v, v, v, v, v}; }
CE_INLINE f8 load8(const float* p) {
  f8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
CE_INLINE void store8(float* p, f8 v) { std::memcpy(p, &v, sizeof v); }
/** m ? a : b with m a lane mask (all ones or zero), as comparisons return it. */
CE_INLINE f8 select(i8 m, f8 a, f8 b) {
  return reinterpret_cast<f8>((reinterpret_cast<i8>(a) & m) | (reinterpret_cast<i8>(b) & ~m));
}
CE_INLINE f8 vmax(f8 a, f8 b) { return select(b > a, b, a); }

/** ce::exp_poly on 8 lanes (same constants, same result). */
CE_INLINE f8 vexp(f8 x) {
  const f8 lo = splat(-87.33654f);
  const f8 xc = select(x < lo, lo, x);
  const f8 magic = splat(12582912.0f);
  const f8 n = (xc * splat(1.44269504088896341f) + magic) - magic;
  f8 r = xc - n * splat(0.693359375f);
  r = r - n * splat(-2.12194440e-4f);
  f8 p = splat(1.9875691500e-4f);
  p = p * r + splat(1.3981999507e-3f);
  p = p * r + splat(8.3334519073e-3f);
  p = p * r + splat(4.1665795894e-2f);
  p = p * r + splat(1.6666665459e-1f);
  p = p * r + splat(5.0000001201e-1f);
  p = p * r * r + r + splat(1.0f);
  const i8 bits = (__builtin_convertvector(n, i8) + 127) << 23;
  f8 y = p * reinterpret_cast<f8>(bits);
  y = select(x < lo, splat(0.f), y);
  return select(x != x, x, y);  // NaN in, NaN out
}

CE_INLINE float hmax(f8 v) {
  float m = v[0];
  for (int k = 1; k < kW; ++k) m = v[k] > m ? v[k] : m;
  return m;
}
CE_INLINE float hsum(f8 v) {
  float s = 0.f;
  for (int k = 0; k < kW; ++k) s += v[k];
  return s;
}

// ---- row passes ---------------------------------------------------------------------------

/** Maximum of the row and, when asked, its sum (label smoothing). NaN reaches the sum. */
CE_INLINE void row_max_sum(const float* x, int64_t V, bool want_sum, float& m_out, float& s_out) {
  const float ninf = -std::numeric_limits<float>::infinity();
  f8 m0 = splat(ninf), m1 = splat(ninf), s0 = splat(0.f), s1 = splat(0.f);
  int64_t j = 0;
  if (want_sum) {
    for (; j + 2 * kW <= V; j += 2 * kW) {
      const f8 a = load8(x + j), b = load8(x + j + kW);
      m0 = vmax(m0, a);
      m1 = vmax(m1, b);
      s0 += a;
      s1 += b;
    }
  } else {
    for (; j + 2 * kW <= V; j += 2 * kW) {
      m0 = vmax(m0, load8(x + j));
      m1 = vmax(m1, load8(x + j + kW));
    }
  }
  float m = hmax(vmax(m0, m1));
  float s = hsum(s0 + s1);
  for (; j < V; ++j) {
    m = x[j] > m ? x[j] : m;
    s += x[j];
  }
  m_out = m;
  s_out = s;
}

/** sum_j exp(x_j - m), storing each term into out (which may be x itself) when out != null. */
CE_INLINE float row_exp(const float* x, float* out, int64_t V, float m) {
  const f8 vm = splat(m);
  f8 s0 = splat(0.f), s1 = splat(0.f);
  int64_t j = 0;
  if (out != nullptr) {
    for (; j + 2 * kW <= V; j += 2 * kW) {
      const f8 a = vexp(load8(x + j) - vm), b = vexp(load8(x + j + kW) - vm);
      store8(out + j, a);
      store8(out + j + kW, b);
      s0 += a;
      s1 += b;
    }
  } else {
    for (; j + 2 * kW <= V; j += 2 * kW) {
      s0 += vexp(load8(x + j) - vm);
      s1 += vexp(load8(x + j + kW) - vm);
    }
  }
  float s = hsum(s0 + s1);
  for (; j < V; ++j) {
    const float e = ce::exp_poly(x[j] - m);
    if (out != nullptr) out[j] = e;
    s += e;
  }
  return s;
}

/** g_j = a e_j - b in place (the float32 gradient row holds e_j). */
CE_INLINE void row_affine(float* g, int64_t V, float a, float b) {
  const f8 va = splat(a), vb = splat(b);
  int64_t j = 0;
  for (; j + kW <= V; j += kW) store8(g + j, load8(g + j) * va - vb);
  for (; j < V; ++j) g[j] = g[j] * a - b;
}

// Conversions between the storage types and float rows.
CE_INLINE void widen_row(const c10::BFloat16* in, float* out, int64_t V) {
  int64_t j = 0;
  for (; j + kW <= V; j += kW) {
    h8 h;
    std::memcpy(&h, in + j, sizeof h);
    store8(out + j, reinterpret_cast<f8>(__builtin_convertvector(h, u8x) << 16));
  }
  for (; j < V; ++j) out[j] = static_cast<float>(in[j]);
}
CE_INLINE void widen_row(const c10::Half* in, float* out, int64_t V) {
  for (int64_t j = 0; j < V; ++j) out[j] = static_cast<float>(in[j]);
}
CE_INLINE void widen_row(const float* in, float* out, int64_t V) { std::memcpy(out, in, sizeof(float) * V); }

/** out_j = a e_j - b rounded to the storage type (e: a float row). */
CE_INLINE void affine_store(const float* e, c10::BFloat16* out, int64_t V, float a, float b) {
  const f8 va = splat(a), vb = splat(b);
  int64_t j = 0;
  for (; j + kW <= V; j += kW) {
    const f8 v = load8(e + j) * va - vb;
    const u8x bits = reinterpret_cast<u8x>(v);
    u8x r = (bits + (((bits >> 16) & 1u) + 0x7FFFu)) >> 16;  // round to nearest even, as c10 does
    r = reinterpret_cast<u8x>(select(v != v, reinterpret_cast<f8>(u8x{} + 0x7FC0u), reinterpret_cast<f8>(r)));
    const h8 h = __builtin_convertvector(r, h8);
    std::memcpy(static_cast<void*>(out + j), &h, sizeof h);
  }
  for (; j < V; ++j) out[j] = static_cast<c10::BFloat16>(e[j] * a - b);
}
CE_INLINE void affine_store(const float* e, c10::Half* out, int64_t V, float a, float b) {
  for (int64_t j = 0; j < V; ++j) out[j] = static_cast<c10::Half>(e[j] * a - b);
}
CE_INLINE void affine_store(const float* e, float* out, int64_t V, float a, float b) {
  for (int64_t j = 0; j < V; ++j) out[j] = e[j] * a - b;
}
template <typename T>
CE_INLINE T from_f(float v) {
  return static_cast<T>(v);
}

/** Everything the row loop needs, the same for every row. */
template <typename in_t, typename acc_t>
struct RowJob {
  const in_t* x;
  int64_t x_ld;
  in_t* g;  // null: no gradient wanted
  int64_t g_ld;
  const int64_t* y;
  const int64_t* task;
  const acc_t* scale;  // [T]
  acc_t* row_loss;     // [N]
  int64_t V;
  int64_t ignore_index;
  ce::Params<acc_t> p;
};

/** float32 / bfloat16 / float16 rows, float math. buf: V floats of scratch (reduced types). */
template <typename in_t>
CE_INLINE void rows_float(const RowJob<in_t, float>& J, int64_t begin, int64_t end, float* buf) {
  const int64_t V = J.V;
  constexpr bool kFloat = std::is_same<in_t, float>::value;
  for (int64_t i = begin; i < end; ++i) {
    const int64_t yi = J.y[i];
    in_t* gr = J.g != nullptr ? J.g + i * J.g_ld : nullptr;
    if (!ce::is_valid_target(yi, J.ignore_index)) {
      J.row_loss[i] = 0.f;
      if (gr != nullptr) std::memset(static_cast<void*>(gr), 0, sizeof(in_t) * V);
      continue;
    }
    const float sc = J.scale[J.task[i]];
    const in_t* xin = J.x + i * J.x_ld;
    const float* xr;
    if (kFloat) {
      xr = reinterpret_cast<const float*>(xin);
    } else {
      widen_row(xin, buf, V);
      xr = buf;
    }
    const float xt = xr[yi];
    float m, rsum;
    row_max_sum(xr, V, J.p.eps != 0.f, m, rsum);
    const bool write = gr != nullptr && sc != 0.f;
    float* e_out = nullptr;
    if (write) e_out = kFloat ? reinterpret_cast<float*>(gr) : buf;
    const float s = row_exp(xr, e_out, V, m);
    const float lse = m + std::log(s);
    J.row_loss[i] = ce::row_loss(lse, xt, rsum, J.p.one_minus_eps, J.p.eps, J.p.inv_v, J.p.z);
    if (gr == nullptr) continue;
    if (!write) {
      std::memset(static_cast<void*>(gr), 0, sizeof(in_t) * V);
      continue;
    }
    const ce::RowGrad<float> rg = ce::row_grad(sc, s, lse, J.p.one_minus_eps, J.p.eps_over_v, J.p.z);
    if (kFloat) {
      float* g = reinterpret_cast<float*>(gr);
      const float ey = g[yi];
      row_affine(g, V, rg.a, rg.b);
      g[yi] = ce::grad_elem(rg, ey, true);
    } else {
      affine_store(buf, gr, V, rg.a, rg.b);
      gr[yi] = from_f<in_t>(ce::grad_elem(rg, buf[yi], true));
    }
  }
}

// The same loop compiled for AVX2 + FMA and for the baseline ISA; picked once at run time.
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define CE_HAVE_AVX2_CLONE 1
template <typename in_t>
__attribute__((target("avx2,fma"))) void rows_float_avx2(const RowJob<in_t, float>& J, int64_t b, int64_t e,
                                                          float* buf) {
  rows_float<in_t>(J, b, e, buf);
}
bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}
#endif

template <typename in_t>
void rows_float_generic(const RowJob<in_t, float>& J, int64_t b, int64_t e, float* buf) {
  rows_float<in_t>(J, b, e, buf);
}

template <typename in_t>
void run_rows_float(const RowJob<in_t, float>& J, int64_t b, int64_t e, float* buf) {
#ifdef CE_HAVE_AVX2_CLONE
  if (cpu_has_avx2()) return rows_float_avx2<in_t>(J, b, e, buf);
#endif
  rows_float_generic<in_t>(J, b, e, buf);
}

/** float64 rows: plain scalar double math (tests, finite differences). */
void rows_double(const RowJob<double, double>& J, int64_t begin, int64_t end) {
  const int64_t V = J.V;
  for (int64_t i = begin; i < end; ++i) {
    const int64_t yi = J.y[i];
    double* gr = J.g != nullptr ? J.g + i * J.g_ld : nullptr;
    if (!ce::is_valid_target(yi, J.ignore_index)) {
      J.row_loss[i] = 0.0;
      if (gr != nullptr) std::fill(gr, gr + V, 0.0);
      continue;
    }
    const double* x = J.x + i * J.x_ld;
    const double xt = x[yi];
    double m = -std::numeric_limits<double>::infinity(), rsum = 0.0;
    for (int64_t j = 0; j < V; ++j) {
      m = x[j] > m ? x[j] : m;
      rsum += x[j];
    }
    double s = 0.0;
    for (int64_t j = 0; j < V; ++j) s += std::exp(x[j] - m);
    const double lse = m + std::log(s);
    J.row_loss[i] = ce::row_loss<double>(lse, xt, rsum, J.p.one_minus_eps, J.p.eps, J.p.inv_v, J.p.z);
    if (gr == nullptr) continue;
    const double sc = J.scale[J.task[i]];
    const ce::RowGrad<double> rg = ce::row_grad<double>(sc, s, lse, J.p.one_minus_eps, J.p.eps_over_v, J.p.z);
    for (int64_t j = 0; j < V; ++j) gr[j] = ce::grad_elem(rg, std::exp(x[j] - m), j == yi);
  }
}

/** Rows per parallel task: enough elements (~64k) that scheduling costs nothing. */
int64_t row_grain(int64_t V) { return std::max<int64_t>(1, 65536 / std::max<int64_t>(V, 1)); }

}  // namespace

CeOutputs multitask_ce_forward_cpu(const at::Tensor& logits_in, const at::Tensor& targets_in,
                                   const at::Tensor& task_ids_in, const at::Tensor& weights_in,
                                   int64_t ignore_index, double label_smoothing, double z_loss,
                                   const c10::optional<at::Tensor>& denominators_in, c10::string_view reduction_s,
                                   bool inplace, bool compute_grad) {
  const CeSizes sz = check_ce_args(logits_in, targets_in, task_ids_in, weights_in, label_smoothing, z_loss,
                                   denominators_in, reduction_s);
  const int64_t N = sz.rows, V = sz.vocab, T = sz.tasks;
  const int reduction = sz.reduction;
  const bool dbl = logits_in.scalar_type() == at::kDouble;
  const at::ScalarType acc_type = dbl ? at::kDouble : at::kFloat;
  const auto acc_opts = logits_in.options().dtype(acc_type);

  const at::Tensor targets = targets_in.to(at::kLong).contiguous();
  const at::Tensor task_ids = task_ids_in.to(at::kLong).contiguous();
  const at::Tensor weights = weights_in.to(at::kDouble).contiguous();
  const bool has_denom = denominators_in.has_value() && denominators_in->defined();
  const at::Tensor denoms =
      has_denom ? checked_nonnegative(denominators_in->to(at::kDouble).contiguous(), "multitask_cross_entropy",
                                      "denominators")
                : at::Tensor();

  // Pass 1: counts per task over the valid tokens, with the checks that read data.
  const int64_t* y = targets.data_ptr<int64_t>();
  const int64_t* task = task_ids.data_ptr<int64_t>();
  at::Tensor task_tokens = at::zeros({T}, logits_in.options().dtype(at::kLong));
  int64_t* count = task_tokens.data_ptr<int64_t>();
  for (int64_t i = 0; i < N; ++i) {
    if (!ce::is_valid_target(y[i], ignore_index)) continue;
    TORCH_CHECK(ce::target_in_range(y[i], V), "multitask_cross_entropy: target ", y[i], " at position ", i,
                " is out of range for ", V, " classes (valid: 0..", V - 1, ", or ignore_index ", ignore_index, ")");
    TORCH_CHECK(task[i] >= 0 && task[i] < T, "multitask_cross_entropy: task id ", task[i], " at position ", i,
                " is out of range for ", T, " tasks (weights has ", T, " entries)");
    count[task[i]]++;
  }
  const double* w = weights.data_ptr<double>();
  const double* dn = has_denom ? denoms.data_ptr<double>() : nullptr;
  std::vector<double> denom(T), scale(T);
  for (int64_t t = 0; t < T; ++t) {
    denom[t] = ce::denominator<double>(dn, static_cast<double>(count[t]), t);
    scale[t] = ce::row_scale<double>(reduction, w[t], denom[t]);
  }

  // Pass 2: the fused row pass.
  const at::Tensor x = ce_kernel_logits(logits_in, inplace && compute_grad);
  at::Tensor grad = compute_grad ? ce_grad_buffer(x, inplace) : at::Tensor();
  at::Tensor row_loss = at::empty({N}, acc_opts);
  const int64_t grain = row_grain(V);

  if (dbl) {
    RowJob<double, double> J{x.data_ptr<double>(), x.stride(0), compute_grad ? grad.data_ptr<double>() : nullptr,
                             compute_grad ? grad.stride(0) : 0, y, task, scale.data(), row_loss.data_ptr<double>(),
                             V, ignore_index, ce::make_params<double>(label_smoothing, z_loss, V)};
    at::parallel_for(0, N, grain, [&](int64_t b, int64_t e) { rows_double(J, b, e); });
  } else {
    std::vector<float> scale_f(scale.begin(), scale.end());
    auto run = [&](auto tag) {
      using scalar_t = decltype(tag);
      RowJob<scalar_t, float> J{x.data_ptr<scalar_t>(), x.stride(0), compute_grad ? grad.data_ptr<scalar_t>() : nullptr,
                                compute_grad ? grad.stride(0) : 0, y, task, scale_f.data(), row_loss.data_ptr<float>(),
                                V, ignore_index, ce::make_params<float>(label_smoothing, z_loss, V)};
      at::parallel_for(0, N, grain, [&](int64_t b, int64_t e) {
        std::vector<float> buf(std::is_same<scalar_t, float>::value ? 0 : V);
        run_rows_float<scalar_t>(J, b, e, buf.data());
      });
    };
    switch (x.scalar_type()) {
      case at::kFloat: run(float()); break;
      case at::kBFloat16: run(c10::BFloat16()); break;
      case at::kHalf: run(c10::Half()); break;
      default: TORCH_CHECK(false, "multitask_cross_entropy: unsupported logits dtype ", x.scalar_type());
    }
  }

  // Per-task sums in double, in token order (deterministic), then the reduction.
  std::vector<double> S(T, 0.0);
  at::Tensor task_loss = at::empty({T}, acc_opts);
  at::Tensor loss = reduction == ce::kNone ? at::empty({N}, acc_opts) : at::empty({}, acc_opts);
  AT_DISPATCH_FLOATING_TYPES(acc_type, "multitask_cross_entropy_reduce", [&] {
    const scalar_t* rl = row_loss.data_ptr<scalar_t>();
    for (int64_t i = 0; i < N; ++i)
      if (ce::is_valid_target(y[i], ignore_index)) S[task[i]] += static_cast<double>(rl[i]);
    scalar_t* tl = task_loss.data_ptr<scalar_t>();
    double total = 0.0;
    for (int64_t t = 0; t < T; ++t) {
      const double L = ce::task_mean(S[t], denom[t]);
      tl[t] = static_cast<scalar_t>(L);
      total += reduction == ce::kSum ? w[t] * S[t] : w[t] * L;
    }
    if (reduction == ce::kNone) {
      scalar_t* out = loss.data_ptr<scalar_t>();
      for (int64_t i = 0; i < N; ++i)
        out[i] = ce::is_valid_target(y[i], ignore_index) ? static_cast<scalar_t>(rl[i] * scale[task[i]]) : scalar_t(0);
    } else {
      *loss.data_ptr<scalar_t>() = static_cast<scalar_t>(total);
    }
  });
  return CeOutputs(loss, task_loss, task_tokens, row_loss, grad);
}

}  // namespace unimrg
