// Handles ↔ tensors and the dtype / device names (js_tensors.h).
#include "js_tensors.h"

#include "errors.h"
#include "state.h"

namespace unimrg {

const at::Tensor& tensor_arg(const Napi::Value& v) {
  if (!v.IsNumber()) throw UserError("", "expected a tensor handle");
  return state().tensors.get(v.As<Napi::Number>().Int64Value());
}

std::vector<at::Tensor> tensor_list_arg(const Napi::Value& v, bool allow_null) {
  std::vector<at::Tensor> out;
  if (v.IsUndefined() || v.IsNull()) return out;
  if (!v.IsArray()) throw UserError("", "expected an array of tensor handles");
  Napi::Array a = v.As<Napi::Array>();
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (allow_null && (e.IsNull() || e.IsUndefined())) out.emplace_back();
    else out.push_back(tensor_arg(e));
  }
  return out;
}

Napi::Value new_handle(Napi::Env env, at::Tensor t) {
  return Napi::Number::New(env, state().tensors.put(env, std::move(t)));
}

Napi::Value new_handle_or_null(Napi::Env env, const at::Tensor& t) {
  if (!t.defined()) return env.Null();
  return new_handle(env, t);
}

Napi::Value new_handles(Napi::Env env, const std::vector<at::Tensor>& ts) {
  Napi::Array out = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); i++) out.Set(static_cast<uint32_t>(i), new_handle(env, ts[i]));
  return out;
}

c10::ScalarType parse_dtype(const std::string& s) {
  if (s == "float32" || s == "float") return at::kFloat;
  if (s == "float64" || s == "double") return at::kDouble;
  if (s == "float16" || s == "half") return at::kHalf;
  if (s == "bfloat16") return at::kBFloat16;
  if (s == "int64" || s == "long") return at::kLong;
  if (s == "int32" || s == "int") return at::kInt;
  if (s == "int16" || s == "short") return at::kShort;
  if (s == "int8") return at::kChar;
  if (s == "uint8") return at::kByte;
  if (s == "bool") return at::kBool;
  if (s == "complex64") return at::kComplexFloat;
  if (s == "complex128") return at::kComplexDouble;
  throw UserError("", "unknown dtype '" + s + "' (expected one of float32 float64 float16 bfloat16 int64 int32 int16 int8 uint8 bool)");
}

const char* dtype_name(c10::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    case at::kComplexFloat: return "complex64";
    case at::kComplexDouble: return "complex128";
    default: return c10::toString(t);
  }
}

c10::Device parse_device(const std::string& s) {
  c10::Device d(c10::kCPU);
  try {
    d = c10::Device(s);
  } catch (const c10::Error&) {
    throw UserError("", "unknown device '" + s + "' (expected 'cpu', 'cuda' or 'cuda:N')");
  }
  // Said here in one sentence; libtorch's own message lists every dispatch key it has.
  if (d.is_cuda() && !at::hasCUDA()) {
    throw UserError("", "device '" + s + "' is not available: no CUDA GPU can be used here (torch.cuda.isAvailable() " +
                            "is false; a CPU-only libtorch, or no GPU found)");
  }
  return d;
}

}  // namespace unimrg
