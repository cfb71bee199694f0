// oneDNN's dnnl_sgemm, found at run time in the libdnnl.so.2 that libtorch already loaded (no
// build dependency: Debian ships no oneDNN headers, and PyTorch wheels link oneDNN statically
// with its symbols hidden, where this finds nothing and "aten" is used).
#include "kernels/cpu_gemm.h"

#include <c10/util/Exception.h>
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>

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
  // RTLD_NOLOAD: only a libdnnl the process already has (libtorch's), never a second copy.
  void* lib = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_NOLOAD);
  return reinterpret_cast<SgemmFn>(lib ? dlsym(lib, "dnnl_sgemm") : nullptr);
}

SgemmFn sgemm() {
  static const SgemmFn fn = find_sgemm();
  return fn;
}

bool cpu_f32_matrix(const at::Tensor& t) {
  return t.dim() == 2 && t.device().is_cpu() && t.scalar_type() == at::kFloat && t.layout() == at::kStrided &&
         !t.is_conj() && !t.is_neg();
}

// A [rows, cols] matrix as BLAS sees it: stored row-major (trans = false, ld = row stride) or
// as the transpose of a row-major [cols, rows] matrix (trans = true, ld = column stride).
struct Operand {
  bool ok, trans;
  int64_t ld;
};

Operand operand(const at::Tensor& t) {
  const int64_t rows = t.size(0), cols = t.size(1);
  if (t.stride(1) == 1 && (rows <= 1 || t.stride(0) >= cols)) return {true, false, std::max<int64_t>(t.stride(0), cols)};
  if (t.stride(0) == 1 && (cols <= 1 || t.stride(1) >= rows)) return {true, true, std::max<int64_t>(t.stride(1), rows)};
  return {false, false, 0};
}

}  // namespace

bool onednn_gemm_available() { return sgemm() != nullptr; }

const char* cpu_gemm_backend() { return onednn_gemm_available() ? "onednn" : "aten"; }

bool onednn_mm(const at::Tensor& a, const at::Tensor& b, at::Tensor& out, float beta) {
  if (!onednn_gemm_available() || !cpu_f32_matrix(a) || !cpu_f32_matrix(b) || !cpu_f32_matrix(out)) return false;
  const int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  if (b.size(0) != K || out.size(0) != M || out.size(1) != N || M == 0 || N == 0 || K == 0) return false;
  const Operand A = operand(a), B = operand(b), C = operand(out);
  if (!A.ok || !B.ok || !C.ok || C.trans) return false;
  const int status = sgemm()(A.trans ? 'T' : 'N', B.trans ? 'T' : 'N', M, N, K, 1.f, a.data_ptr<float>(), A.ld,
                             b.data_ptr<float>(), B.ld, beta, out.data_ptr<float>(), C.ld);
  TORCH_CHECK(status == 0, "oneDNN dnnl_sgemm failed with status ", status, " (M=", M, ", N=", N, ", K=", K,
              "); set UNIMRG_ONEDNN_GEMM=0 to use libtorch's BLAS");
  return true;
}

}  // namespace unimrg
