// Which libtorch is loaded, threads, seeds and the CUDA runtime.
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <thread>

#include "kernels/gemm/cpu_gemm.h"
#include "build_info.h"
#include "errors.h"
#include "state.h"

#if UNIMRG_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace unimrg {
namespace {

// "KEY=value" from at::show_config()'s build settings: what the *loaded* libtorch says of itself.
std::string config_value(const std::string& config, const std::string& key) {
  size_t at = config.find(key + "=");
  if (at == std::string::npos) return "";
  size_t start = at + key.size() + 1;
  size_t end = config.find_first_of(",\n", start);
  return config.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

struct RuntimeTorch { std::string version; bool cuda; };

const RuntimeTorch& runtime_torch() {
  static RuntimeTorch rt = [] {
    std::string config = at::show_config();
    return RuntimeTorch{config_value(config, "TORCH_VERSION"), config_value(config, "USE_CUDA") == "ON"};
  }();
  return rt;
}

Napi::Value backend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  const RuntimeTorch& rt = runtime_torch();
  out.Set("torch", rt.version.empty() ? std::string(UNIMRG_BUILT_TORCH_VERSION) : rt.version);
  std::string cuda = UNIMRG_BUILT_TORCH_CUDA;
  out.Set("cuda", cuda.empty() ? env.Null() : Napi::String::New(env, cuda));
  bool cudnn = false;
  try { cudnn = at::detail::getCUDAHooks().compiledWithCuDNN(); } catch (...) {}
  out.Set("cudnn", cudnn);
  out.Set("threads", at::get_num_threads());
  out.Set("cpuGemm", cpu_gemm_backend());
  out.Set("cxx11Abi", static_cast<bool>(_GLIBCXX_USE_CXX11_ABI));
  Napi::Object built = Napi::Object::New(env);
  built.Set("torch", UNIMRG_BUILT_TORCH_VERSION);
  built.Set("cuda", cuda);
  built.Set("source", UNIMRG_BUILT_TORCH_SOURCE);
  out.Set("built", built);
  Napi::Object runtime = Napi::Object::New(env);
  runtime.Set("torch", rt.version);
  runtime.Set("cuda", rt.cuda);
  out.Set("runtime", runtime);
  return out;
}

Napi::Value set_num_threads(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "setNumThreads", [&]() -> Napi::Value {
    int n = info[0].As<Napi::Number>().Int32Value();
    if (n < 1) throw UserError("setNumThreads", "the number of threads must be at least 1, got " + std::to_string(n));
    at::set_num_threads(n);
    return info.Env().Undefined();
  });
}

Napi::Value manual_seed(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "manualSeed", [&]() -> Napi::Value {
    double seed = info[0].As<Napi::Number>().DoubleValue();
    if (seed < 0 || seed != static_cast<double>(static_cast<uint64_t>(seed))) {
      throw UserError("manualSeed", "the seed must be a non-negative integer");
    }
    at::manual_seed(static_cast<uint64_t>(seed));  // CPU and, where present, every CUDA device
    return info.Env().Undefined();
  });
}

int cuda_devices() {
#if UNIMRG_WITH_CUDA
  try { return static_cast<int>(c10::cuda::device_count()); } catch (...) { return 0; }
#else
  return 0;  // a CPU-only libtorch cannot run CUDA kernels, whatever the machine has
#endif
}

Napi::Value cuda_is_available(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), cuda_devices() > 0);
}

Napi::Value cuda_device_count(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), cuda_devices());
}

Napi::Value cuda_synchronize(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "cuda.synchronize", [&]() -> Napi::Value {
#if UNIMRG_WITH_CUDA
    if (cuda_devices() > 0) c10::cuda::device_synchronize();
#endif
    return info.Env().Undefined();
  });
}

// Debian's libtorch starts with one thread; a user expects every core unless told otherwise.
void default_threads() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* mine = std::getenv("UNIMRG_NUM_THREADS");
    const char* omp = std::getenv("OMP_NUM_THREADS");
    int n = 0;
    if (mine && *mine) n = std::atoi(mine);
    else if (!(omp && *omp)) n = static_cast<int>(std::thread::hardware_concurrency());
    if (n > 0) at::set_num_threads(n);
  });
}

}  // namespace

void register_backend(Napi::Env env, Napi::Object exports) {
  default_threads();
  exports.Set("backend", Napi::Function::New(env, backend, "backend"));
  exports.Set("setNumThreads", Napi::Function::New(env, set_num_threads, "setNumThreads"));
  exports.Set("manualSeed", Napi::Function::New(env, manual_seed, "manualSeed"));
  exports.Set("cudaIsAvailable", Napi::Function::New(env, cuda_is_available, "cudaIsAvailable"));
  exports.Set("cudaDeviceCount", Napi::Function::New(env, cuda_device_count, "cudaDeviceCount"));
  exports.Set("cudaSynchronize", Napi::Function::New(env, cuda_synchronize, "cudaSynchronize"));
}

}  // namespace unimrg
