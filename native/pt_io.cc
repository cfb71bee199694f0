// `.pt` / `.pth` files written by Python's `torch.save(obj, path)` in the zip format (the default
// since PyTorch 1.6): `<name>/data.pkl` (a pickle, protocol 2) whose tensors point, through
// persistent ids, at raw storages `<name>/data/<key>`. The zip is read with libtorch's own
// PyTorchStreamReader (the reader behind torch::jit::pickle_load). The pickle is read here, not by
// torch::jit::pickle_load: libtorch 1.13's unpickler (made for TorchScript's own pickles) turns
// every collections.OrderedDict — what `module.state_dict()` returns — into None and has no
// SETITEM / APPEND opcodes (a one-entry dict, a one-element list), so it cannot read an ordinary
// state dict. This reader understands the opcodes Python's pickler emits for protocols 2–4 and
// rebuilds only what state dicts hold: containers, scalars, strings, tensors
// (torch._utils._rebuild_tensor_v2 / _rebuild_parameter over typed storages, views sharing their
// storage as in PyTorch) and OrderedDicts (as dicts); any other object becomes an opaque leaf.
// Nothing is executed (the reader: unpickler.cc). The legacy (pre-1.6) format is refused with a clear error.
#include <caffe2/serialize/inline_container.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

#include "errors.h"
#include "state.h"
#include "unpickler.h"

namespace unimrg {
namespace {

using pickle::describe;
using pickle::Obj;
using pickle::P;


std::vector<char> read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw UserError("", "cannot open " + path + ": " + std::strerror(errno));
  std::streamoff size = in.tellg();
  if (size < 0) throw UserError("", "cannot read " + path + " (not a regular file?)");
  std::vector<char> data(static_cast<size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(data.data(), size)) throw UserError("", "reading " + path + " failed: " + std::strerror(errno));
  return data;
}

std::string key_name(const Obj& k) {
  if (k.kind == Obj::Str) return k.s;
  if (k.kind == Obj::Int) return std::to_string(k.i);
  throw UserError("", "a dict key is " + describe(k) + "; only string and int keys are supported");
}

struct Collected {
  std::vector<std::string> names;
  std::vector<at::Tensor> tensors;
  std::vector<std::string> skipped;
};

void walk(const Obj& v, const std::string& prefix, Collected& out, int depth) {
  if (depth > 100) throw UserError("", "dicts nested more than 100 deep");
  if (v.kind == Obj::Dict) {
    for (const auto& [k, val] : v.dict) {
      std::string name = key_name(*k);
      walk(*val, prefix.empty() ? name : prefix + "." + name, out, depth + 1);
    }
  } else if (v.kind == Obj::Tensor) {
    out.names.push_back(prefix);
    out.tensors.push_back(v.t);
  } else {
    out.skipped.push_back(prefix);
  }
}

struct VectorAdapter : caffe2::serialize::ReadAdapterInterface {
  std::vector<char> data;
  explicit VectorAdapter(std::vector<char> d) : data(std::move(d)) {}
  size_t size() const override { return data.size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* = "") const override {
    if (pos >= data.size()) return 0;
    n = std::min<size_t>(n, data.size() - pos);
    std::memcpy(buf, data.data() + pos, n);
    return n;
  }
};

// readPt(path) -> { names, handles, skipped }
Napi::Value read_pt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "readPt", [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsString()) throw UserError("", "readPt(path): path must be a string");
    std::string path = info[0].As<Napi::String>().Utf8Value();
    std::vector<char> data = read_whole_file(path);
    const std::string pt = ".pt file " + path + ": ";
    if (data.size() < 4) throw UserError("", pt + "the file holds " + std::to_string(data.size()) + " bytes (empty or truncated)");
    if (!(data[0] == 'P' && data[1] == 'K' && data[2] == 3 && data[3] == 4)) {
      // Legacy torch.save files start with a pickle (protocol 2: 0x80 0x02) of the magic number.
      bool legacy = static_cast<unsigned char>(data[0]) == 0x80;
      throw UserError("", pt + (legacy ? "this is the legacy (pre-1.6) torch.save format, which libtorch cannot read; "
                                         "re-save it in Python with torch.save(obj, path) (zip format, the default since 1.6)"
                                       : "not a zip archive, so not written by torch.save (zip format, PyTorch >= 1.6)"));
    }
    P root;
    try {
      // The zip reader takes ownership of an adapter over our copy of the file.
      auto zip = std::make_unique<caffe2::serialize::PyTorchStreamReader>(std::make_shared<VectorAdapter>(std::move(data)));
      if (!zip->hasRecord("data.pkl")) throw UserError("", "the archive has no data.pkl (not written by torch.save?)");
      auto [pkl, n] = zip->getRecord("data.pkl");
      root = pickle::unpickle(static_cast<const char*>(pkl.get()), n, *zip);
    } catch (const UserError& e) {
      throw UserError("", pt + "cannot unpickle: " + e.what());
    } catch (const c10::Error& e) {
      throw UserError("", pt + "cannot read the archive (corrupt or truncated?): " + first_line(e.what_without_backtrace()));
    }
    if (root->kind != Obj::Dict) throw UserError("", pt + "the saved object is " + describe(*root) + ", not a dict (a state dict was expected)");
    Collected c;
    walk(*root, "", c, 0);
    Napi::Array names = Napi::Array::New(env, c.names.size());
    Napi::Array handles = Napi::Array::New(env, c.tensors.size());
    Napi::Array skipped = Napi::Array::New(env, c.skipped.size());
    HandleTable& table = state().tensors;
    for (size_t i = 0; i < c.names.size(); i++) {
      names.Set(static_cast<uint32_t>(i), Napi::String::New(env, c.names[i]));
      handles.Set(static_cast<uint32_t>(i), Napi::Number::New(env, table.put(env, std::move(c.tensors[i]))));
    }
    for (size_t i = 0; i < c.skipped.size(); i++) skipped.Set(static_cast<uint32_t>(i), Napi::String::New(env, c.skipped[i]));
    Napi::Object out = Napi::Object::New(env);
    out.Set("names", names);
    out.Set("handles", handles);
    out.Set("skipped", skipped);
    return out;
  });
}

}  // namespace

void register_pt_io(Napi::Env env, Napi::Object exports) {
  exports.Set("readPt", Napi::Function::New(env, read_pt, "readPt"));
}

}  // namespace unimrg
