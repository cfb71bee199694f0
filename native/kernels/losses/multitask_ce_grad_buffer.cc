// Where the fused cross-entropy writes d loss / d logits: the logits themselves (inplace), or a
// new [N, V] buffer. On the CPU a large buffer comes from our own small cache of mappings advised
// for transparent huge pages, because first-touching fresh 4 KiB pages is what an N x V gradient
// costs most on virtual machines (measured on the 2-core VM: ~1 s for 256 MiB, ~30 ms with 2 MiB
// pages, and nothing at all for a mapping reused from the previous step; docs/kernels.md).
//   UNIMRG_CE_HUGEPAGES=0   plain at::empty (libtorch's allocator), no mapping, no cache
//   UNIMRG_CE_GRAD_CACHE=0  huge pages but no cache (every gradient is a fresh mapping)
// The cache keeps one freed buffer (the last step's gradient, handed back on the next step, so a
// training loop holds one N x V buffer whether in use or not) of at most UNIMRG_CE_GRAD_CACHE_MB
// MiB (default 8192); it is reused for a request between half its size and its size.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "kernels/losses/multitask_ce.h"

namespace unimrg {

namespace {

#if defined(__linux__) && defined(MADV_HUGEPAGE)
constexpr size_t kHuge = size_t(2) << 20;
constexpr size_t kMinBytes = 16 * kHuge;  // below 32 MiB libtorch's allocator is fine
constexpr size_t kMaxCached = 1;

bool env_off(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && std::strcmp(v, "0") == 0;
}

size_t cache_limit_bytes() {
  const char* v = std::getenv("UNIMRG_CE_GRAD_CACHE_MB");
  const long long mb = v != nullptr ? std::atoll(v) : 8192;
  return mb > 0 ? static_cast<size_t>(mb) << 20 : 0;
}

/** A mapping: base and length as mmap gave them, and the 2 MiB aligned start handed out. */
struct Block {
  void* base;
  size_t len;
  void* data;
  size_t usable;
};

class GradCache {
 public:
  /** A block of at least nbytes, reused or freshly mapped; nullptr when mmap fails. */
  Block take(size_t nbytes) {
    if (!env_off("UNIMRG_CE_GRAD_CACHE")) {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < free_.size(); ++i) {
        if (free_[i].usable >= nbytes && free_[i].usable / 2 <= nbytes) {
          Block b = free_[i];
          free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
          cached_ -= b.len;
          return b;
        }
      }
    }
    const size_t usable = (nbytes + kHuge - 1) & ~(kHuge - 1);
    const size_t len = usable + kHuge;
    void* base = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return Block{nullptr, 0, nullptr, 0};
    void* data = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(base) + kHuge - 1) & ~(kHuge - 1));
    madvise(data, usable, MADV_HUGEPAGE);
    return Block{base, len, data, usable};
  }

  /** Called when the gradient tensor dies: keep the mapping for the next step, or unmap it. */
  void give_back(const Block& b) {
    if (!env_off("UNIMRG_CE_GRAD_CACHE")) {
      std::lock_guard<std::mutex> lock(mu_);
      const size_t limit = cache_limit_bytes();
      while (!free_.empty() && (free_.size() >= kMaxCached || cached_ + b.len > limit)) {
        munmap(free_.front().base, free_.front().len);  // the oldest goes first
        cached_ -= free_.front().len;
        free_.erase(free_.begin());
      }
      if (cached_ + b.len <= limit) {
        free_.push_back(b);
        cached_ += b.len;
        return;
      }
    }
    munmap(b.base, b.len);
  }

 private:
  std::mutex mu_;
  std::vector<Block> free_;
  size_t cached_ = 0;
};

// Never destroyed: gradients may die during static destruction at exit.
GradCache& cache() {
  static GradCache* c = new GradCache();
  return *c;
}
#endif

at::Tensor empty_cpu_grad(at::IntArrayRef sizes, const at::TensorOptions& opts, size_t nbytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (nbytes >= kMinBytes && !env_off("UNIMRG_CE_HUGEPAGES")) {
    const Block b = cache().take(nbytes);
    if (b.base != nullptr) {
      return at::from_blob(
          b.data, sizes, [b](void*) { cache().give_back(b); }, opts);
    }
  }
#endif
  return at::empty(sizes, opts);
}

}  // namespace

at::Tensor ce_grad_buffer(const at::Tensor& x, bool inplace) {
  if (inplace) return x;
  const int64_t N = x.size(0), V = x.size(1);
  if (x.is_cpu()) return empty_cpu_grad({N, V}, x.options(), static_cast<size_t>(N * V) * x.element_size());
  return at::empty({N, V}, x.options());
}

}  // namespace unimrg
