// The pickle reader behind readPt (pt_io.cc): Python's pickle opcodes for protocols 2–4, enough
// to rebuild what a state dict holds (containers, scalars, strings, tensors over the archive's
// storages, OrderedDicts as dicts). Nothing is executed; any other object becomes an opaque leaf
// named by the callable that would have built it.
#pragma once
#include "pch.h"
#include <caffe2/serialize/inline_container.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace unimrg {
namespace pickle {

struct Obj;
using P = std::shared_ptr<Obj>;
struct Obj {
  enum Kind { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Global, Tensor, Storage, Other } kind = None;
  int64_t i = 0;
  double d = 0;
  std::string s;  // Str/Bytes: the text; Global: "module.name"; Other: the callable's name
  std::vector<P> items;
  std::vector<std::pair<P, P>> dict;
  at::Tensor t;
  c10::Storage storage;
  c10::ScalarType dtype = c10::ScalarType::Float;
};

/** What an object is, for error messages ("a dict", "the global collections.OrderedDict"). */
std::string describe(const Obj& v);

/** The root object of the pickle `data` (n bytes); tensors' storages are read from `zip`. Throws UserError. */
P unpickle(const char* data, size_t n, caffe2::serialize::PyTorchStreamReader& zip);

}  // namespace pickle
}  // namespace unimrg
