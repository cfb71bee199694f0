// Float32 GEMM on the CPU through oneDNN's BLAS-like dnnl_sgemm, when the process has it.
// Debian's libtorch links libdnnl.so.2 but sends float32 matmul to OpenBLAS; oneDNN picks its
// kernels from the CPU it finds (AVX-512 where present) and on the 2-core machine runs the
// transformer's GEMM shapes about twice as fast as OpenBLAS's Haswell kernels (bench/gemm.ts).
#pragma once
#include <ATen/core/Tensor.h>

namespace unimrg {

// Where float32 CPU GEMMs of unimrg's own ops (linear, matmul, the linear CE) go: "onednn" (libdnnl.so.2 is loaded and
// UNIMRG_ONEDNN_GEMM is not 0) or "aten" (libtorch's BLAS).
const char* cpu_gemm_backend();
bool onednn_gemm_available();
// A dense float32 CPU tensor (what oneDNN's sgemm can read).
bool cpu_float32(const at::Tensor& t);

// out = a · b + beta · out for float32 CPU matrices a [M, K], b [K, N], out [M, N], each either
// row-major or a transposed row-major view (a weight's .t()), out row-major. Returns false, having
// done nothing, when oneDNN is off or a layout does not fit; the caller then uses ATen.
bool onednn_mm(const at::Tensor& a, const at::Tensor& b, at::Tensor& out, float beta);

// a · b (+ bias broadcast over the rows) as a new tensor: matrices, 2-D a [M, K] · b [K, N] →
// [M, N], or stacks, 3-D a [B, M, K] · b [B, K, N] → [B, M, N] (any batch stride; many small
// matrices run one per thread, fewer than the threads each use them all). Operands in a layout
// BLAS cannot read as they are are copied contiguous first. Undefined when oneDNN is off or the
// operands are not float32 CPU tensors of those shapes (the bias: 1-D [N], matrices only).
at::Tensor onednn_product(const at::Tensor& a, const at::Tensor& b, const at::Tensor& bias = {});

}  // namespace unimrg
