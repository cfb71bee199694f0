// oneDNN's dnnl_sgemm, found at run time in the libdnnl that libtorch already loaded (no
// build dependency: Debian ships no oneDNN headers, and PyTorch wheels link oneDNN statically
// with its symbols hidden, where this finds nothing and "aten" is used).
#include "kernels/gemm/cpu_gemm.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace unimrg {
namespace {

// dnnl_status_t dnnl_sgemm(char transa, char transb, dnnl_dim_t M, dnnl_dim_t N, dnnl_dim_t K, float alpha,
//                          const float* A, dnnl_dim_t lda, const float* B, dnnl_dim_t ldb, float beta, float* C,
//                          dnnl_dim_t ldc), row-major; dnnl_status_t is an int enum, 0 = success.
using SgemmFn = int (*)(char, char, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                        float, float*, int64_t);

SgemmFn find_sgemm() {
  const char* env = std::getenv("UNIMRG_ONEDNN_GEMM");
  if (env && std::strcmp(env, "0") == 0) return nullptr;
  // Only a libdnnl the process already has (libtorch's), never a second copy: found among the
  // loaded objects by name, whatever its version (Debian 12's libtorch 1.13 loads libdnnl.so.2,
  // Debian 13's 2.6 libdnnl.so.3.6; oneDNN 2 and 3 keep dnnl_sgemm's signature).
  std::string path;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* out) {
        if (!info->dlpi_name || !std::strstr(info->dlpi_name, "/libdnnl.so")) return 0;
        *static_cast<std::string*>(out) = info->dlpi_name;
        return 1;
      },
      &path);
  void* lib = path.empty() ? nullptr : dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  return reinterpret_cast<SgemmFn>(lib ? dlsym(lib, "dnnl_sgemm") : nullptr);
}

SgemmFn sgemm() {
  static const SgemmFn fn = find_sgemm();
  return fn;
}

bool cpu_f32(const at::Tensor& t, int64_t dim) { return t.dim() == dim && cpu_float32(t); }

// A [rows, cols] matrix as BLAS sees it: stored row-major (trans = false, ld = row stride) or
// as the transpose of a row-major [cols, rows] matrix (trans = true, ld = column stride).
struct Operand {
  bool ok, trans;
  int64_t ld;
};

Operand operand(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride) {
  if (col_stride == 1 && (rows <= 1 || row_stride >= cols)) return {true, false, std::max<int64_t>(row_stride, cols)};
  if (row_stride == 1 && (cols <= 1 || col_stride >= rows)) return {true, true, std::max<int64_t>(col_stride, rows)};
  return {false, false, 0};
}

// The last two dimensions of t as one matrix.
Operand operand(const at::Tensor& t) {
  const int64_t d = t.dim();
  return operand(t.size(d - 2), t.size(d - 1), t.stride(d - 2), t.stride(d - 1));
}

void check_status(int status, int64_t M, int64_t N, int64_t K) {
  TORCH_CHECK(status == 0, "oneDNN dnnl_sgemm failed with status ", status, " (M=", M, ", N=", N, ", K=", K,
              "); set UNIMRG_ONEDNN_GEMM=0 to use libtorch's BLAS");
}

}  // namespace

bool onednn_gemm_available() { return sgemm() != nullptr; }

bool cpu_float32(const at::Tensor& t) {
  return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.layout() == at::kStrided && !t.is_conj() &&
         !t.is_neg();
}

const char* cpu_gemm_backend() { return onednn_gemm_available() ? "onednn" : "aten"; }

bool onednn_mm(const at::Tensor& a, const at::Tensor& b, at::Tensor& out, float beta) {
  if (!onednn_gemm_available() || !cpu_f32(a, 2) || !cpu_f32(b, 2) || !cpu_f32(out, 2)) return false;
  const int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  if (b.size(0) != K || out.size(0) != M || out.size(1) != N || M == 0 || N == 0 || K == 0) return false;
  const Operand A = operand(a), B = operand(b), C = operand(out);
  if (!A.ok || !B.ok || !C.ok || C.trans) return false;
  check_status(sgemm()(A.trans ? 'T' : 'N', B.trans ? 'T' : 'N', M, N, K, 1.f, a.data_ptr<float>(), A.ld,
                       b.data_ptr<float>(), B.ld, beta, out.data_ptr<float>(), C.ld), M, N, K);
  return true;
}

namespace {

// out[i] = a[i] · b[i] for stacks whose shapes onednn_product checked; false when a layout does not fit.
bool stacked_mm(const at::Tensor& a, const at::Tensor& b, at::Tensor& out) {
  const int64_t batch = a.size(0), M = a.size(1), K = a.size(2), N = b.size(2);
  const Operand A = operand(a), B = operand(b), C = operand(out);
  if (!A.ok || !B.ok || !C.ok || C.trans) return false;
  const float *pa = a.data_ptr<float>(), *pb = b.data_ptr<float>();
  float* pc = out.data_ptr<float>();
  const char ta = A.trans ? 'T' : 'N', tb = B.trans ? 'T' : 'N';
  auto one = [&](int64_t i) {
    check_status(sgemm()(ta, tb, M, N, K, 1.f, pa + i * a.stride(0), A.ld, pb + i * b.stride(0), B.ld, 0.f,
                         pc + i * out.stride(0), C.ld), M, N, K);
  };
  if (batch >= at::get_num_threads()) {
    // Inside a parallel region oneDNN runs each GEMM on the calling thread.
    at::parallel_for(0, batch, 1, [&](int64_t begin, int64_t end) { for (int64_t i = begin; i < end; i++) one(i); });
  } else {
    for (int64_t i = 0; i < batch; i++) one(i);
  }
  return true;
}

}  // namespace

at::Tensor onednn_product(const at::Tensor& a, const at::Tensor& b, const at::Tensor& bias) {
  const int64_t d = a.dim();
  if (!onednn_gemm_available() || !cpu_float32(a) || !cpu_float32(b) || (d != 2 && d != 3) || b.dim() != d) return {};
  if (a.size(-1) != b.size(-2) || a.numel() == 0 || b.numel() == 0 || (d == 3 && a.size(0) != b.size(0))) return {};
  const int64_t N = b.size(-1);
  if (bias.defined() && (d != 2 || !cpu_float32(bias) || bias.dim() != 1 || bias.size(0) != N)) return {};
  std::vector<int64_t> shape(a.sizes().begin(), a.sizes().end() - 1);
  shape.push_back(N);
  at::Tensor out = at::empty(shape, a.options());
  const float beta = bias.defined() ? 1.f : 0.f;
  if (bias.defined()) out.copy_(bias.expand_as(out));
  auto run = [&](const at::Tensor& x, const at::Tensor& y) { return d == 2 ? onednn_mm(x, y, out, beta) : stacked_mm(x, y, out); };
  if (!run(a, b)) TORCH_CHECK(run(a.contiguous(), b.contiguous()), "oneDNN refused a float32 GEMM of contiguous operands");
  return out;
}

}  // namespace unimrg
