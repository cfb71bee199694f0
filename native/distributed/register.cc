// The distributed entry points of the addon (see lib/distributed/).
#include "pch.h"

namespace unimrg::dist {
void register_collectives(Napi::Env env, Napi::Object exports);
void register_reducer(Napi::Env env, Napi::Object exports);
}  // namespace unimrg::dist

namespace unimrg {
void register_distributed(Napi::Env env, Napi::Object exports) {
  dist::register_collectives(env, exports);
  dist::register_reducer(env, exports);
}
}  // namespace unimrg
