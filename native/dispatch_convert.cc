// JavaScript arguments → IValues by the schema's argument kinds, and IValues → JavaScript
// results (dispatch.h). Every refusal names the operator, the argument and its schema type.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "dispatch.h"
#include "errors.h"
#include "js_tensors.h"
#include "napi_values.h"
#include "state.h"

namespace unimrg {
namespace {

[[noreturn]] void arg_error(const OpEntry& op, const ArgSpec& a, const std::string& why) {
  throw UserError(op.name, "argument '" + a.name + "' (" + a.type_text + ") of " + op.name + ": " + why);
}

constexpr const char* kInt64Range = "-9223372036854775808..9223372036854775807";
// SymInt (sizes) reserves the int64 values below -2^62 for its own encoding: refuse them here
// rather than let libtorch read them as symbols ("Expected !is_symbolic()").
constexpr int64_t kSymIntMin = -(int64_t(1) << 62);

// A number as JavaScript would print it (shortest round-trip form; NaN, Infinity).
std::string number_text(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  for (int precision = 15; precision <= 17; precision++) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  return buf;
}

// BigInts must fit int64 exactly: napi would hand back the low 64 bits (2n**70n -> 0).
int64_t to_bigint(napi_env env, napi_value v, const OpEntry& op, const ArgSpec& a) {
  int64_t i = 0;
  if (!get_bigint_exact(env, v, &i)) {
    arg_error(op, a, "value " + js_text(env, v) + "n is out of range for int64 (" + kInt64Range + ")");
  }
  return i;
}

int64_t to_int(napi_env env, napi_value v, const OpEntry& op, const ArgSpec& a) {
  napi_valuetype t = type_of(env, v);
  int64_t i;
  if (t == napi_number) {
    double d = get_double(env, v);
    if (!std::isfinite(d) || d != std::floor(d)) arg_error(op, a, "expected an integer, got " + number_text(d));
    // 2^63 is exact in double; casting anything outside [-2^63, 2^63) is undefined behaviour.
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
      arg_error(op, a, "value " + number_text(d) + " is out of range for int64 (" + kInt64Range + ")");
    }
    i = static_cast<int64_t>(d);
  } else if (t == napi_bigint) {
    i = to_bigint(env, v, op, a);
  } else if (t == napi_boolean && a.kind == ValueKind::Int) {
    i = get_bool(env, v) ? 1 : 0;
  } else {
    arg_error(op, a, std::string("expected an integer, got ") + type_name(t));
  }
  if (a.symint && i < kSymIntMin) {
    arg_error(op, a, "value " + std::to_string(i) + " is out of range for a size (" + std::to_string(kSymIntMin) +
                         "..9223372036854775807)");
  }
  return i;
}

double to_double(napi_env env, napi_value v, const OpEntry& op, const ArgSpec& a) {
  napi_valuetype t = type_of(env, v);
  if (t == napi_number) return get_double(env, v);
  if (t == napi_bigint) return static_cast<double>(to_bigint(env, v, op, a));
  arg_error(op, a, std::string("expected a number, got ") + type_name(t));
}

c10::Scalar to_scalar(napi_env env, napi_value v, const OpEntry& op, const ArgSpec& a) {
  switch (type_of(env, v)) {
    case napi_number: {
      double d = get_double(env, v);
      // As Python does for 1 versus 1.0: integral numbers are int scalars, so int tensors stay int.
      // -0 stays a float, as -0.0 does in Python.
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0 && !(d == 0 && std::signbit(d))) {
        return c10::Scalar(static_cast<int64_t>(d));
      }
      return c10::Scalar(d);
    }
    case napi_boolean: return c10::Scalar(get_bool(env, v));
    case napi_bigint: return c10::Scalar(to_bigint(env, v, op, a));
    default: arg_error(op, a, std::string("expected a number, got ") + type_name(type_of(env, v)));
  }
}

std::string to_string_arg(napi_env env, napi_value v, const OpEntry& op, const ArgSpec& a) {
  if (type_of(env, v) != napi_string) arg_error(op, a, std::string("expected a string, got ") + type_name(type_of(env, v)));
  return get_string(env, v);
}

c10::IValue to_element(napi_env env, napi_value v, const OpEntry& op, const ArgSpec& a) {
  switch (a.kind) {
    case ValueKind::Tensor: {
      if (type_of(env, v) != napi_number) arg_error(op, a, std::string("expected a Tensor, got ") + type_name(type_of(env, v)));
      return state().tensors.get(static_cast<int64_t>(get_double(env, v)));
    }
    case ValueKind::Scalar: return to_scalar(env, v, op, a);
    case ValueKind::Int: return to_int(env, v, op, a);
    case ValueKind::Float: return to_double(env, v, op, a);
    case ValueKind::Bool: {
      if (type_of(env, v) != napi_boolean) arg_error(op, a, std::string("expected a boolean, got ") + type_name(type_of(env, v)));
      return get_bool(env, v);
    }
    case ValueKind::String: return to_string_arg(env, v, op, a);
    case ValueKind::ScalarType: {
      if (type_of(env, v) == napi_number) return to_int(env, v, op, a);
      return static_cast<int64_t>(parse_dtype(to_string_arg(env, v, op, a)));
    }
    case ValueKind::Layout: {
      std::string s = to_string_arg(env, v, op, a);
      if (s == "strided") return static_cast<int64_t>(c10::kStrided);
      if (s == "sparse_coo") return static_cast<int64_t>(c10::kSparse);
      arg_error(op, a, "unknown layout '" + s + "' (expected 'strided' or 'sparse_coo')");
    }
    case ValueKind::Device: return parse_device(to_string_arg(env, v, op, a));
    case ValueKind::MemoryFormat: {
      std::string s = to_string_arg(env, v, op, a);
      if (s == "contiguous") return static_cast<int64_t>(c10::MemoryFormat::Contiguous);
      if (s == "channels_last") return static_cast<int64_t>(c10::MemoryFormat::ChannelsLast);
      if (s == "preserve") return static_cast<int64_t>(c10::MemoryFormat::Preserve);
      arg_error(op, a, "unknown memory format '" + s + "' (expected 'contiguous', 'channels_last' or 'preserve')");
    }
    case ValueKind::Generator: arg_error(op, a, "explicit generators are not supported; pass null");
    default: arg_error(op, a, "this argument type cannot be passed from JavaScript");
  }
}

c10::IValue to_list(napi_env env, napi_value v, const OpEntry& op, const ArgSpec& a) {
  napi_valuetype t = type_of(env, v);
  if (t != napi_object || !is_array(env, v)) {
    // PyTorch accepts a single int where `int[N]` is expected and repeats it.
    if (a.kind == ValueKind::Int && (t == napi_number || t == napi_bigint)) {
      int64_t x = to_int(env, v, op, a);
      return c10::List<int64_t>(std::vector<int64_t>(a.fixed_len > 0 ? a.fixed_len : 1, x));
    }
    if (a.kind == ValueKind::Float && t == napi_number) {
      return c10::List<double>(std::vector<double>(a.fixed_len > 0 ? a.fixed_len : 1, get_double(env, v)));
    }
    arg_error(op, a, std::string("expected an array, got ") + type_name(t));
  }
  uint32_t n = array_length(env, v);
  switch (a.kind) {
    case ValueKind::Tensor: {
      if (a.optional_items) {
        c10::List<c10::optional<at::Tensor>> out;
        out.reserve(n);
        for (uint32_t i = 0; i < n; i++) {
          napi_value e = array_get(env, v, i);
          napi_valuetype et = type_of(env, e);
          if (et == napi_null || et == napi_undefined) out.push_back(c10::nullopt);
          else out.push_back(to_element(env, e, op, a).toTensor());
        }
        return out;
      }
      c10::List<at::Tensor> out;
      out.reserve(n);
      for (uint32_t i = 0; i < n; i++) out.push_back(to_element(env, array_get(env, v, i), op, a).toTensor());
      return out;
    }
    case ValueKind::Int: {
      c10::List<int64_t> out;
      out.reserve(n);
      for (uint32_t i = 0; i < n; i++) out.push_back(to_int(env, array_get(env, v, i), op, a));
      return out;
    }
    case ValueKind::Float: {
      c10::List<double> out;
      out.reserve(n);
      for (uint32_t i = 0; i < n; i++) out.push_back(to_double(env, array_get(env, v, i), op, a));
      return out;
    }
    case ValueKind::Bool: {
      c10::List<bool> out;
      out.reserve(n);
      for (uint32_t i = 0; i < n; i++) out.push_back(to_element(env, array_get(env, v, i), op, a).toBool());
      return out;
    }
    case ValueKind::Scalar: {
      c10::impl::GenericList out(c10::NumberType::get());
      for (uint32_t i = 0; i < n; i++) out.push_back(to_scalar(env, array_get(env, v, i), op, a));
      return out;
    }
    default: arg_error(op, a, "lists of this type cannot be passed from JavaScript");
  }
}

napi_value from_tensor(napi_env env, const at::Tensor& t) {
  if (!t.defined()) return make_null(env);
  return make_int(env, state().tensors.put(env, t));
}

}  // namespace

c10::IValue to_ivalue(napi_env env, napi_value v, const OpEntry& op, const ArgSpec& a) {
  napi_valuetype t = v ? type_of(env, v) : napi_undefined;
  if (t == napi_undefined || t == napi_null) {
    if (t == napi_undefined && a.default_value) return *a.default_value;
    if (a.optional) return c10::IValue();
    if (a.default_value) return *a.default_value;
    arg_error(op, a, "is required");
  }
  return a.list ? to_list(env, v, op, a) : to_element(env, v, op, a);
}

napi_value from_ivalue(napi_env env, const c10::IValue& v) {
  if (v.isTensor()) return from_tensor(env, v.toTensor());
  if (v.isNone()) return make_null(env);
  if (v.isInt()) return make_double(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return make_double(env, v.toDouble());
  if (v.isBool()) return make_bool(env, v.toBool());
  if (v.isString()) return make_string(env, v.toStringRef());
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    napi_value arr = make_array(env, elems.size());
    for (size_t i = 0; i < elems.size(); i++) array_set(env, arr, i, from_ivalue(env, elems[i]));
    return arr;
  }
  if (v.isList()) {
    auto list = v.toListRef();
    napi_value arr = make_array(env, list.size());
    for (size_t i = 0; i < list.size(); i++) array_set(env, arr, i, from_ivalue(env, list[i]));
    return arr;
  }
  if (v.isScalar()) {
    c10::Scalar s = v.toScalar();
    if (s.isComplex()) throw std::runtime_error("an operator returned a complex number; complex values are not supported");
    return s.isBoolean() ? make_bool(env, s.toBool()) : make_double(env, s.toDouble());
  }
  if (v.isDevice()) return make_string(env, v.toDevice().str());
  throw std::runtime_error("an operator returned a value of type " + v.tagKind() + ", which JavaScript cannot receive");
}

}  // namespace unimrg
