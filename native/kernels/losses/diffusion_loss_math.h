// Per-element and per-task math of the multitask diffusion loss, shared by the CPU kernel
// (diffusion_loss_cpu.cc) and the CUDA kernel (cuda/diffusion_loss.cu), so the CPU tests
// exercise the same formulas the GPU runs. Plain C++: no ATen, no CUDA headers.
//
//   L_t  = (sum over rows r of task t: m_i * |pred_r - target_r|^2 / C) / D_t   (0 when D_t = 0)
//   loss = sum_t w_t L_t
//   dloss/dpred_r = w_t m_i 2 (pred_r - target_r) / (C D_t)
//
// Rows are draw-major: row r = d * N + i holds noise draw d of token i (what x.repeat(k, 1)
// gives), so the token of a row is r mod N.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define UNIMRG_HD __host__ __device__
#else
#define UNIMRG_HD
#endif

namespace unimrg {
namespace diffusion {

/** Rows of one noise draw before the next draw starts (see above). */
UNIMRG_HD inline int64_t token_of_row(int64_t row, int64_t tokens) { return row % tokens; }

/** A task id that indexes weights; anything else contributes nothing (CPU rejects it first). */
UNIMRG_HD inline bool valid_task(int64_t id, int64_t tasks) { return id >= 0 && id < tasks; }

/** The denominator used for task t: the caller's, or k times the task's mask sum. */
template <typename acc_t>
UNIMRG_HD inline acc_t task_denominator(acc_t mask_sum, int64_t repeat) {
  return mask_sum * static_cast<acc_t>(repeat);
}

/** d loss / d pred = scale * m_i * (pred - target), with scale = 2 w_t / (C D_t); 0 for D_t = 0. */
template <typename acc_t>
UNIMRG_HD inline acc_t grad_scale(acc_t weight, int64_t channels, acc_t denom) {
  return denom != acc_t(0) ? acc_t(2) * weight / (static_cast<acc_t>(channels) * denom) : acc_t(0);
}

/** L_t from the masked sum of squared errors over the task's rows: 0 when D_t = 0, never NaN. */
template <typename acc_t>
UNIMRG_HD inline acc_t task_loss_value(acc_t masked_sq_sum, int64_t channels, acc_t denom) {
  return denom != acc_t(0) ? masked_sq_sum / (static_cast<acc_t>(channels) * denom) : acc_t(0);
}

/** A token with mask 0 is skipped outright, so inf/NaN in a masked row cannot leak into the loss. */
template <typename acc_t>
UNIMRG_HD inline bool live_token(acc_t mask) { return mask != acc_t(0); }

/** Squared difference and the gradient of one element (d = pred - target). */
template <typename acc_t>
UNIMRG_HD inline acc_t sq_diff(acc_t pred, acc_t target) {
  const acc_t d = pred - target;
  return d * d;
}
template <typename acc_t>
UNIMRG_HD inline acc_t elem_grad(acc_t pred, acc_t target, acc_t row_scale) {
  return row_scale * (pred - target);
}

/** Elements of a row handled by one work item: long rows (flow matching on whole latents) are
 *  split so that a few huge rows still spread over every core / SM. */
UNIMRG_HD inline int64_t segments_per_row(int64_t channels, int64_t segment) {
  return (channels + segment - 1) / segment;
}

}  // namespace diffusion
}  // namespace unimrg
