// The generic door to every ATen operator: resolve a schema once (an op id), then call it
// boxed through the dispatcher, so autograd, CUDA and every dtype come for free.
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

// Conversions shared with other entry points.
c10::ScalarType parse_dtype(const std::string& s);
const char* dtype_name(c10::ScalarType t);
c10::Device parse_device(const std::string& s);

}  // namespace unimrg
