// The state of libtorch's default CPU generator, for training checkpoints: getRngState() copies
// it into a uint8 tensor (PyTorch's torch.get_rng_state(): the mt19937 state plus the cached
// normal samples), setRngState(h) restores it. The generator's mutex is held for both.
#include <ATen/CPUGeneratorImpl.h>
#include <mutex>

#include "errors.h"
#include "js_tensors.h"
#include "state.h"

namespace unimrg {
namespace {

Napi::Value get_rng_state(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "getRngState", [&]() -> Napi::Value {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    at::Tensor s;
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      s = gen.get_state();
    }
    return new_handle(env, s.clone());
  });
}

Napi::Value set_rng_state(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "setRngState", [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsNumber()) throw UserError("setRngState", "expected a tensor handle");
    const at::Tensor& t = tensor_arg(info[0]);
    if (t.scalar_type() != at::kByte) {
      throw UserError("setRngState", std::string("the RNG state must be a uint8 tensor, got ") + c10::toString(t.scalar_type()));
    }
    if (!t.device().is_cpu()) throw UserError("setRngState", "the RNG state must be a CPU tensor");
    at::Tensor s = t.contiguous();
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(s);  // checks the size; a wrong one throws a c10::Error (-> TorchError)
    return env.Undefined();
  });
}

}  // namespace

void register_rng(Napi::Env env, Napi::Object exports) {
  exports.Set("getRngState", Napi::Function::New(env, get_rng_state, "getRngState"));
  exports.Set("setRngState", Napi::Function::New(env, set_rng_state, "setRngState"));
}

}  // namespace unimrg
