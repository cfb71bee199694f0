// Addon entry: one EnvState per Node.js environment (context-aware, works in workers).
#include "errors.h"
#include "state.h"

namespace unimrg {
void register_dispatch(Napi::Env env, Napi::Object exports);
void register_tensor_data(Napi::Env env, Napi::Object exports);
void register_autograd(Napi::Env env, Napi::Object exports);
void register_backend(Napi::Env env, Napi::Object exports);
void register_fast_ops(Napi::Env env, Napi::Object exports);
void register_optim(Napi::Env env, Napi::Object exports);
void register_tensor_io(Napi::Env env, Napi::Object exports);
void register_allocator(Napi::Env env, Napi::Object exports);
void register_rng(Napi::Env env, Napi::Object exports);
void register_autocast(Napi::Env env, Napi::Object exports);
void register_pt_io(Napi::Env env, Napi::Object exports);
void register_distributed(Napi::Env env, Napi::Object exports);  // native/distributed/
void register_jit(Napi::Env env, Napi::Object exports);

namespace {
// setErrorClass(TorchError): native failures are thrown as instances of the TS class.
Napi::Value set_error_class(const Napi::CallbackInfo& info) {
  info.Env().GetInstanceData<ErrorClass>()->ctor = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}
}  // namespace

Napi::Object init(Napi::Env env, Napi::Object exports) {
  init_state(env);
  exports.Set("setErrorClass", Napi::Function::New(env, set_error_class, "setErrorClass"));
  register_dispatch(env, exports);
  register_tensor_data(env, exports);
  register_autograd(env, exports);
  register_backend(env, exports);
  register_fast_ops(env, exports);
  register_optim(env, exports);
  register_tensor_io(env, exports);
  register_allocator(env, exports);
  register_rng(env, exports);
  register_autocast(env, exports);
  register_pt_io(env, exports);
  register_distributed(env, exports);
  register_jit(env, exports);
  return exports;
}

}  // namespace unimrg

// The macro pastes the function name into an identifier, so it must be unqualified.
static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return unimrg::init(env, exports); }
NODE_API_MODULE(unimrg, InitAddon)
