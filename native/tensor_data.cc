// Tensors in and out of JavaScript: typed-array copies, metadata, scalars, disposal.
#include "js_tensors.h"
#include "errors.h"
#include "napi_values.h"
#include "state.h"

namespace unimrg {
namespace {

std::vector<int64_t> shape_arg(const Napi::Value& v) {
  if (!v.IsArray()) throw UserError("", "shape must be an array of non-negative integers");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> shape(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsNumber()) throw UserError("", "shape must be an array of non-negative integers");
    double d = e.As<Napi::Number>().DoubleValue();
    if (d < 0 || d != static_cast<double>(static_cast<int64_t>(d))) {
      throw UserError("", "shape must be an array of non-negative integers");
    }
    shape[i] = static_cast<int64_t>(d);
  }
  return shape;
}

// fromBuffer(typedArray, shape, dtype): a new CPU tensor holding a copy of the bytes.
Napi::Value from_buffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "tensor", [&]() -> Napi::Value {
    if (!info[0].IsTypedArray()) throw UserError("tensor", "expected a TypedArray");
    Napi::TypedArray arr = info[0].As<Napi::TypedArray>();
    std::vector<int64_t> shape = shape_arg(info[1]);
    c10::ScalarType dtype = parse_dtype(info[2].As<Napi::String>());
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    size_t want = t.nbytes();
    if (arr.ByteLength() != want) {
      throw UserError("tensor", "data holds " + std::to_string(arr.ByteLength()) + " bytes but shape " +
                                    c10::str(t.sizes()) + " of " + dtype_name(dtype) + " needs " + std::to_string(want));
    }
    auto* src = static_cast<const uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
    if (want) std::memcpy(t.data_ptr(), src, want);
    return new_handle(env, std::move(t));
  });
}

// toBuffer(h): the tensor's elements as a fresh ArrayBuffer (CPU, contiguous, row-major).
Napi::Value to_buffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "toArray", [&]() -> Napi::Value {
    at::Tensor t = tensor_arg(info[0]).detach().to(at::kCPU).contiguous();
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, t.nbytes());
    if (t.nbytes()) std::memcpy(buf.Data(), t.data_ptr(), t.nbytes());
    return buf;
  });
}

// item(h, bigint?): the single element as a number (boolean for bool), or exactly as a BigInt.
// An integer outside JavaScript's safe range (|v| > 2^53 - 1) is refused as a number rather
// than rounded: the BigInt path gives it exactly.
Napi::Value item(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool as_bigint = info.Length() > 1 && info[1].ToBoolean();
  const char* name = as_bigint ? "itemBigInt" : "item";
  return guarded(env, name, [&]() -> Napi::Value {
    const at::Tensor& t = tensor_arg(info[0]);
    if (t.numel() != 1) {
      throw UserError(name, std::string(name) + "() needs a tensor with exactly one element, this one has " +
                                std::to_string(t.numel()));
    }
    if (t.is_complex()) {
      throw UserError(name, std::string(dtype_name(t.scalar_type())) + " tensors cannot be read: complex dtypes are "
                            "not supported (torch.ops.aten.view_as_real(x) gives the (re, im) pairs as floats)");
    }
    const bool integral = at::isIntegralType(t.scalar_type(), /*includeBool=*/false);
    if (as_bigint) {
      if (!integral) {
        throw UserError(name, std::string("itemBigInt() needs an integer tensor, this one is ") +
                                  dtype_name(t.scalar_type()) + "; use item()");
      }
      return Napi::BigInt::New(env, t.item<int64_t>());
    }
    c10::Scalar s = t.item();
    if (s.isBoolean()) return Napi::Boolean::New(env, s.toBool());
    if (integral) {
      constexpr int64_t kSafe = (int64_t(1) << 53) - 1;  // Number.MAX_SAFE_INTEGER
      const int64_t v = s.toLong();
      if (v > kSafe || v < -kSafe) {
        throw UserError(name, "item(): " + std::to_string(v) + " (" + dtype_name(t.scalar_type()) +
                                  ") is outside JavaScript's safe integer range (|v| <= 2^53 - 1) and would be "
                                  "rounded; use itemBigInt() for the exact value");
      }
    }
    return Napi::Number::New(env, s.toDouble());
  });
}

Napi::Value shape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "shape", [&]() -> Napi::Value {
    const at::Tensor& t = tensor_arg(info[0]);
    Napi::Array out = Napi::Array::New(env, t.dim());
    for (int64_t i = 0; i < t.dim(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(t.size(i))));
    return out;
  });
}

Napi::Value strides(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "stride", [&]() -> Napi::Value {
    const at::Tensor& t = tensor_arg(info[0]);
    Napi::Array out = Napi::Array::New(env, t.dim());
    for (int64_t i = 0; i < t.dim(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(t.stride(i))));
    return out;
  });
}

Napi::Value dtype(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "dtype", [&]() -> Napi::Value {
    return Napi::String::New(env, dtype_name(tensor_arg(info[0]).scalar_type()));
  });
}

Napi::Value device(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "device", [&]() -> Napi::Value {
    return Napi::String::New(env, tensor_arg(info[0]).device().str());
  });
}

Napi::Value numel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "numel", [&]() -> Napi::Value {
    return Napi::Number::New(env, static_cast<double>(tensor_arg(info[0]).numel()));
  });
}

Napi::Value is_contiguous(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "isContiguous", [&]() -> Napi::Value {
    return Napi::Boolean::New(env, tensor_arg(info[0]).is_contiguous());
  });
}

// A second handle to the same tensor (shares storage and autograd identity).
Napi::Value share(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "share", [&]() -> Napi::Value {
    return new_handle(env, tensor_arg(info[0]));
  });
}

napi_value dispose(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc == 1) state().tensors.release(env, get_int32(env, argv[0]));
  return nullptr;
}

// disposeMany(handles[]): one crossing for a whole tidy() scope.
napi_value dispose_many(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 1 || !is_array(env, argv[0])) return nullptr;
  uint32_t n = array_length(env, argv[0]);
  HandleTable& table = state().tensors;
  for (uint32_t i = 0; i < n; i++) table.release(env, get_int32(env, array_get(env, argv[0], i)));
  return nullptr;
}

Napi::Value memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("tensors", Napi::Number::New(env, static_cast<double>(state().tensors.live())));
  out.Set("bytes", Napi::Number::New(env, static_cast<double>(state().tensors.bytes())));
  return out;
}

}  // namespace

void register_tensor_data(Napi::Env env, Napi::Object exports) {
  exports.Set("fromBuffer", Napi::Function::New(env, from_buffer, "fromBuffer"));
  exports.Set("toBuffer", Napi::Function::New(env, to_buffer, "toBuffer"));
  exports.Set("item", Napi::Function::New(env, item, "item"));
  exports.Set("shape", Napi::Function::New(env, shape, "shape"));
  exports.Set("strides", Napi::Function::New(env, strides, "strides"));
  exports.Set("dtype", Napi::Function::New(env, dtype, "dtype"));
  exports.Set("device", Napi::Function::New(env, device, "device"));
  exports.Set("numel", Napi::Function::New(env, numel, "numel"));
  exports.Set("isContiguous", Napi::Function::New(env, is_contiguous, "isContiguous"));
  exports.Set("share", Napi::Function::New(env, share, "share"));
  exports.Set("memory", Napi::Function::New(env, memory, "memory"));
  napi_value fn;
  napi_create_function(env, "dispose", NAPI_AUTO_LENGTH, dispose, nullptr, &fn);
  exports.Set("dispose", Napi::Value(env, fn));
  napi_create_function(env, "disposeMany", NAPI_AUTO_LENGTH, dispose_many, nullptr, &fn);
  exports.Set("disposeMany", Napi::Value(env, fn));
}

}  // namespace unimrg
