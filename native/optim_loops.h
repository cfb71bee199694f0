// Fused per-element optimiser loops on contiguous float32 buffers (native/optim_loops.cc).
#pragma once
#include <cstdint>

namespace unimrg {

// AdamW (decoupled decay folded into `decay` = 1 - lr*wd); `sign` is -1 to maximise.
void adamw_f32(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v, int64_t n,
               float decay, float beta1, float one_minus_beta1, float beta2, float one_minus_beta2,
               float inv_bc2_sqrt, float eps, float neg_step_size, float sign);

// SGD with momentum, dampening and Nesterov as torch.optim.SGD; `first` starts the buffer.
void sgd_f32(float* __restrict p, const float* __restrict g, float* __restrict buf, int64_t n, float lr, float wd,
             float momentum, float one_minus_dampening, bool first, bool nesterov, float sign);

// Σ g², float blocks summed in double.
double sum_squares_f32(const float* __restrict g, int64_t n);

}  // namespace unimrg
