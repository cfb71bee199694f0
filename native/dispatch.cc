#include "dispatch.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <sstream>

#include "errors.h"
#include "napi_values.h"
#include "state.h"

namespace unimrg {

namespace {

ValueKind kind_of(const c10::TypePtr& t) {
  switch (t->kind()) {
    case c10::TypeKind::TensorType: return ValueKind::Tensor;
    case c10::TypeKind::NumberType: return ValueKind::Scalar;
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType: return ValueKind::Int;
    case c10::TypeKind::FloatType:
    case c10::TypeKind::SymFloatType: return ValueKind::Float;
    case c10::TypeKind::BoolType: return ValueKind::Bool;
    case c10::TypeKind::StringType: return ValueKind::String;
    case c10::TypeKind::ScalarTypeType: return ValueKind::ScalarType;
    case c10::TypeKind::LayoutType: return ValueKind::Layout;
    case c10::TypeKind::DeviceObjType: return ValueKind::Device;
    case c10::TypeKind::MemoryFormatType: return ValueKind::MemoryFormat;
    case c10::TypeKind::GeneratorType: return ValueKind::Generator;
    default: return ValueKind::Unsupported;
  }
}

ArgSpec make_arg_spec(const c10::Argument& a) {
  ArgSpec spec;
  spec.name = a.name();
  spec.type_text = a.real_type()->str();
  spec.kwarg_only = a.kwarg_only();
  spec.default_value = a.default_value();
  c10::TypePtr t = a.real_type();
  if (auto opt = t->cast<c10::OptionalType>()) {
    spec.optional = true;
    t = opt->getElementType();
  }
  if (auto list = t->cast<c10::ListType>()) {
    spec.list = true;
    t = list->getElementType();
    if (auto inner = t->cast<c10::OptionalType>()) {
      spec.optional_items = true;
      t = inner->getElementType();
    }
    spec.fixed_len = a.N() ? *a.N() : 0;
  }
  spec.kind = kind_of(t);
  spec.symint = t->kind() == c10::TypeKind::SymIntType;
  return spec;
}

OpEntry* make_entry(c10::OperatorHandle handle) {
  auto* e = new OpEntry(handle);
  const c10::FunctionSchema& schema = handle.schema();
  e->name = schema.name() + (schema.overload_name().empty() ? "" : "." + schema.overload_name());
  for (const auto& a : schema.arguments()) e->args.push_back(make_arg_spec(a));
  for (const auto& r : schema.returns()) {
    ReturnSpec rs;
    ArgSpec tmp = make_arg_spec(r);
    rs.kind = tmp.kind;
    rs.list = tmp.list;
    // `Tensor(a!)` returns are the argument that carries the same alias set (self_ or out=).
    if (r.alias_info() && r.alias_info()->isWrite()) {
      const auto& sets = r.alias_info()->beforeSets();
      for (size_t i = 0; i < schema.arguments().size(); i++) {
        const auto* ai = schema.arguments()[i].alias_info();
        if (ai && ai->isWrite() && ai->beforeSets() == sets) {
          rs.aliased_arg = static_cast<int>(i);
          break;
        }
      }
    }
    e->returns.push_back(rs);
  }
  return e;
}

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

napi_value from_ivalue(napi_env env, const c10::IValue& v);

napi_value from_tensor(napi_env env, const at::Tensor& t) {
  if (!t.defined()) return make_null(env);
  return make_int(env, state().tensors.put(env, t));
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

// The hot path: call(opId, ...args). Raw N-API, a reused stack, no allocation beyond libtorch's.
napi_value call_op(napi_env env, napi_callback_info info) {
  constexpr size_t kMaxArgs = 64;
  size_t argc = kMaxArgs;
  napi_value argv[kMaxArgs];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Napi::Env e(env);
  EnvState& st = state();
  int32_t id = argc > 0 ? get_int32(env, argv[0]) : -1;
  if (id < 0 || id >= static_cast<int32_t>(st.ops.size())) {
    Napi::TypeError::New(env, "unimrg: call() needs a valid op id").ThrowAsJavaScriptException();
    return nullptr;
  }
  const OpEntry& op = *st.ops[id];
  try {
    return guarded(e, op.name.c_str(), [&]() -> napi_value {
      size_t given = argc - 1;
      if (given > op.args.size()) {
        throw UserError(op.name, op.name + " takes at most " + std::to_string(op.args.size()) +
                                     " arguments, got " + std::to_string(given));
      }
      thread_local std::vector<c10::IValue> stack;
      stack.clear();
      for (size_t i = 0; i < op.args.size(); i++) {
        stack.push_back(to_ivalue(env, i < given ? argv[i + 1] : nullptr, op, op.args[i]));
      }
      op.handle.callBoxed(&stack);
      napi_value result;
      if (op.returns.size() == 1) {
        const ReturnSpec& r = op.returns[0];
        result = r.aliased_arg >= 0 && static_cast<size_t>(r.aliased_arg) < given
                     ? argv[r.aliased_arg + 1]
                     : from_ivalue(env, stack[0]);
      } else if (op.returns.empty()) {
        result = make_undefined(env);
      } else {
        result = make_array(env, op.returns.size());
        for (size_t i = 0; i < op.returns.size(); i++) {
          const ReturnSpec& r = op.returns[i];
          array_set(env, result, i,
                    r.aliased_arg >= 0 && static_cast<size_t>(r.aliased_arg) < given
                        ? argv[r.aliased_arg + 1]
                        : from_ivalue(env, stack[i]));
        }
      }
      stack.clear();
      return result;
    });
  } catch (const Napi::Error& err) {
    err.ThrowAsJavaScriptException();
    return nullptr;
  }
}

Napi::Value find_op(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>();
  std::string overload = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  std::string key = name + "." + overload;
  EnvState& st = state();
  auto it = st.op_ids.find(key);
  if (it != st.op_ids.end()) return Napi::Number::New(env, it->second);
  return guarded(env, name.c_str(), [&]() -> Napi::Value {
    auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
    if (!handle) {
      throw UserError(name, "no operator " + name + (overload.empty() ? "" : "." + overload) +
                                " is registered with libtorch");
    }
    int32_t id = static_cast<int32_t>(st.ops.size());
    st.ops.push_back(make_entry(*handle));
    st.op_ids.emplace(key, id);
    return Napi::Number::New(env, id);
  });
}

const char* kind_name(ValueKind k) {
  switch (k) {
    case ValueKind::Tensor: return "Tensor";
    case ValueKind::Scalar: return "Scalar";
    case ValueKind::Int: return "int";
    case ValueKind::Float: return "float";
    case ValueKind::Bool: return "bool";
    case ValueKind::String: return "str";
    case ValueKind::ScalarType: return "ScalarType";
    case ValueKind::Layout: return "Layout";
    case ValueKind::Device: return "Device";
    case ValueKind::MemoryFormat: return "MemoryFormat";
    case ValueKind::Generator: return "Generator";
    default: return "unsupported";
  }
}

// The schema as plain data for the TS side (overload choice, keyword arguments, typing).
Napi::Value op_schema(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t id = info[0].As<Napi::Number>().Int32Value();
  EnvState& st = state();
  if (id < 0 || id >= static_cast<int32_t>(st.ops.size())) throw Napi::TypeError::New(env, "invalid op id");
  const OpEntry& op = *st.ops[id];
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", op.name);
  std::ostringstream schema_text;
  schema_text << op.handle.schema();
  out.Set("schema", schema_text.str());
  Napi::Array args = Napi::Array::New(env, op.args.size());
  for (size_t i = 0; i < op.args.size(); i++) {
    const ArgSpec& a = op.args[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", a.name);
    o.Set("type", a.type_text);
    o.Set("kind", kind_name(a.kind));
    o.Set("optional", a.optional);
    o.Set("list", a.list);
    o.Set("hasDefault", a.default_value.has_value());
    o.Set("kwargOnly", a.kwarg_only);
    args.Set(static_cast<uint32_t>(i), o);
  }
  out.Set("args", args);
  Napi::Array rets = Napi::Array::New(env, op.returns.size());
  for (size_t i = 0; i < op.returns.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("kind", kind_name(op.returns[i].kind));
    o.Set("list", op.returns[i].list);
    o.Set("aliasedArg", op.returns[i].aliased_arg);
    rets.Set(static_cast<uint32_t>(i), o);
  }
  out.Set("returns", rets);
  return out;
}

// Overload names of one operator (e.g. aten::add -> ["Tensor", "Scalar", "out", ...]).
Napi::Value op_overloads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>();
  static std::mutex mu;
  static std::unordered_map<std::string, std::vector<std::string>> by_name;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (by_name.empty()) {
      for (const auto& op : c10::Dispatcher::singleton().getAllOpNames()) by_name[op.name].push_back(op.overload_name);
    }
    auto it = by_name.find(name);
    Napi::Array out = Napi::Array::New(env);
    if (it != by_name.end()) {
      for (size_t i = 0; i < it->second.size(); i++) out.Set(static_cast<uint32_t>(i), it->second[i]);
    }
    return out;
  }
}

}  // namespace

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

void register_dispatch(Napi::Env env, Napi::Object exports) {
  exports.Set("findOp", Napi::Function::New(env, find_op, "findOp"));
  exports.Set("opSchema", Napi::Function::New(env, op_schema, "opSchema"));
  exports.Set("opOverloads", Napi::Function::New(env, op_overloads, "opOverloads"));
  napi_value fn;
  napi_create_function(env, "call", NAPI_AUTO_LENGTH, call_op, nullptr, &fn);
  exports.Set("call", Napi::Value(env, fn));
}

}  // namespace unimrg
