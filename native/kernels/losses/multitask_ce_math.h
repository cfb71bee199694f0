// Per-element math of unimrg::multitask_cross_entropy, shared by the CPU kernel
// (multitask_ce_cpu.cc) and the CUDA kernel (cuda/multitask_ce.cu). Plain C++ with no
// libtorch or CUDA headers, so that both compilers take it and the CPU tests exercise it.
//
// For a token i with target y != ignore_index, row x of V logits, eps = label smoothing,
// z = z-loss coefficient:
//   lse  = log sum_j exp x_j
//   loss = (1 - eps)(lse - x_y) + eps (lse - mean_j x_j) + z lse^2
//   dloss/dx_j = p_j (1 + 2 z lse) - (1 - eps) [j = y] - eps / V,   p_j = exp(x_j - lse)
// (the (1 - eps) p_j and eps p_j terms add up to p_j). The gradient written is that times the
// row's scale: w_t / D_t for mean and none, w_t for sum (0 when D_t = 0).
#pragma once
#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define UNIMRG_HD __host__ __device__ __forceinline__
#else
#define UNIMRG_HD inline
#endif

namespace unimrg {
namespace ce {

enum Reduction : int { kNone = 0, kMean = 1, kSum = 2 };

/** Constants of one call, the same for every row (T: the math type, float or double). */
template <typename T>
struct Params {
  T one_minus_eps;  // 1 - label_smoothing
  T eps;            // label_smoothing
  T eps_over_v;     // label_smoothing / V
  T inv_v;          // 1 / V
  T z;              // z-loss coefficient
};

template <typename T>
UNIMRG_HD Params<T> make_params(double label_smoothing, double z_loss, int64_t vocab) {
  Params<T> p;
  p.one_minus_eps = static_cast<T>(1.0 - label_smoothing);
  p.eps = static_cast<T>(label_smoothing);
  p.eps_over_v = static_cast<T>(label_smoothing / static_cast<double>(vocab));
  p.inv_v = static_cast<T>(1.0 / static_cast<double>(vocab));
  p.z = static_cast<T>(z_loss);
  return p;
}

/** Whether token i takes part: its target is not ignore_index. */
UNIMRG_HD bool is_valid_target(int64_t y, int64_t ignore_index) { return y != ignore_index; }

/** A target the kernels can index with (ignore_index aside). */
UNIMRG_HD bool target_in_range(int64_t y, int64_t vocab) { return y >= 0 && y < vocab; }

/** The denominator D_t: the external one when given, else the token count C_t. */
template <typename T>
UNIMRG_HD T denominator(const T* denominators, T count, int64_t t) {
  return denominators != nullptr ? denominators[t] : count;
}

/** L_t = S_t / D_t, and 0 when D_t = 0 (never NaN from an empty task). */
template <typename T>
UNIMRG_HD T task_mean(T sum, T denom) {
  return denom != T(0) ? sum / denom : T(0);
}

/** The factor applied to a row's loss and gradient: w_t / D_t (mean, none) or w_t (sum). */
template <typename T>
UNIMRG_HD T row_scale(int reduction, T weight, T denom) {
  if (reduction == kSum) return weight;
  return denom != T(0) ? weight / denom : T(0);
}

/**
 * The online-softmax rescale factor exp(a - m), given e = exp(a - m) computed by the caller's
 * exp: 1 when a == m, which also covers a = m = -inf (where a - m is NaN).
 */
template <typename T>
UNIMRG_HD T rescale_factor(T a, T m, T e) {
  return a == m ? T(1) : e;
}

/** The loss of one valid row from lse, the target logit and (for smoothing) the row sum. */
template <typename T>
UNIMRG_HD T row_loss(T lse, T x_target, T row_sum, T one_minus_eps, T eps, T inv_v, T z) {
  T loss = one_minus_eps * (lse - x_target);
  if (eps != T(0)) loss += eps * (lse - row_sum * inv_v);
  if (z != T(0)) loss += z * lse * lse;
  return loss;
}

/** Gradient pieces of a row: dx_j = a * exp(x_j - m) - b, and at the target minus c. */
template <typename T>
struct RowGrad {
  T a;  // scale (1 + 2 z lse) / sum_j exp(x_j - m)
  T b;  // scale eps / V
  T c;  // scale (1 - eps)
};

/** m, s: the row maximum and sum of exp(x - m); lse = m + log s. */
template <typename T>
UNIMRG_HD RowGrad<T> row_grad(T scale, T s, T lse, T one_minus_eps, T eps_over_v, T z) {
  RowGrad<T> g;
  g.a = scale * (T(1) + T(2) * z * lse) / s;
  g.b = scale * eps_over_v;
  g.c = scale * one_minus_eps;
  return g;
}

/** One gradient element from e = exp(x_j - m). */
template <typename T>
UNIMRG_HD T grad_elem(const RowGrad<T>& g, T e, bool is_target) {
  T d = g.a * e - g.b;
  return is_target ? d - g.c : d;
}

/**
 * A branch-free exp for float (|rel err| < 2e-7 over the softmax range), built from + * and
 * bit operations; the CPU kernel's 8-lane vexp uses the same constants and this one for row
 * tails, so every element of a row goes through the same function. exp(x) = 2^n exp(r), n = round(x log2 e), |r| <= ln2/2;
 * below -87.3 it returns 0 (softmax terms that small vanish in float32 anyway), NaN stays NaN.
 */
UNIMRG_HD float exp_poly(float x) {
  const float lo = -87.33654f, hi = 88.37626f;
  float xc = x < lo ? lo : (x > hi ? hi : x);
  // Round to nearest by adding and subtracting 1.5 * 2^23 (vectorises without SSE4.1 floor).
  const float magic = 12582912.0f;
  float n = (xc * 1.44269504088896341f + magic) - magic;
  float r = xc - n * 0.693359375f;  // ln2 split in two for an exact product n * ln2_hi
  r = r - n * -2.12194440e-4f;
  // Minimax polynomial for exp(r) on [-ln2/2, ln2/2] (Cephes expf coefficients).
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
#ifdef __CUDA_ARCH__
  float scale = __int_as_float(bits);
#else
  float scale;
  __builtin_memcpy(&scale, &bits, sizeof(float));
#endif
  float y = p * scale;
  y = x < lo ? 0.0f : y;
  return x != x ? x : y;  // NaN in, NaN out
}

}  // namespace ce
}  // namespace unimrg
