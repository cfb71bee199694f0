// The generic door to every ATen operator: resolve a schema once (an op id), then call it
// boxed through the dispatcher, so autograd, CUDA and every dtype come for free. Three parts:
// schemas (dispatch_schema.cc), JS ↔ IValue conversion (dispatch_convert.cc), the call (dispatch.cc).
#pragma once
#include "pch.h"
#include <string>
#include <vector>

namespace unimrg {

enum class ValueKind : uint8_t {
  Tensor, Scalar, Int, Float, Bool, String, ScalarType, Layout, Device, MemoryFormat,
  Generator, Unsupported
};

struct ArgSpec {
  std::string name;
  std::string type_text;     // as the schema prints it, for error messages and TS
  ValueKind kind;
  bool optional = false;     // T?
  bool list = false;         // T[] (or T[N])
  bool optional_items = false;  // T?[]
  int64_t fixed_len = 0;     // N of int[N]: a single number is repeated N times
  bool symint = false;       // SymInt / SymInt[]: sizes, whose int64 range is narrower
  bool kwarg_only = false;
  c10::optional<c10::IValue> default_value;
};

struct ReturnSpec {
  ValueKind kind;
  bool list = false;
  int aliased_arg = -1;      // in-place / out= ops: the argument this return *is*
};

struct OpEntry {
  c10::OperatorHandle handle;
  std::string name;          // aten::add.Tensor
  std::vector<ArgSpec> args;
  std::vector<ReturnSpec> returns;
  explicit OpEntry(c10::OperatorHandle h) : handle(std::move(h)) {}
};

void register_dispatch(Napi::Env env, Napi::Object exports);

// dispatch_schema.cc: findOp(name, overload) -> op id, opSchema(id), opOverloads(name).
Napi::Value find_op(const Napi::CallbackInfo& info);
Napi::Value op_schema(const Napi::CallbackInfo& info);
Napi::Value op_overloads(const Napi::CallbackInfo& info);

// dispatch_convert.cc: one argument by its spec (undefined: the default), one result.
c10::IValue to_ivalue(napi_env env, napi_value v, const OpEntry& op, const ArgSpec& a);
napi_value from_ivalue(napi_env env, const c10::IValue& v);

}  // namespace unimrg
