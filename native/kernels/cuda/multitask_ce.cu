// The CUDA kernels of unimrg::multitask_cross_entropy. CUDA headers and our own only (no
// ATen): the libtorch glue is cuda/multitask_ce_cuda.cc.
//
//   count_kernel  C_t over the valid tokens (a shared-memory histogram per block, one atomic
//                 per block and task); bad targets / task ids are recorded in a device flag.
//   row_kernel    one row per block (one per warp for V <= 2048): an online softmax pass
//                 (running max m and sum of exp(x - m), 16-byte loads where the row is aligned),
//                 a group reduction, the row loss (atomicAdd into S_t), then a second pass over
//                 the row (mostly from L2) writing the gradient in the logits dtype.
// Math in float32 for float32, float16 and bfloat16 logits; the formulas are those of
// multitask_ce_math.h, shared with the CPU kernel.
// Kept whole (over ~350 lines): one kernel pair and its launcher, whose block shapes and
// reductions depend on each other.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

#include "kernels/cuda/multitask_ce_launch.h"
#include "kernels/losses/multitask_ce_math.h"

namespace unimrg {
namespace ce_cuda {

namespace {

constexpr int kWarp = 32;
constexpr int kWarpRowsPerBlock = 8;  // warp-per-row kernel: 256 threads, 8 rows
constexpr int64_t kWarpRowMaxV = 2048;
constexpr int kMaxBlockThreads = 1024;  // block-per-row kernel; __launch_bounds__ keeps registers <= 64

// ---- storage types -----------------------------------------------------------------------

template <typename T>
struct Io;
template <>
struct Io<float> {
  __device__ __forceinline__ static float to_f(float v) { return v; }
  __device__ __forceinline__ static float from_f(float v) { return v; }
};
template <>
struct Io<__half> {
  __device__ __forceinline__ static float to_f(__half v) { return __half2float(v); }
  __device__ __forceinline__ static __half from_f(float v) { return __float2half_rn(v); }
};
template <>
struct Io<__nv_bfloat16> {
  __device__ __forceinline__ static float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }
  __device__ __forceinline__ static __nv_bfloat16 from_f(float v) { return __float2bfloat16_rn(v); }
};

/** 16 bytes of T: 4 floats or 8 halves / bfloat16s. */
template <typename T>
struct alignas(16) Pack {
  static constexpr int kN = 16 / sizeof(T);
  T v[kN];
};

// ---- online softmax partials --------------------------------------------------------------

/** Running max m, sum of exp(x - m), sum of x (label smoothing), and whether NaN / +inf was seen. */
struct Partial {
  float m;
  float s;
  float sx;
  int bad;
};

__device__ __forceinline__ void add(Partial& p, float x) {
  if (x > p.m) {
    p.s = p.s * __expf(p.m - x) + 1.f;
    p.m = x;
  } else {
    p.s += ce::rescale_factor(x, p.m, __expf(x - p.m));  // x == m == -inf counts 1, scaled away later
  }
  p.sx += x;
  p.bad |= !(x < INFINITY);  // NaN or +inf: the loss is NaN (as on the CPU)
}

/**
 * One pack of values: its maximum first, then independent exps against the (possibly raised)
 * running maximum. Keeps the dependency chain per pack short instead of per element.
 */
template <int kN>
__device__ __forceinline__ void add_pack(Partial& p, const float (&v)[kN]) {
  float pm = v[0];
  int bad = !(v[0] < INFINITY);
  float sx = v[0];
#pragma unroll
  for (int e = 1; e < kN; ++e) {
    pm = fmaxf(pm, v[e]);
    bad |= !(v[e] < INFINITY);
    sx += v[e];
  }
  if (pm > p.m) {
    p.s *= __expf(p.m - pm);  // 0 when p.m = -inf
    p.m = pm;
  }
  if (p.m != -INFINITY) {  // an all -inf prefix adds nothing (and exp(-inf + inf) would be NaN)
    float acc = 0.f;
#pragma unroll
    for (int e = 0; e < kN; ++e) acc += __expf(v[e] - p.m);
    p.s += acc;
  }
  p.sx += sx;
  p.bad |= bad;
}

__device__ __forceinline__ Partial merge(const Partial& a, const Partial& b) {
  Partial r;
  r.m = fmaxf(a.m, b.m);
  r.s = a.s * ce::rescale_factor(a.m, r.m, __expf(a.m - r.m)) + b.s * ce::rescale_factor(b.m, r.m, __expf(b.m - r.m));
  r.sx = a.sx + b.sx;
  r.bad = a.bad | b.bad;
  return r;
}

__device__ __forceinline__ Partial warp_reduce(Partial p) {
#pragma unroll
  for (int off = kWarp / 2; off > 0; off >>= 1) {
    Partial q;
    q.m = __shfl_xor_sync(0xffffffffu, p.m, off);
    q.s = __shfl_xor_sync(0xffffffffu, p.s, off);
    q.sx = __shfl_xor_sync(0xffffffffu, p.sx, off);
    q.bad = __shfl_xor_sync(0xffffffffu, p.bad, off);
    p = merge(p, q);
  }
  return p;
}

/** Every thread of the block gets the block's partial. smem: one Partial per warp + 1. */
__device__ __forceinline__ Partial block_reduce(Partial p, Partial* smem) {
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, warps = blockDim.x / kWarp;
  p = warp_reduce(p);
  if (lane == 0) smem[warp] = p;
  __syncthreads();
  if (warp == 0) {
    Partial q = lane < warps ? smem[lane] : Partial{-INFINITY, 0.f, 0.f, 0};
    q = warp_reduce(q);
    if (lane == 0) smem[kWarp] = q;
  }
  __syncthreads();
  return smem[kWarp];
}

// ---- the row -------------------------------------------------------------------------------

__device__ __forceinline__ void record_error(int64_t* error, int64_t code, int64_t pos, int64_t value, int64_t bound) {
  if (atomicCAS(reinterpret_cast<unsigned long long*>(error), 0ull, static_cast<unsigned long long>(code)) == 0ull) {
    error[1] = pos;
    error[2] = value;
    error[3] = bound;
  }
}

// Packs loaded before any is used (more bytes in flight per thread): 16 values per thread and
// step, 64 bytes of float32 or 32 of float16 / bfloat16, within 64 registers without spilling.
template <typename T>
struct Unroll {
  static constexpr int kPacks = 16 / Pack<T>::kN;
};

/**
 * Visits the row in the thread's share: a scalar head up to 16-byte alignment, 16-byte packs
 * (kUnroll of them loaded at once), a scalar tail. one(j, value) for single elements,
 * pack(j0, values[kN]) for packs; `vec` false forces the scalar path.
 */
template <typename T, typename One, typename PackF>
__device__ __forceinline__ void for_row(const T* x, int64_t V, int64_t head, bool vec, int tid, int nthreads, One one,
                                        PackF pack) {
  constexpr int kN = Pack<T>::kN;
  if (!vec) {
    for (int64_t j = tid; j < V; j += nthreads) one(j, Io<T>::to_f(x[j]));
    return;
  }
  for (int64_t j = tid; j < head; j += nthreads) one(j, Io<T>::to_f(x[j]));
  const int64_t packs = (V - head) / kN;
  const Pack<T>* xp = reinterpret_cast<const Pack<T>*>(x + head);
  constexpr int kUnroll = Unroll<T>::kPacks;
  for (int64_t k0 = tid; k0 < packs; k0 += static_cast<int64_t>(nthreads) * kUnroll) {
    Pack<T> buf[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t k = k0 + static_cast<int64_t>(u) * nthreads;
      if (k < packs) buf[u] = xp[k];
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t k = k0 + static_cast<int64_t>(u) * nthreads;
      if (k < packs) {
        float v[kN];
#pragma unroll
        for (int e = 0; e < kN; ++e) v[e] = Io<T>::to_f(buf[u].v[e]);
        pack(head + k * kN, v);
      }
    }
  }
  for (int64_t j = head + packs * kN + tid; j < V; j += nthreads) one(j, Io<T>::to_f(x[j]));
}

/** Elements before the first 16-byte boundary of p (clamped to V). */
template <typename T>
__device__ __forceinline__ int64_t head_of(const void* p, int64_t V) {
  const int64_t mis = static_cast<int64_t>(reinterpret_cast<uintptr_t>(p) % 16);
  const int64_t h = mis == 0 ? 0 : (16 - mis) / static_cast<int64_t>(sizeof(T));
  return h < V ? h : V;
}

/** g_j = fill for the whole row. */
template <typename T>
__device__ __forceinline__ void fill_row(T* g, int64_t V, float fill, int tid, int nthreads) {
  const T v = Io<T>::from_f(fill);
  for (int64_t j = tid; j < V; j += nthreads) g[j] = v;
}

/**
 * One row by a group of `nthreads` threads (tid in [0, nthreads)); reduce(p) must return the
 * group's partial to every member and synchronise it.
 */
template <typename T, typename Reduce>
__device__ __forceinline__ void process_row(const LaunchArgs& a, const ce::Params<float>& prm, int64_t row, int tid,
                                            int nthreads, Reduce reduce) {
  const int64_t V = a.vocab;
  const int64_t y = a.targets[row];
  const T* x = static_cast<const T*>(a.logits) + row * a.logits_ld;
  T* g = a.grad != nullptr ? static_cast<T*>(a.grad) + row * a.grad_ld : nullptr;
  if (!ce::is_valid_target(y, a.ignore_index)) {
    if (tid == 0) a.row_loss[row] = 0.f;
    if (g != nullptr) fill_row(g, V, 0.f, tid, nthreads);
    return;
  }
  const int64_t t = a.task_ids[row];
  if (t < 0 || t >= a.tasks || !ce::target_in_range(y, V)) {
    // Recorded by count_kernel; here the token poisons the loss so it cannot pass unnoticed.
    if (tid == 0) {
      a.row_loss[row] = NAN;
      atomicAdd(a.task_sum + a.tasks, NAN);
    }
    if (g != nullptr) fill_row(g, V, NAN, tid, nthreads);
    return;
  }
  const float denom = ce::denominator<float>(a.denominators, static_cast<float>(a.counts[t]), t);
  const float sc = ce::row_scale<float>(a.reduction, a.weights[t], denom);
  const float xt = tid == 0 ? Io<T>::to_f(x[y]) : 0.f;  // read before anyone writes the row (in place)

  const int64_t head = head_of<T>(x, V);
  const bool vec = g == nullptr || head_of<T>(g, V) == head;
  Partial p{-INFINITY, 0.f, 0.f, 0};
  for_row<T>(x, V, head, vec, tid, nthreads, [&](int64_t, float v) { add(p, v); },
             [&](int64_t, const float(&v)[Pack<T>::kN]) { add_pack<Pack<T>::kN>(p, v); });
  p = reduce(p);
  const float s = p.bad ? NAN : p.s;
  const float lse = p.m + logf(s);
  if (tid == 0) {
    const float l = ce::row_loss(lse, xt, p.sx, prm.one_minus_eps, prm.eps, prm.inv_v, prm.z);
    a.row_loss[row] = l;
    atomicAdd(a.task_sum + t, l);
  }
  if (g == nullptr) return;
  if (sc == 0.f) {
    fill_row(g, V, 0.f, tid, nthreads);
    return;
  }
  const ce::RowGrad<float> rg = ce::row_grad(sc, s, lse, prm.one_minus_eps, prm.eps_over_v, prm.z);
  const float m = p.m;
  if (!vec) {
    for (int64_t j = tid; j < V; j += nthreads) {
      g[j] = Io<T>::from_f(ce::grad_elem(rg, __expf(Io<T>::to_f(x[j]) - m), j == y));
    }
    return;
  }
  constexpr int kN = Pack<T>::kN;
  for (int64_t j = tid; j < head; j += nthreads) {
    g[j] = Io<T>::from_f(ce::grad_elem(rg, __expf(Io<T>::to_f(x[j]) - m), j == y));
  }
  const int64_t packs = (V - head) / kN;
  const Pack<T>* xp = reinterpret_cast<const Pack<T>*>(x + head);
  Pack<T>* gp = reinterpret_cast<Pack<T>*>(g + head);
  constexpr int kUnroll = Unroll<T>::kPacks;
  for (int64_t k0 = tid; k0 < packs; k0 += static_cast<int64_t>(nthreads) * kUnroll) {
    Pack<T> buf[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t k = k0 + static_cast<int64_t>(u) * nthreads;
      if (k < packs) buf[u] = xp[k];
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t k = k0 + static_cast<int64_t>(u) * nthreads;
      if (k < packs) {
        Pack<T> out;
        const int64_t j0 = head + k * kN;
#pragma unroll
        for (int e = 0; e < kN; ++e) {
          out.v[e] = Io<T>::from_f(ce::grad_elem(rg, __expf(Io<T>::to_f(buf[u].v[e]) - m), j0 + e == y));
        }
        gp[k] = out;
      }
    }
  }
  for (int64_t j = head + packs * kN + tid; j < V; j += nthreads) {
    g[j] = Io<T>::from_f(ce::grad_elem(rg, __expf(Io<T>::to_f(x[j]) - m), j == y));
  }
}

template <typename T>
__global__ void __launch_bounds__(kMaxBlockThreads) row_block_kernel(LaunchArgs a, ce::Params<float> prm) {
  __shared__ Partial smem[kWarp + 1];
  for (int64_t row = blockIdx.x; row < a.rows; row += gridDim.x) {
    process_row<T>(a, prm, row, threadIdx.x, blockDim.x, [&](Partial p) {
      Partial r = block_reduce(p, smem);
      __syncthreads();  // smem is reused by the next row
      return r;
    });
  }
}

template <typename T>
__global__ void __launch_bounds__(kWarp * kWarpRowsPerBlock, 3) row_warp_kernel(LaunchArgs a, ce::Params<float> prm) {
  const int lane = threadIdx.x % kWarp;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * kWarpRowsPerBlock + threadIdx.x / kWarp;
  const int64_t step = static_cast<int64_t>(gridDim.x) * kWarpRowsPerBlock;
  for (int64_t row = first; row < a.rows; row += step) {
    process_row<T>(a, prm, row, lane, kWarp, [](Partial p) {
      Partial r = warp_reduce(p);
      __syncwarp();  // lane 0 read the target logit before any lane writes the row
      return r;
    });
  }
}

// ---- counts ----------------------------------------------------------------------------------

constexpr int kCountThreads = 256;
constexpr int64_t kSharedHistogramMax = 4096;

__global__ void count_kernel(LaunchArgs a) {
  extern __shared__ unsigned int hist[];
  const bool shared = a.tasks <= kSharedHistogramMax;
  if (shared) {
    for (int64_t t = threadIdx.x; t < a.tasks; t += blockDim.x) hist[t] = 0;
    __syncthreads();
  }
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < a.rows;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t y = a.targets[i];
    if (!ce::is_valid_target(y, a.ignore_index)) continue;
    const int64_t t = a.task_ids[i];
    if (t < 0 || t >= a.tasks) {
      record_error(a.error, kBadTask, i, t, a.tasks);
      continue;
    }
    if (!ce::target_in_range(y, a.vocab)) {
      record_error(a.error, kBadTarget, i, y, a.vocab);
      continue;
    }
    if (shared) {
      atomicAdd(hist + t, 1u);
    } else {
      atomicAdd(reinterpret_cast<unsigned long long*>(a.counts + t), 1ull);
    }
  }
  if (shared) {
    __syncthreads();
    for (int64_t t = threadIdx.x; t < a.tasks; t += blockDim.x) {
      if (hist[t] != 0) atomicAdd(reinterpret_cast<unsigned long long*>(a.counts + t), static_cast<unsigned long long>(hist[t]));
    }
  }
}

int block_threads_for(int64_t V) {
  if (V >= 32768) return 1024;
  if (V >= 8192) return 512;
  return 256;
}

template <typename T>
cudaError_t launch_rows(const LaunchArgs& a, const ce::Params<float>& prm, cudaStream_t stream) {
  if (a.vocab <= kWarpRowMaxV) {
    const int64_t blocks = (a.rows + kWarpRowsPerBlock - 1) / kWarpRowsPerBlock;
    const unsigned grid = static_cast<unsigned>(blocks < 2147483647 ? blocks : 2147483647);
    row_warp_kernel<T><<<grid, kWarp * kWarpRowsPerBlock, 0, stream>>>(a, prm);
  } else {
    const unsigned grid = static_cast<unsigned>(a.rows < 2147483647 ? a.rows : 2147483647);
    row_block_kernel<T><<<grid, block_threads_for(a.vocab), 0, stream>>>(a, prm);
  }
  return cudaGetLastError();
}

// ---- backward: scaling the saved gradient ---------------------------------------------------

template <typename T>
__global__ void scale_rows_kernel(T* g, int64_t ld, int64_t rows, int64_t cols, const float* scale, bool per_row) {
  if (!per_row && scale[0] == 1.f) return;  // the usual case: nothing to do, nothing read
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float f = scale[per_row ? row : 0];
    if (f == 1.f) continue;
    T* r = g + row * ld;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) r[j] = Io<T>::from_f(Io<T>::to_f(r[j]) * f);
  }
}

template <typename T>
cudaError_t launch_scale(void* g, int64_t ld, int64_t rows, int64_t cols, const float* scale, bool per_row,
                         cudaStream_t stream) {
  if (rows == 0 || cols == 0) return cudaSuccess;
  const unsigned grid = static_cast<unsigned>(rows < 65536 ? rows : 65536);
  scale_rows_kernel<T><<<grid, 256, 0, stream>>>(static_cast<T*>(g), ld, rows, cols, scale, per_row);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_scale_rows(void* grad, int64_t ld, int64_t rows, int64_t cols, DType dtype, const float* scale,
                              bool per_row, cudaStream_t stream) {
  switch (dtype) {
    case DType::kFloat: return launch_scale<float>(grad, ld, rows, cols, scale, per_row, stream);
    case DType::kHalf: return launch_scale<__half>(grad, ld, rows, cols, scale, per_row, stream);
    case DType::kBFloat16: return launch_scale<__nv_bfloat16>(grad, ld, rows, cols, scale, per_row, stream);
  }
  return cudaErrorInvalidValue;
}

cudaError_t launch_multitask_ce(const LaunchArgs& a, cudaStream_t stream) {
  cudaError_t err = cudaMemsetAsync(a.counts, 0, sizeof(int64_t) * a.tasks, stream);
  if (err == cudaSuccess) err = cudaMemsetAsync(a.task_sum, 0, sizeof(float) * (a.tasks + 1), stream);
  if (err != cudaSuccess || a.rows == 0) return err;
  {
    const int64_t want = (a.rows + kCountThreads - 1) / kCountThreads;
    const unsigned grid = static_cast<unsigned>(want < 1024 ? want : 1024);
    const size_t smem = a.tasks <= kSharedHistogramMax ? sizeof(unsigned int) * a.tasks : 0;
    count_kernel<<<grid, kCountThreads, smem, stream>>>(a);
    err = cudaGetLastError();
    if (err != cudaSuccess) return err;
  }
  const ce::Params<float> prm = ce::make_params<float>(a.label_smoothing, a.z_loss, a.vocab);
  switch (a.dtype) {
    case DType::kFloat: return launch_rows<float>(a, prm, stream);
    case DType::kHalf: return launch_rows<__half>(a, prm, stream);
    case DType::kBFloat16: return launch_rows<__nv_bfloat16>(a, prm, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace ce_cuda
}  // namespace unimrg
