// Per-environment state: the tensor handle table, the operator table and the JS error
// class. Each Node.js environment (main thread or worker) owns one; the addon is
// context-aware and every entry point reaches its state through a thread-local pointer.
#pragma once
#include "pch.h"
#include <unordered_map>
#include <vector>

namespace unimrg {

struct OpEntry;  // dispatch.h

// Tensors live here; JS holds small integer handles into `slots`.
// V8 is told about native memory once per storage: a handle whose tensor is the sole owner
// of a fresh storage (not a view) carries its bytes; the changes reach V8 in batches of
// at least 1 MiB so that small ops pay nothing. bytes() is exact: storages are deduplicated
// over the live handles when asked.
class HandleTable {
 public:
  int32_t put(napi_env env, at::Tensor t);
  const at::Tensor& get(int64_t h) const;  // throws a readable error on a stale handle
  void release(napi_env env, int64_t h);
  size_t live() const { return live_; }
  int64_t bytes() const;

 private:
  void account(napi_env env, int64_t delta);
  std::vector<at::Tensor> slots_;
  std::vector<int64_t> owned_bytes_;  // bytes this handle reported to V8
  std::vector<int32_t> free_;
  size_t live_ = 0;
  int64_t pending_ = 0;               // not yet reported to V8
};

// One per JavaScript thread (the main thread, each worker): the tensor table and the resolved
// operators. Keyed by thread rather than by napi_env because every load of the addon gets its own
// napi_env, and loading it twice on one thread (jest's per-file module registries, two copies of
// the package) must not strand the first copy's handles in a table the second cannot see.
struct EnvState {
  HandleTable tensors;
  std::vector<OpEntry*> ops;              // op id -> entry, owned
  std::unordered_map<std::string, int32_t> op_ids;
  ~EnvState();
};

// Per loaded copy (per napi_env): its TorchError class, set from TS.
struct ErrorClass {
  Napi::FunctionReference ctor;
};

EnvState& state();
void init_state(Napi::Env env);

}  // namespace unimrg
