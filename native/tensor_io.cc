// Tensor bytes straight between files and tensor storage (safetensors and checkpoints): a read
// lands in the tensor's own memory with pread, a write goes out of it with write(2), so a
// multi-GB checkpoint never needs a second copy in RAM. Also `setData`, the Module.to() door.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "js_tensors.h"
#include "errors.h"
#include "napi_values.h"
#include "state.h"

namespace unimrg {
namespace {

std::vector<int64_t> int_list(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw UserError("", std::string(what) + " must be an array of non-negative integers");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    double d = a.Get(i).As<Napi::Number>().DoubleValue();
    if (d < 0 || d != static_cast<double>(static_cast<int64_t>(d))) {
      throw UserError("", std::string(what) + " must be an array of non-negative integers");
    }
    out[i] = static_cast<int64_t>(d);
  }
  return out;
}

struct Fd {
  int fd;
  ~Fd() { if (fd >= 0) ::close(fd); }
};

// readTensorFromFile(path, offset, shape, dtype) -> handle: a new CPU tensor whose bytes are the
// file's bytes [offset, offset + nbytes), read directly into its storage.
Napi::Value read_tensor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "readTensorFromFile", [&]() -> Napi::Value {
    std::string path = info[0].As<Napi::String>().Utf8Value();
    double off = info[1].As<Napi::Number>().DoubleValue();
    std::vector<int64_t> shape = int_list(info[2], "shape");
    c10::ScalarType dtype = parse_dtype(info[3].As<Napi::String>().Utf8Value());
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) throw UserError("", "cannot open " + path + ": " + std::strerror(errno));
    auto* dst = static_cast<char*>(t.data_ptr());
    size_t want = t.nbytes(), done = 0;
    off_t pos = static_cast<off_t>(off);
    while (done < want) {
      ssize_t r = ::pread(f.fd, dst + done, want - done, pos + static_cast<off_t>(done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw UserError("", "reading " + path + ": " + std::strerror(errno));
      if (r == 0) {
        throw UserError("", path + " ends after " + std::to_string(pos + static_cast<off_t>(done)) + " bytes, inside a tensor that needs bytes up to " +
                                std::to_string(pos + static_cast<off_t>(want)) + " (truncated file?)");
      }
      done += static_cast<size_t>(r);
    }
    return new_handle(env, std::move(t));
  });
}

// writeTensorToFd(fd, h) -> bytes written: the tensor's elements (CPU, contiguous, row-major)
// appended at the descriptor's position.
Napi::Value write_tensor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "writeTensorToFd", [&]() -> Napi::Value {
    int fd = info[0].As<Napi::Number>().Int32Value();
    at::Tensor t = tensor_arg(info[1]).detach();
    if (!t.device().is_cpu()) t = t.cpu();
    t = t.contiguous();
    if (t.is_conj()) t = t.resolve_conj();
    const char* src = static_cast<const char*>(t.data_ptr());
    size_t want = t.nbytes(), done = 0;
    while (done < want) {
      ssize_t r = ::write(fd, src + done, want - done);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw UserError("", std::string("writing a tensor: ") + std::strerror(errno));
      done += static_cast<size_t>(r);
    }
    return Napi::Number::New(env, static_cast<double>(want));
  });
}

// setData(h, src): h's variable now holds src's data (dtype/device may change), keeping its
// identity (handles, autograd leaf-ness, optimiser references) — PyTorch's `param.data = src`.
Napi::Value set_data(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "setData", [&]() -> Napi::Value {
    HandleTable& table = state().tensors;
    at::Tensor dst = table.get(info[0].As<Napi::Number>().Int64Value());
    const at::Tensor& src = table.get(info[1].As<Napi::Number>().Int64Value());
    dst.set_data(src.detach());
    return env.Undefined();
  });
}

}  // namespace

void register_tensor_io(Napi::Env env, Napi::Object exports) {
  exports.Set("readTensorFromFile", Napi::Function::New(env, read_tensor, "readTensorFromFile"));
  exports.Set("writeTensorToFd", Napi::Function::New(env, write_tensor, "writeTensorToFd"));
  exports.Set("setData", Napi::Function::New(env, set_data, "setData"));
}

}  // namespace unimrg
