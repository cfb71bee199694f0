// Automatic mixed precision (torch.autocast): per-thread autocast state for CPU and CUDA.
// autocastEnter(device, enabled, dtype) saves the device's state, raises the nesting level and
// sets the new state; autocastExit(device, prevEnabled, prevDtype) lowers the nesting level,
// clears the cast cache when the outermost region exits (as torch.autocast's __exit__) and
// restores the saved state. autocastState(device) reads it. The state is thread-local in
// libtorch, as grad mode is, so a region must not span an await.
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "js_tensors.h"
#include "errors.h"
#include "state.h"

namespace unimrg {
namespace {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define UNIMRG_AUTOCAST_DEVICE_API 1  // set_autocast_enabled(DeviceType, …), the older names deprecated
#else
#define UNIMRG_AUTOCAST_DEVICE_API 0
#endif

bool parse_cuda(const char* op, const Napi::Value& v) {
  if (!v.IsString()) throw UserError(op, "the device type must be 'cpu' or 'cuda'");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s == "cpu") return false;
  if (s == "cuda") return true;
  throw UserError(op, "the autocast device type must be 'cpu' or 'cuda', got '" + s + "'");
}

c10::ScalarType parse_autocast_dtype(const char* op, bool cuda, const Napi::Value& v) {
  if (!v.IsString()) throw UserError(op, "the autocast dtype must be a string");
  c10::ScalarType t = parse_dtype(v.As<Napi::String>().Utf8Value());
  if (cuda) {
    if (t != at::kBFloat16 && t != at::kHalf) {
      throw UserError(op, std::string("CUDA autocast supports bfloat16 and float16, got ") + dtype_name(t));
    }
  } else {
#if TORCH_VERSION_MAJOR >= 2
    if (t != at::kBFloat16 && t != at::kHalf) {
      throw UserError(op, std::string("CPU autocast supports bfloat16 and float16, got ") + dtype_name(t));
    }
#else
    if (t != at::kBFloat16) {
      throw UserError(op, std::string("CPU autocast in libtorch 1.x supports only bfloat16, got ") + dtype_name(t));
    }
#endif
  }
  return t;
}

bool get_enabled(bool cuda) {
#if UNIMRG_AUTOCAST_DEVICE_API
  return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU);
#else
  return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

void set_enabled(bool cuda, bool on) {
#if UNIMRG_AUTOCAST_DEVICE_API
  at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, on);
#else
  if (cuda) at::autocast::set_enabled(on); else at::autocast::set_cpu_enabled(on);
#endif
}

c10::ScalarType get_dtype(bool cuda) {
#if UNIMRG_AUTOCAST_DEVICE_API
  return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU);
#else
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}

void set_dtype(bool cuda, c10::ScalarType t) {
#if UNIMRG_AUTOCAST_DEVICE_API
  at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, t);
#else
  if (cuda) at::autocast::set_autocast_gpu_dtype(t); else at::autocast::set_autocast_cpu_dtype(t);
#endif
}

Napi::Object state_object(Napi::Env env, bool cuda) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("enabled", get_enabled(cuda));
  out.Set("dtype", dtype_name(get_dtype(cuda)));
  return out;
}

// autocastState(device) -> { enabled, dtype }
Napi::Value autocast_state(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "autocastState", [&]() -> Napi::Value {
    return state_object(env, parse_cuda("autocastState", info[0]));
  });
}

// autocastEnter(device, enabled, dtype) -> the previous { enabled, dtype }
Napi::Value autocast_enter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "autocast", [&]() -> Napi::Value {
    bool cuda = parse_cuda("autocast", info[0]);
    if (!info[1].IsBoolean()) throw UserError("autocast", "enabled must be a boolean");
    bool on = info[1].As<Napi::Boolean>().Value();
    c10::ScalarType t = parse_autocast_dtype("autocast", cuda, info[2]);
    Napi::Object prev = state_object(env, cuda);
    set_dtype(cuda, t);
    set_enabled(cuda, on);
    at::autocast::increment_nesting();
    return prev;
  });
}

// autocastExit(device, prevEnabled, prevDtype) -> the nesting level after the exit
Napi::Value autocast_exit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "autocast", [&]() -> Napi::Value {
    bool cuda = parse_cuda("autocast", info[0]);
    bool on = info[1].As<Napi::Boolean>().Value();
    c10::ScalarType t = parse_dtype(info[2].As<Napi::String>().Utf8Value());
    int level = at::autocast::decrement_nesting();
    if (level == 0) at::autocast::clear_cache();
    set_enabled(cuda, on);
    set_dtype(cuda, t);
    return Napi::Number::New(env, level);
  });
}

}  // namespace

void register_autocast(Napi::Env env, Napi::Object exports) {
  exports.Set("autocastState", Napi::Function::New(env, autocast_state, "autocastState"));
  exports.Set("autocastEnter", Napi::Function::New(env, autocast_enter, "autocastEnter"));
  exports.Set("autocastExit", Napi::Function::New(env, autocast_exit, "autocastExit"));
}

}  // namespace unimrg
