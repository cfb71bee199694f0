// CUDA kernels of unimrg::multitask_diffusion_loss. CUDA headers and our own only (no ATen), so
// this file also compiles where libtorch is CPU-only. Two kernels on one stream, no host sync,
// deterministic (fixed reduction orders, no floating-point atomics):
//   1. denominators: per-task mask sums over tokens -> D_t, gradient scale 2 w_t / (C D_t)
//   2. rows: for each (row, segment) work item, the masked sum of squared errors and the
//      gradient (written in pred's dtype, 16-byte loads and stores where aligned); G lanes per
//      item (4..32 by row length), so short MAR rows (C = 16) and huge flow-matching rows
//      (C = 65536, split into segments of 1024) both fill the GPU; then per-task sums -> L_t, loss.
// Per-task sums within a block go to a per-warp slot array in shared memory, filled by whole-warp
// reductions over the distinct task ids among the warp's items (usually one). Each block writes
// its partial sums; the last block to finish (a counter + __threadfence) adds them up in block
// order, one warp per task.
// Kept whole (over ~350 lines): two kernels on one stream whose work split, shared-memory slots
// and last-block reduction are one design.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "kernels/cuda/diffusion_loss_launch.h"
#include "kernels/losses/diffusion_loss_math.h"

namespace unimrg {
namespace cuda {

namespace {

using namespace ::unimrg::diffusion;

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kMaxBlocks = 1024;  // blocks of each kernel (grid-stride beyond): partials per task
constexpr int64_t kSegment = 1024;  // elements of a row per work item
constexpr unsigned kFull = 0xffffffffu;

__device__ __forceinline__ float to_acc(float x) { return x; }
__device__ __forceinline__ double to_acc(double x) { return x; }
__device__ __forceinline__ float to_acc(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_acc(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename scalar_t>
struct From;
template <>
struct From<float> {
  __device__ __forceinline__ static float cast(float x) { return x; }
};
template <>
struct From<double> {
  __device__ __forceinline__ static double cast(double x) { return x; }
};
template <>
struct From<__half> {
  __device__ __forceinline__ static __half cast(float x) { return __float2half_rn(x); }
};
template <>
struct From<__nv_bfloat16> {
  __device__ __forceinline__ static __nv_bfloat16 cast(float x) { return __float2bfloat16_rn(x); }
};

/** V elements at p (16-byte aligned when V > 1) as acc_t. */
template <typename scalar_t, typename acc_t, int V>
__device__ __forceinline__ void load_chunk(const scalar_t* p, acc_t (&out)[V]) {
  if constexpr (V == 1) {
    out[0] = to_acc(p[0]);
  } else {
    static_assert(V * sizeof(scalar_t) == 16, "a chunk is one 16-byte access");
    const uint4 raw = *reinterpret_cast<const uint4*>(p);
    const scalar_t* s = reinterpret_cast<const scalar_t*>(&raw);
#pragma unroll
    for (int j = 0; j < V; ++j) out[j] = to_acc(s[j]);
  }
}

template <typename scalar_t, typename acc_t, int V>
__device__ __forceinline__ void store_chunk(scalar_t* p, const acc_t (&in)[V]) {
  if constexpr (V == 1) {
    p[0] = From<scalar_t>::cast(in[0]);
  } else {
    uint4 raw;
    scalar_t* s = reinterpret_cast<scalar_t*>(&raw);
#pragma unroll
    for (int j = 0; j < V; ++j) s[j] = From<scalar_t>::cast(in[j]);
    *reinterpret_cast<uint4*>(p) = raw;
  }
}

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o);
  return v;
}

/** Sum over the G lanes of each aligned group of a warp; every lane of the warp must call it. */
template <int G, typename T>
__device__ __forceinline__ T group_sum(T v) {
  for (int o = G / 2; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o, G);
  return v;
}

/** Adds each lane's v to warp_slots[id] over the lanes with valid set; called by a whole warp.
 *  One whole-warp sum per distinct id among the lanes: one in the common case. */
template <typename acc_t>
__device__ __forceinline__ void accumulate_by_task(acc_t* warp_slots, int64_t id, acc_t v, bool valid) {
  const int lane = threadIdx.x & 31;
  unsigned pending = __ballot_sync(kFull, valid);
  while (pending != 0u) {
    const int leader = __ffs(pending) - 1;
    const long long t = __shfl_sync(kFull, static_cast<long long>(id), leader);
    const bool mine = valid && id == t;
    const acc_t s = warp_sum<acc_t>(mine ? v : acc_t(0));
    if (lane == 0) warp_slots[t] += s;
    pending &= ~__ballot_sync(kFull, mine);
  }
}

/** Per-warp task slots in dynamic shared memory ([kWarps][T]), zeroed. */
template <typename acc_t>
__device__ acc_t* zeroed_slots(int64_t T) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  acc_t* slots = reinterpret_cast<acc_t*>(smem_raw);
  for (int64_t j = threadIdx.x; j < kWarps * T; j += blockDim.x) slots[j] = acc_t(0);
  __syncthreads();
  return slots;
}

/** Writes the block's per-task sums to partials[blockIdx.x * T + t], then tells whether this
 *  block is the last one to finish. If so, sums[t] (shared memory, may alias slots) receives the
 *  total over all blocks, added in block order: one warp per task, lanes over blocks. */
template <typename acc_t>
__device__ bool finish_blocks(acc_t* slots, int64_t T, acc_t* partials, unsigned int* counter, acc_t* sums) {
  __shared__ bool last;
  __syncthreads();
  for (int64_t t = threadIdx.x; t < T; t += blockDim.x) {
    acc_t s = 0;
    for (int w = 0; w < kWarps; ++w) s += slots[w * T + t];
    partials[blockIdx.x * T + t] = s;
  }
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) last = atomicAdd(counter, 1u) == gridDim.x - 1;
  __syncthreads();
  if (!last) return false;
  __threadfence();
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int64_t t = warp; t < T; t += kWarps) {
    acc_t s = 0;
    for (int b = lane; b < static_cast<int>(gridDim.x); b += 32) s += __ldcg(partials + b * T + t);
    s = warp_sum(s);
    if (lane == 0) sums[t] = s;
  }
  __syncthreads();
  return true;
}

struct Workspace {
  unsigned int* counters;  // [2], zeroed before kernel 1
  void* scale;             // [T]
  void* den_partials;      // [b1 * T]
  void* num_partials;      // [b2 * T]
};

struct Layout {
  int64_t segments, items;
  int b1, b2, g, v;
  size_t counters, scale, den_partials, num_partials, total;
};

size_t align16(size_t n) { return (n + 15) & ~size_t(15); }

int blocks_for(int64_t units, int64_t per_block) {
  const int64_t b = (units + per_block - 1) / per_block;
  return static_cast<int>(b < 1 ? 1 : (b > kMaxBlocks ? kMaxBlocks : b));
}

size_t elem_size(DiffusionDtype d) {
  switch (d) {
    case DiffusionDtype::Float64: return 8;
    case DiffusionDtype::Float32: return 4;
    default: return 2;
  }
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

Layout layout_of(const DiffusionLossLaunch& a) {
  Layout l{};
  const size_t acc = a.dtype == DiffusionDtype::Float64 ? sizeof(double) : sizeof(float);
  l.segments = segments_per_row(a.channels, kSegment);
  l.items = a.rows * l.segments;
  // 16-byte chunks when every row starts aligned; single elements otherwise.
  const int vec = static_cast<int>(16 / elem_size(a.dtype));
  const bool can_vec = a.channels % vec == 0 && aligned16(a.pred) && aligned16(a.target) &&
                       (a.grad_pred == nullptr || aligned16(a.grad_pred));
  l.v = can_vec ? vec : 1;
  const int64_t len = a.channels < kSegment ? a.channels : kSegment;
  const int64_t chunks = (len + l.v - 1) / l.v;
  l.g = chunks > 16 ? 32 : (chunks > 8 ? 16 : (chunks > 4 ? 8 : 4));
  l.b1 = a.denominators != nullptr ? 1 : blocks_for(a.tokens, kThreads);
  l.b2 = blocks_for(l.items, static_cast<int64_t>(kWarps) * (32 / l.g));
  size_t off = 16;  // the counters
  l.scale = off;
  off = align16(off + acc * a.tasks);
  l.den_partials = off;
  off = align16(off + acc * a.tasks * l.b1);
  l.num_partials = off;
  off = align16(off + acc * a.tasks * l.b2);
  l.total = off;
  return l;
}

// ---- kernel 1: denominators and gradient scales -----------------------------------------------
template <typename acc_t>
__global__ void __launch_bounds__(kThreads) denominators_kernel(DiffusionLossLaunch a, Workspace ws) {
  const int64_t T = a.tasks;
  acc_t* slots = zeroed_slots<acc_t>(T);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const acc_t* mask = static_cast<const acc_t*>(a.mask);
  if (a.denominators == nullptr) {
    const int64_t stride = static_cast<int64_t>(gridDim.x) * kThreads;
    for (int64_t base = static_cast<int64_t>(blockIdx.x) * kThreads + warp * 32; base < a.tokens; base += stride) {
      const int64_t i = base + lane;
      const int64_t id = i < a.tokens ? a.task_ids[i] : -1;
      const bool valid = i < a.tokens && valid_task(id, T);
      const acc_t v = valid ? (mask != nullptr ? mask[i] : acc_t(1)) : acc_t(0);
      accumulate_by_task(slots + warp * T, id, v, valid);
    }
  }
  acc_t* sums = slots;  // free once the block's partials are written
  if (!finish_blocks(slots, T, static_cast<acc_t*>(ws.den_partials), ws.counters + 0, sums)) return;
  const acc_t* weights = static_cast<const acc_t*>(a.weights);
  const acc_t* given = static_cast<const acc_t*>(a.denominators);
  for (int64_t t = threadIdx.x; t < T; t += blockDim.x) {
    const acc_t d = given != nullptr ? given[t] : task_denominator(sums[t], a.repeat);
    static_cast<acc_t*>(a.task_weight)[t] = d;
    static_cast<acc_t*>(ws.scale)[t] = grad_scale(weights[t], a.channels, d);
  }
}

// ---- kernel 2: rows, per-task sums, task losses and the loss ------------------------------------
template <typename scalar_t, typename acc_t, int G, int V>
__global__ void __launch_bounds__(kThreads) rows_kernel(DiffusionLossLaunch a, Workspace ws, int64_t segments,
                                                        int64_t items, bool small) {
  constexpr int kGroups = 32 / G;  // work items per warp and step
  const int64_t T = a.tasks;
  acc_t* slots = zeroed_slots<acc_t>(T);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int group = lane / G, glane = lane % G;
  const scalar_t* p = static_cast<const scalar_t*>(a.pred);
  const scalar_t* q = static_cast<const scalar_t*>(a.target);
  scalar_t* g = static_cast<scalar_t*>(a.grad_pred);
  const acc_t* mask = static_cast<const acc_t*>(a.mask);
  const acc_t* scale = static_cast<const acc_t*>(ws.scale);
  const int64_t C = a.channels;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kWarps * kGroups;
  // Warp-uniform loop: every lane runs the same steps, so the shuffles can use a full mask.
  for (int64_t base = (static_cast<int64_t>(blockIdx.x) * kWarps + warp) * kGroups; base < items; base += stride) {
    const int64_t item = base + group;
    const bool in = item < items;
    acc_t sum = 0, mk = 0;
    bool live = false;
    int64_t id = -1;
    if (in) {
      // 32-bit division where the sizes allow it: 64-bit division is slow on GPUs.
      int64_t row = item, start = 0;
      if (segments != 1) {
        row = small ? static_cast<int64_t>(static_cast<uint32_t>(item) / static_cast<uint32_t>(segments)) : item / segments;
        start = (item - row * segments) * kSegment;
      }
      const int64_t end = start + kSegment < C ? start + kSegment : C;
      const int64_t tok = small ? static_cast<int64_t>(static_cast<uint32_t>(row) % static_cast<uint32_t>(a.tokens))
                                : token_of_row(row, a.tokens);
      id = a.task_ids[tok];
      mk = mask != nullptr ? mask[tok] : acc_t(1);
      live = valid_task(id, T) && live_token(mk);
      const int64_t off = row * C;
      if (live) {
        const acc_t rs = scale[id] * mk;
        for (int64_t c = start + glane * V; c < end; c += G * V) {
          acc_t x[V], y[V];
          load_chunk<scalar_t, acc_t, V>(p + off + c, x);
          load_chunk<scalar_t, acc_t, V>(q + off + c, y);
#pragma unroll
          for (int j = 0; j < V; ++j) {
            sum += sq_diff(x[j], y[j]);
            x[j] = elem_grad(x[j], y[j], rs);
          }
          if (g != nullptr) store_chunk<scalar_t, acc_t, V>(g + off + c, x);
        }
      } else if (g != nullptr) {
        acc_t zero[V];
#pragma unroll
        for (int j = 0; j < V; ++j) zero[j] = acc_t(0);
        for (int64_t c = start + glane * V; c < end; c += G * V) store_chunk<scalar_t, acc_t, V>(g + off + c, zero);
      }
    }
    sum = group_sum<G>(sum);
    accumulate_by_task(slots + warp * T, id, live ? mk * sum : acc_t(0), in && live && glane == 0);
  }
  acc_t* sums = slots;
  if (!finish_blocks(slots, T, static_cast<acc_t*>(ws.num_partials), ws.counters + 1, sums)) return;
  const acc_t* weights = static_cast<const acc_t*>(a.weights);
  const acc_t* denom = static_cast<const acc_t*>(a.task_weight);
  acc_t* task_loss = static_cast<acc_t*>(a.task_loss);
  acc_t* terms = slots + T;  // slots hold kWarps * T >= 2T values
  for (int64_t t = threadIdx.x; t < T; t += blockDim.x) {
    const acc_t l = task_loss_value(sums[t], C, denom[t]);
    task_loss[t] = l;
    terms[t] = weights[t] * l;
  }
  __syncthreads();
  if (warp == 0) {
    acc_t s = 0;
    for (int64_t t = lane; t < T; t += 32) s += terms[t];
    s = warp_sum(s);
    if (lane == 0) *static_cast<acc_t*>(a.loss) = s;
  }
}

template <typename scalar_t, typename acc_t, int G>
void launch_rows(const Layout& l, const DiffusionLossLaunch& a, const Workspace& ws, size_t smem, cudaStream_t stream) {
  const bool small = l.items < (int64_t(1) << 31);
  constexpr int kVec = static_cast<int>(16 / sizeof(scalar_t));
  if (l.v == kVec) {
    rows_kernel<scalar_t, acc_t, G, kVec><<<l.b2, kThreads, smem, stream>>>(a, ws, l.segments, l.items, small);
  } else {
    rows_kernel<scalar_t, acc_t, G, 1><<<l.b2, kThreads, smem, stream>>>(a, ws, l.segments, l.items, small);
  }
}

template <typename scalar_t, typename acc_t>
cudaError_t launch_typed(const DiffusionLossLaunch& a, cudaStream_t stream) {
  const Layout l = layout_of(a);
  unsigned char* base = static_cast<unsigned char*>(a.workspace);
  Workspace ws{reinterpret_cast<unsigned int*>(base), base + l.scale, base + l.den_partials, base + l.num_partials};
  const size_t smem = sizeof(acc_t) * kWarps * static_cast<size_t>(a.tasks);
  cudaError_t err = cudaMemsetAsync(ws.counters, 0, 2 * sizeof(unsigned int), stream);
  if (err != cudaSuccess) return err;
  denominators_kernel<acc_t><<<l.b1, kThreads, smem, stream>>>(a, ws);
  if ((err = cudaGetLastError()) != cudaSuccess) return err;
  switch (l.g) {
    case 32: launch_rows<scalar_t, acc_t, 32>(l, a, ws, smem, stream); break;
    case 16: launch_rows<scalar_t, acc_t, 16>(l, a, ws, smem, stream); break;
    case 8: launch_rows<scalar_t, acc_t, 8>(l, a, ws, smem, stream); break;
    default: launch_rows<scalar_t, acc_t, 4>(l, a, ws, smem, stream); break;
  }
  return cudaGetLastError();
}

}  // namespace

size_t diffusion_loss_workspace_bytes(const DiffusionLossLaunch& a) { return layout_of(a).total; }

cudaError_t launch_diffusion_loss(const DiffusionLossLaunch& a, cudaStream_t stream) {
  if (a.tasks < 1 || a.tasks > kDiffusionMaxTasks || a.channels < 1 || a.tokens < 0 || a.repeat < 1 ||
      a.rows != a.tokens * a.repeat) {
    return cudaErrorInvalidValue;
  }
  switch (a.dtype) {
    case DiffusionDtype::Float32: return launch_typed<float, float>(a, stream);
    case DiffusionDtype::Float64: return launch_typed<double, double>(a, stream);
    case DiffusionDtype::Float16: return launch_typed<__half, float>(a, stream);
    case DiffusionDtype::BFloat16: return launch_typed<__nv_bfloat16, float>(a, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace cuda
}  // namespace unimrg
