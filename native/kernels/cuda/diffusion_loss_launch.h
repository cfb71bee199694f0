// The CUDA launcher of unimrg::multitask_diffusion_loss: plain pointers, sizes and a stream, so
// that diffusion_loss.cu needs no ATen header (it compiles to sm_80/sm_90 objects even where
// libtorch is CPU-only). The libtorch glue is diffusion_loss_cuda.cc.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace unimrg {
namespace cuda {

/** Element type of pred / target / grad_pred. acc is double for Float64, float otherwise. */
enum class DiffusionDtype : int { Float32 = 0, Float64 = 1, Float16 = 2, BFloat16 = 3 };

struct DiffusionLossLaunch {
  DiffusionDtype dtype;
  const void* pred;          // [rows, channels], contiguous
  const void* target;        // [rows, channels], contiguous
  void* grad_pred;           // [rows, channels] or nullptr: d loss / d pred
  const int64_t* task_ids;   // [tokens]; ids outside [0, tasks) contribute nothing
  const void* mask;          // [tokens] acc, or nullptr for all ones
  const void* weights;       // [tasks] acc
  const void* denominators;  // [tasks] acc, or nullptr for repeat * (mask sum of the task)
  int64_t rows, tokens, channels, tasks, repeat;  // rows = tokens * repeat, draw-major
  void* loss;                // [] acc
  void* task_loss;           // [tasks] acc
  void* task_weight;         // [tasks] acc: the denominators used
  void* workspace;           // diffusion_loss_workspace_bytes() bytes, any content, 16-byte aligned
};

/** The most tasks the CUDA kernels take (per-warp, per-task sums live in shared memory). */
constexpr int64_t kDiffusionMaxTasks = 512;

/** Bytes of scratch device memory the launch needs; ask with every other field already set
 *  (the work split depends on the sizes and on the alignment of pred, target and grad_pred). */
size_t diffusion_loss_workspace_bytes(const DiffusionLossLaunch& a);

/** Queues the kernels on stream; never synchronises. Returns the first launch error. */
cudaError_t launch_diffusion_loss(const DiffusionLossLaunch& a, cudaStream_t stream);

}  // namespace cuda
}  // namespace unimrg
