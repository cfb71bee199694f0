#include <memory>

#include "state.h"
#include "dispatch.h"

namespace unimrg {

namespace {
// Each JavaScript thread owns one state, freed when the thread ends (a worker's tensors go
// with it; the main thread's before libtorch's static objects, as thread-locals die first).
thread_local std::unique_ptr<EnvState> owned;
thread_local EnvState* current = nullptr;
}  // namespace

EnvState::~EnvState() {
  for (OpEntry* op : ops) delete op;
}

EnvState& state() { return *current; }

void init_state(Napi::Env env) {
  if (!owned) owned = std::make_unique<EnvState>();
  current = owned.get();
  env.SetInstanceData<ErrorClass>(new ErrorClass());  // deleted with this copy's environment
}

}  // namespace unimrg
