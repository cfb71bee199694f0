#include <unordered_set>

#include "errors.h"
#include "state.h"

namespace unimrg {

namespace {
constexpr int64_t kReportEvery = 1 << 20;
}

void HandleTable::account(napi_env env, int64_t delta) {
  pending_ += delta;
  if (pending_ >= kReportEvery || pending_ <= -kReportEvery) {
    int64_t ignored;
    napi_adjust_external_memory(env, pending_, &ignored);
    pending_ = 0;
  }
}

int32_t HandleTable::put(napi_env env, at::Tensor t) {
  int64_t owned = 0;
  if (t.defined() && t.has_storage() && t.storage().use_count() == 1) {
    owned = static_cast<int64_t>(t.storage().nbytes());
  }
  int32_t h;
  if (!free_.empty()) {
    h = free_.back();
    free_.pop_back();
    slots_[h] = std::move(t);
    owned_bytes_[h] = owned;
  } else {
    h = static_cast<int32_t>(slots_.size());
    slots_.push_back(std::move(t));
    owned_bytes_.push_back(owned);
  }
  live_++;
  if (owned) account(env, owned);
  return h;
}

const at::Tensor& HandleTable::get(int64_t h) const {
  if (h < 0 || h >= static_cast<int64_t>(slots_.size()) || !slots_[h].defined()) {
    throw UserError("", "this tensor was disposed (or its handle is invalid); it can no longer be used");
  }
  return slots_[h];
}

void HandleTable::release(napi_env env, int64_t h) {
  if (h < 0 || h >= static_cast<int64_t>(slots_.size()) || !slots_[h].defined()) return;
  slots_[h].reset();
  if (owned_bytes_[h]) account(env, -owned_bytes_[h]);
  owned_bytes_[h] = 0;
  free_.push_back(static_cast<int32_t>(h));
  live_--;
}

int64_t HandleTable::bytes() const {
  std::unordered_set<const void*> seen;
  int64_t total = 0;
  for (const at::Tensor& t : slots_) {
    if (!t.defined() || !t.has_storage()) continue;
    const c10::Storage& s = t.storage();
    if (seen.insert(s.unsafeGetStorageImpl()).second) total += static_cast<int64_t>(s.nbytes());
  }
  return total;
}

}  // namespace unimrg
