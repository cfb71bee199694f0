// The CUDA registration of unimrg::multitask_cross_entropy (compiled only where libtorch has
// CUDA): argument checks, buffers, the current stream, and the kernels of multitask_ce.cu.
// Nothing here waits on the device: counts, denominators and the reduction stay on the GPU.
//
// Bad targets / task ids cannot be checked without a sync, so the kernels record the first one
// in a per-device flag and make the loss NaN. The flag is copied back asynchronously into pinned
// memory after each call; the next call on that device reads it once the copy has landed and
// throws a TorchError naming the token. UNIMRG_CE_SYNC_CHECK=1 checks right away (it syncs).
#include <ATen/ATen.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>  // at::cuda::getCurrentCUDAStream is this one; lighter than CUDAContext.h
#include <torch/library.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "kernels/losses/multitask_ce.h"
#include "kernels/cuda/multitask_ce_launch.h"
#include "kernels/losses/multitask_ce_math.h"
#include "kernels/losses/nonnegative.h"

namespace unimrg {

namespace {

using OptTensor = c10::optional<at::Tensor>;

/** The lazily checked error flag of one device. */
struct DeviceErrors {
  std::mutex mu;
  at::Tensor flag;           // int64 [4] on the device
  int64_t* host = nullptr;   // pinned copy
  cudaEvent_t copied = nullptr;
  bool pending = false;
};

// Never destroyed: a CUDA tensor freed by a static destructor at exit would reach libtorch's
// caching allocator after its own teardown (a crash at interpreter exit in Python).
DeviceErrors& errors_of(int device) {
  static std::mutex* mu = new std::mutex();
  static auto* all = new std::vector<DeviceErrors*>();
  std::lock_guard<std::mutex> lock(*mu);
  if (static_cast<int>(all->size()) <= device) all->resize(device + 1, nullptr);
  if ((*all)[device] == nullptr) (*all)[device] = new DeviceErrors();
  return *(*all)[device];
}

[[noreturn]] void throw_recorded(const int64_t* e, bool earlier) {
  const char* when = earlier ? " (found by an earlier call on this device, whose loss was NaN)" : "";
  if (e[0] == ce_cuda::kBadTask) {
    TORCH_CHECK(false, "multitask_cross_entropy: task id ", e[2], " at position ", e[1], " is out of range for ",
                e[3], " tasks", when);
  }
  TORCH_CHECK(false, "multitask_cross_entropy: target ", e[2], " at position ", e[1], " is out of range for ", e[3],
              " classes", when);
}

bool sync_check_enabled() {
  const char* v = std::getenv("UNIMRG_CE_SYNC_CHECK");
  return v != nullptr && std::strcmp(v, "0") != 0 && v[0] != '\0';
}

/** Throws what an earlier call recorded, if its copy has landed; returns the flag to use. */
int64_t* prepare_errors(DeviceErrors& d, const at::Device& device) {
  if (!d.flag.defined()) {
    d.flag = at::zeros({4}, at::TensorOptions().dtype(at::kLong).device(device));
    C10_CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&d.host), 4 * sizeof(int64_t), cudaHostAllocDefault));
    std::memset(d.host, 0, 4 * sizeof(int64_t));
    C10_CUDA_CHECK(cudaEventCreateWithFlags(&d.copied, cudaEventDisableTiming));
  }
  if (d.pending && cudaEventQuery(d.copied) == cudaSuccess) {
    d.pending = false;
    if (d.host[0] != ce_cuda::kNoError) {
      int64_t e[4];
      std::memcpy(e, d.host, sizeof e);
      std::memset(d.host, 0, sizeof e);
      d.flag.zero_();
      throw_recorded(e, true);
    }
  }
  return d.flag.data_ptr<int64_t>();
}

void after_launch(DeviceErrors& d, cudaStream_t stream) {
  C10_CUDA_CHECK(cudaMemcpyAsync(d.host, d.flag.data_ptr<int64_t>(), 4 * sizeof(int64_t), cudaMemcpyDeviceToHost,
                                 stream));
  C10_CUDA_CHECK(cudaEventRecord(d.copied, stream));
  d.pending = true;
  if (sync_check_enabled()) {
    C10_CUDA_CHECK(cudaEventSynchronize(d.copied));
    d.pending = false;
    if (d.host[0] != ce_cuda::kNoError) {
      int64_t e[4];
      std::memcpy(e, d.host, sizeof e);
      std::memset(d.host, 0, sizeof e);
      d.flag.zero_();
      throw_recorded(e, false);
    }
  }
}

ce_cuda::DType dtype_of(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return ce_cuda::DType::kFloat;
    case at::kHalf: return ce_cuda::DType::kHalf;
    case at::kBFloat16: return ce_cuda::DType::kBFloat16;
    default: TORCH_CHECK(false, "multitask_cross_entropy: on CUDA logits must be float32, float16 or bfloat16, got ", t);
  }
}

}  // namespace

CeOutputs multitask_ce_forward_cuda(const at::Tensor& logits, const at::Tensor& targets_in,
                                    const at::Tensor& task_ids_in, const at::Tensor& weights_in,
                                    int64_t ignore_index, double label_smoothing, double z_loss,
                                    const OptTensor& denominators_in, c10::string_view reduction_s, bool inplace,
                                    bool compute_grad) {
  const CeSizes sz = check_ce_args(logits, targets_in, task_ids_in, weights_in, label_smoothing, z_loss,
                                   denominators_in, reduction_s);
  const int64_t N = sz.rows, T = sz.tasks;
  const c10::cuda::CUDAGuard guard(logits.device());
  const auto f32 = logits.options().dtype(at::kFloat);

  const at::Tensor x = ce_kernel_logits(logits, inplace && compute_grad);
  at::Tensor grad = compute_grad ? ce_grad_buffer(x, inplace) : at::Tensor();
  const at::Tensor targets = targets_in.to(at::kLong).contiguous();
  const at::Tensor task_ids = task_ids_in.to(at::kLong).contiguous();
  const at::Tensor weights = weights_in.to(at::kFloat).contiguous();
  const bool has_denom = denominators_in.has_value() && denominators_in->defined();
  // Negative denominators become NaN on the stream (reading them here would sync): see nonnegative.h.
  const at::Tensor denoms =
      has_denom ? checked_nonnegative(denominators_in->to(at::kFloat).contiguous(), "multitask_cross_entropy",
                                      "denominators")
                : at::Tensor();
  at::Tensor counts = at::empty({T}, logits.options().dtype(at::kLong));
  at::Tensor task_sum = at::empty({T + 1}, f32);
  at::Tensor row_loss = at::empty({N}, f32);

  DeviceErrors& errs = errors_of(logits.device().index());
  std::lock_guard<std::mutex> lock(errs.mu);
  ce_cuda::LaunchArgs a{};
  a.logits = x.data_ptr();
  a.logits_ld = x.stride(0);
  a.targets = targets.data_ptr<int64_t>();
  a.task_ids = task_ids.data_ptr<int64_t>();
  a.weights = weights.data_ptr<float>();
  a.denominators = has_denom ? denoms.data_ptr<float>() : nullptr;
  a.rows = N;
  a.vocab = sz.vocab;
  a.tasks = T;
  a.ignore_index = ignore_index;
  a.label_smoothing = static_cast<float>(label_smoothing);
  a.z_loss = static_cast<float>(z_loss);
  a.reduction = sz.reduction;
  a.dtype = dtype_of(x.scalar_type());
  a.grad = compute_grad ? grad.data_ptr() : nullptr;
  a.grad_ld = compute_grad ? grad.stride(0) : 0;
  a.counts = counts.data_ptr<int64_t>();
  a.task_sum = task_sum.data_ptr<float>();
  a.row_loss = row_loss.data_ptr<float>();
  a.error = prepare_errors(errs, logits.device());
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  C10_CUDA_CHECK(ce_cuda::launch_multitask_ce(a, stream));
  after_launch(errs, stream);

  // The reduction, queued on the same stream (ATen ops, no sync).
  const at::Tensor S = task_sum.narrow(0, 0, T);
  const at::Tensor poison = task_sum.narrow(0, T, 1).squeeze(0);  // 0, or NaN after a bad token
  const at::Tensor D = has_denom ? denoms : counts.to(at::kFloat);
  const at::Tensor nonzero = D != 0;
  const at::Tensor task_loss = at::where(nonzero, S / D, at::zeros_like(S));
  at::Tensor loss;
  if (sz.reduction == ce::kNone) {
    const at::Tensor scale = at::where(nonzero, weights / D, at::zeros_like(weights));
    const at::Tensor idx = at::where(targets != ignore_index, task_ids, at::zeros_like(task_ids)).clamp_(0, T - 1);
    loss = row_loss * scale.index_select(0, idx);
  } else {
    loss = (weights * (sz.reduction == ce::kSum ? S : task_loss)).sum().add_(poison);
  }
  return CeOutputs(loss, task_loss, counts, row_loss, grad);
}

namespace {

// unimrg::_multitask_cross_entropy_scale_: backward's in-place scaling, without a sync.
at::Tensor& scale_grad_cuda(at::Tensor& grad, const at::Tensor& grad_output) {
  TORCH_CHECK(grad.dim() == 2 && (grad.size(1) <= 1 || grad.stride(1) == 1),
              "multitask_cross_entropy: the saved gradient must be [N, V] with unit column stride");
  const bool per_row = grad_output.dim() == 1;
  TORCH_CHECK(!per_row || grad_output.size(0) == grad.size(0), "multitask_cross_entropy: grad_output has ",
              grad_output.numel(), " elements for ", grad.size(0), " rows");
  const c10::cuda::CUDAGuard guard(grad.device());
  const at::Tensor f = grad_output.to(grad.device(), at::kFloat).contiguous();
  C10_CUDA_CHECK(ce_cuda::launch_scale_rows(grad.data_ptr(), grad.stride(0), grad.size(0), grad.size(1),
                                            dtype_of(grad.scalar_type()), f.data_ptr<float>(), per_row,
                                            c10::cuda::getCurrentCUDAStream()));
  return grad;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> multitask_ce_cuda(const at::Tensor& logits, const at::Tensor& targets,
                                                                 const at::Tensor& task_ids, const at::Tensor& weights,
                                                                 int64_t ignore_index, double label_smoothing,
                                                                 double z_loss, const OptTensor& denominators,
                                                                 c10::string_view reduction, bool inplace) {
  auto o = multitask_ce_forward_cuda(logits, targets, task_ids, weights, ignore_index, label_smoothing, z_loss,
                                     denominators, reduction, inplace, /*compute_grad=*/false);
  return std::make_tuple(std::get<0>(o), std::get<1>(o), std::get<2>(o));
}

}  // namespace

TORCH_LIBRARY_IMPL(unimrg, CUDA, m) {
  m.impl("multitask_cross_entropy", TORCH_FN(multitask_ce_cuda));
  m.impl("_multitask_cross_entropy_fused", TORCH_FN(multitask_ce_forward_cuda));
  m.impl("_multitask_cross_entropy_scale_", TORCH_FN(scale_grad_cuda));
}

}  // namespace unimrg
