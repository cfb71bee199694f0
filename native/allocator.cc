// A caching CPU allocator. libtorch allocates every activation and gradient afresh; glibc serves
// large blocks with mmap and returns them to the OS on free, so every training step pays the
// first-touch page faults again (~1.4 ms per MB on the 2-core machines). This allocator keeps
// freed blocks of 64 KiB and more in size-bucketed free lists (4 buckets per power of two, so
// at most 25% slack), asks for transparent huge pages on blocks of 2 MiB and more, and frees
// blocks instead of caching them once the cache would pass a cap.
//
// One process-wide instance (c10's allocator registry is process-wide), installed at the first
// addon load unless UNIMRG_CACHING_ALLOCATOR=0; cap in MiB from UNIMRG_ALLOCATOR_CACHE_MB
// (default 2048). All state is behind one mutex: tensors may be freed on any thread (worker
// threads, libtorch's autograd and intra-op threads). Blocks allocated before installation keep
// their own deleter, so switching allocators mid-process is safe.
#include <c10/core/CPUAllocator.h>
#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "errors.h"
#include "state.h"

namespace unimrg {
namespace {

constexpr size_t kMinCached = 64 << 10;   // smaller requests go straight to the C heap
constexpr size_t kHuge = 2 << 20;         // MADV_HUGEPAGE from here
constexpr size_t kAlign = 64;             // c10's own alignment

struct Stats {
  uint64_t in_use = 0, cached = 0, peak_in_use = 0, cap = 0;
  uint64_t hits = 0, misses = 0, released = 0, releases = 0;
};

class CachingCPUAllocator final : public c10::Allocator {
 public:
  explicit CachingCPUAllocator(size_t cap) { stats_.cap = cap; }

  // c10::Allocator::allocate is const in libtorch 1.13 and non-const in 2.6: one of these two
  // overrides the pure virtual (without `override`, which would fail on the other version); if
  // neither did, the `new` below would not compile.
  c10::DataPtr allocate(size_t n) const { return allocate_block(n); }
  c10::DataPtr allocate(size_t n) { return allocate_block(n); }
  c10::DataPtr allocate_block(size_t n) const {
    if (n > 0 && n < kMinCached) {
      // Small blocks: the C heap recycles them well; no lock, no bookkeeping.
      void* p = nullptr;
      if (posix_memalign(&p, kAlign, n) != 0 || p == nullptr) throw_oom(n);
      return {p, p, &std::free, c10::Device(c10::DeviceType::CPU)};
    }
    void* p = const_cast<CachingCPUAllocator*>(this)->get(n);
    return {p, p, &CachingCPUAllocator::free_block, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &CachingCPUAllocator::free_block; }
  // libtorch >= 2.3 asks allocators to copy; older versions never call it.
  void copy_data(void* dst, const void* src, size_t n) const { std::memcpy(dst, src, n); }

  static CachingCPUAllocator* instance;

  Stats stats() {
    std::lock_guard<std::mutex> g(mu_);
    return stats_;
  }

  /** Frees every cached block; returns the bytes given back. */
  uint64_t empty_cache() {
    std::vector<std::pair<void*, size_t>> drop;
    {
      std::lock_guard<std::mutex> g(mu_);
      for (auto& [size, list] : free_) {
        for (void* p : list) drop.emplace_back(p, size);
        list.clear();
      }
      uint64_t bytes = 0;
      for (auto& d : drop) bytes += d.second;
      stats_.cached -= bytes;
      stats_.released += bytes;
      stats_.releases += drop.size();
    }
    uint64_t total = 0;
    for (auto& d : drop) { std::free(d.first); total += d.second; }
    return total;
  }

 private:
  // Size classes: 4 per power of two (1, 1.25, 1.5, 1.75 × 2^k), rounded to the alignment.
  static size_t bucket(size_t n) {
    size_t p = size_t(1) << (63 - __builtin_clzll(static_cast<unsigned long long>(n)));
    size_t step = p / 4;
    return (n + step - 1) / step * step;
  }

  static void* raw_alloc(size_t size) {
    void* p = nullptr;
    size_t align = size >= kHuge ? kHuge : kAlign;
    if (posix_memalign(&p, align, size) != 0 || p == nullptr) return nullptr;
#ifdef MADV_HUGEPAGE
    if (size >= kHuge) madvise(p, size, MADV_HUGEPAGE);
#endif
    return p;
  }

  void* get(size_t n) {
    if (n == 0) return nullptr;
    size_t size = bucket(n);
    {
      std::lock_guard<std::mutex> g(mu_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        sizes_[p] = size;
        stats_.cached -= size;
        note_use(size);
        stats_.hits++;
        return p;
      }
    }
    void* p = raw_alloc(size);
    if (p == nullptr) {
      empty_cache();  // give the cache back and try once more before failing
      p = raw_alloc(size);
      if (p == nullptr) throw_oom(n);
    }
    std::lock_guard<std::mutex> g(mu_);
    sizes_[p] = size;
    note_use(size);
    stats_.misses++;
    return p;
  }

  void note_use(size_t size) {
    stats_.in_use += size;
    if (stats_.in_use > stats_.peak_in_use) stats_.peak_in_use = stats_.in_use;
  }

  void put(void* p) {
    if (p == nullptr) return;
    size_t size;
    bool keep;
    {
      std::lock_guard<std::mutex> g(mu_);
      auto it = sizes_.find(p);
      if (it == sizes_.end()) {
        // A small block (raw_deallocate): it came from the C heap.
        size = 0;
        keep = false;
      } else {
        size = it->second;
        sizes_.erase(it);
        keep = size > 0 && stats_.cached + size <= stats_.cap;
        if (size > 0) stats_.in_use -= size;
        if (keep) {
          free_[size].push_back(p);
          stats_.cached += size;
        } else if (size > 0) {
          stats_.released += size;
          stats_.releases++;
        }
      }
    }
    if (!keep) std::free(p);
  }

  [[noreturn]] static void throw_oom(size_t n) {
    TORCH_CHECK(false, "unimrg caching allocator: out of memory allocating ", n, " bytes");
  }

  static void free_block(void* p) { instance->put(p); }

  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  std::unordered_map<void*, size_t> sizes_;
  Stats stats_;
};

CachingCPUAllocator* CachingCPUAllocator::instance = nullptr;

bool env_off() {
  const char* v = std::getenv("UNIMRG_CACHING_ALLOCATOR");
  return v && (std::strcmp(v, "0") == 0 || std::strcmp(v, "false") == 0 || std::strcmp(v, "off") == 0);
}

void install_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (env_off()) return;
    size_t cap_mb = 2048;
    if (const char* c = std::getenv("UNIMRG_ALLOCATOR_CACHE_MB")) cap_mb = static_cast<size_t>(std::strtoull(c, nullptr, 10));
    // Never deleted: blocks may be freed until the process exits.
    CachingCPUAllocator::instance = new CachingCPUAllocator(cap_mb << 20);
    c10::SetCPUAllocator(CachingCPUAllocator::instance, /*priority=*/0);
  });
}

Napi::Value allocator_stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  auto* a = CachingCPUAllocator::instance;
  bool active = a != nullptr && c10::GetCPUAllocator() == a;
  out.Set("caching", active);
  if (a != nullptr) {
    Stats s = a->stats();
    out.Set("inUse", static_cast<double>(s.in_use));
    out.Set("cached", static_cast<double>(s.cached));
    out.Set("peakInUse", static_cast<double>(s.peak_in_use));
    out.Set("cap", static_cast<double>(s.cap));
    out.Set("hits", static_cast<double>(s.hits));
    out.Set("misses", static_cast<double>(s.misses));
    out.Set("released", static_cast<double>(s.released));
    out.Set("releases", static_cast<double>(s.releases));
  }
  return out;
}

Napi::Value empty_cache(const Napi::CallbackInfo& info) {
  auto* a = CachingCPUAllocator::instance;
  return Napi::Number::New(info.Env(), a ? static_cast<double>(a->empty_cache()) : 0.0);
}

}  // namespace

void register_allocator(Napi::Env env, Napi::Object exports) {
  install_once();
  exports.Set("allocatorStats", Napi::Function::New(env, allocator_stats, "allocatorStats"));
  exports.Set("emptyCache", Napi::Function::New(env, empty_cache, "emptyCache"));
}

}  // namespace unimrg
