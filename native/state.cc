#include "state.h"
#include "dispatch.h"

namespace unimrg {

namespace {
// Each environment runs on its own thread (main or worker), so a thread-local pointer
// reaches the right state without a lookup on every call.
thread_local EnvState* current = nullptr;
}

EnvState::~EnvState() {
  for (OpEntry* op : ops) delete op;
}

EnvState& state() { return *current; }

void init_state(Napi::Env env) {
  auto* s = new EnvState();
  current = s;
  env.SetInstanceData<EnvState>(s);  // freed, tensors included, when the environment ends
}

}  // namespace unimrg
