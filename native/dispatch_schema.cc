// Operator schemas: find an operator once (an op id), its argument and return specs, and the
// schema as plain data for the TS side (dispatch.h).
#include <mutex>
#include <sstream>

#include "dispatch.h"
#include "errors.h"
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

}  // namespace

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

}  // namespace unimrg
