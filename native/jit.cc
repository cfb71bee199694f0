// TorchScript modules: load a `torch.jit.save`d file (onto a device, in eval mode), call its
// `forward` with tensor handles, dispose it; and, so that tests need no Python, define a module
// from TorchScript source with registered parameters and buffers and save it.
// Modules live in a per-thread table (like the tensors, see state.h): JS holds an integer id.
// Only the jit module and import headers are included, not <torch/script.h> (which pulls the
// whole C++ frontend), to keep this translation unit quick to compile.
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>

#include <fstream>
#include <unordered_map>

#include "errors.h"
#include "js_tensors.h"
#include "state.h"

// libtorch_cpu exports it (1.13 and 2.6 alike); its header, codegen/fuser/interface.h, is not
// installed by Debian's packages.
namespace torch::jit {
TORCH_API void overrideCanFuseOnCPU(bool value);
}

namespace unimrg {
namespace {

// TorchScript's profiling executor fuses elementwise CPU code with NNC from the second call on.
// libtorch 2.6 built without LLVM (Debian's) miscompiles those kernels: a teacher's second batch
// came back all zeros. Teachers spend their time in convolutions and matmuls, not in fusable
// elementwise chains, so CPU fusion is turned off for the process (GPU fusion is untouched).
void keep_cpu_fusion_off() {
  static const bool done = (torch::jit::overrideCanFuseOnCPU(false), true);
  (void)done;
}

struct ModuleTable {
  std::unordered_map<int32_t, torch::jit::Module> modules;
  int32_t next = 1;
};

ModuleTable& modules() {
  thread_local ModuleTable table;  // one per JS thread, freed with it
  return table;
}

torch::jit::Module& module_arg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw UserError("", "expected a ScriptModule id");
  auto& m = modules().modules;
  auto it = m.find(info[i].As<Napi::Number>().Int32Value());
  if (it == m.end()) throw UserError("", "this ScriptModule was disposed; it can no longer be used");
  return it->second;
}

int32_t put_module(torch::jit::Module m) {
  ModuleTable& t = modules();
  int32_t id = t.next++;
  t.modules.emplace(id, std::move(m));
  return id;
}

std::string string_arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString()) throw UserError("", std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

// The useful line of a TorchScript failure. Interpreter errors start with "The following
// operation failed in the TorchScript interpreter." and a traceback; the cause is the last line
// (e.g. "RuntimeError: mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)").
std::string jit_message(const std::string& s) {
  if (s.rfind("The following operation failed", 0) != 0) return first_line(s);
  size_t end = s.find_last_not_of(" \n\t");
  if (end == std::string::npos) return first_line(s);
  size_t start = s.rfind('\n', end);
  return s.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start == std::string::npos ? 0 : start + 1));
}

c10::Device device_arg(const std::string& name) {
  c10::Device d = parse_device(name);
  if (!d.is_cpu() && !d.is_cuda()) throw UserError("", "device '" + name + "': only cpu and cuda are supported");
  return d;
}

// jitLoad(path, device) -> module id
Napi::Value jit_load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "jit.load", [&]() -> Napi::Value {
    keep_cpu_fusion_off();
    std::string path = string_arg(info, 0, "jit.load(path): path");
    c10::Device device = device_arg(info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "cpu");
    if (!std::ifstream(path, std::ios::binary).good()) throw UserError("", "cannot open " + path + " (no such file, or not readable)");
    torch::jit::Module m;
    try {
      m = torch::jit::load(path, device);
    } catch (const c10::Error& e) {
      throw UserError("", path + " is not a TorchScript file (save one with torch.jit.save or torch.jit.trace(...).save): " +
                              jit_message(e.what_without_backtrace()));
    }
    if (!m.find_method("forward")) throw UserError("", path + ": the TorchScript module has no forward method");
    m.eval();
    return Napi::Number::New(env, put_module(std::move(m)));
  });
}

// jitDefine(source, parameters: {name: handle}, buffers: {name: handle}) -> module id
Napi::Value jit_define(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "jit.define", [&]() -> Napi::Value {
    keep_cpu_fusion_off();
    std::string source = string_arg(info, 0, "jit.define(source): source");
    torch::jit::Module m("__torch__.unimrg.Defined");
    m.register_attribute("training", c10::BoolType::get(), true);  // as nn.Module: train mode until load()
    HandleTable& table = state().tensors;
    for (size_t a = 1; a <= 2; a++) {
      if (info.Length() <= a || info[a].IsUndefined() || info[a].IsNull()) continue;
      if (!info[a].IsObject()) throw UserError("", "parameters and buffers must be objects of tensors");
      Napi::Object o = info[a].As<Napi::Object>();
      Napi::Array names = o.GetPropertyNames();
      for (uint32_t i = 0; i < names.Length(); i++) {
        std::string name = names.Get(i).As<Napi::String>().Utf8Value();
        Napi::Value h = o.Get(name);
        if (!h.IsNumber()) throw UserError("", "'" + name + "' is not a tensor");
        at::Tensor t = table.get(h.As<Napi::Number>().Int64Value()).detach().clone();
        if (a == 1) m.register_parameter(name, t, /*is_buffer=*/false);
        else m.register_buffer(name, t);
      }
    }
    try {
      m.define(source);
    } catch (const std::exception& e) {
      // The compiler's ErrorReport: the message, then the source excerpt ("File "<string>", line N").
      std::string s = e.what();
      size_t at = s.find("\", line ");
      std::string where = at == std::string::npos ? "" : " (line " + s.substr(at + 8, s.find_first_not_of("0123456789", at + 8) - at - 8) + ")";
      std::string msg = first_line(s);
      while (!msg.empty() && (msg.back() == ':' || msg.back() == ' ')) msg.pop_back();
      if (msg.size() > 5 && msg.compare(msg.size() - 5, 5, " here") == 0) msg.resize(msg.size() - 5);
      throw UserError("", "cannot compile the TorchScript source: " + msg + where);
    }
    if (!m.find_method("forward")) throw UserError("", "the TorchScript source defines no forward method");
    return Napi::Number::New(env, put_module(std::move(m)));
  });
}

// jitSave(id, path)
Napi::Value jit_save(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "jit.save", [&]() -> Napi::Value {
    torch::jit::Module& m = module_arg(info, 0);
    std::string path = string_arg(info, 1, "save(path): path");
    try {
      m.save(path);
    } catch (const c10::Error& e) {
      throw UserError("", "cannot save to " + path + ": " + first_line(e.what_without_backtrace()));
    }
    return env.Undefined();
  });
}

// Checks that an output holds only tensors in tuples, lists and string-keyed dicts (so that no
// handle is made before we know the whole value converts).
void check_output(const c10::IValue& v, const std::string& where, int depth) {
  if (depth > 16) throw UserError("", "forward returned a value nested too deeply");
  if (v.isTensor()) return;
  if (v.isTuple()) {
    const auto& els = v.toTupleRef().elements();
    for (size_t i = 0; i < els.size(); i++) check_output(els[i], where + "[" + std::to_string(i) + "]", depth + 1);
    return;
  }
  if (v.isList()) {
    c10::List<c10::IValue> l = v.toList();
    for (size_t i = 0; i < l.size(); i++) check_output(l.get(i), where + "[" + std::to_string(i) + "]", depth + 1);
    return;
  }
  if (v.isGenericDict()) {
    for (const auto& kv : v.toGenericDict()) {
      if (!kv.key().isString()) throw UserError("", "forward returned a dict with " + kv.key().tagKind() + " keys at " + where + "; only string keys are supported");
      check_output(kv.value(), where + "['" + kv.key().toStringRef() + "']", depth + 1);
    }
    return;
  }
  throw UserError("", "forward returned " + v.tagKind() + " at " + where +
                          "; only tensors and tuples, lists or dicts (string keys) of tensors are supported");
}

Napi::Value to_js(Napi::Env env, const c10::IValue& v) {
  if (v.isTensor()) return new_handle(env, v.toTensor());
  if (v.isTuple() || v.isList()) {
    std::vector<c10::IValue> els = v.isTuple() ? v.toTupleRef().elements().vec() : v.toList().vec();
    Napi::Array a = Napi::Array::New(env, els.size());
    for (size_t i = 0; i < els.size(); i++) a.Set(static_cast<uint32_t>(i), to_js(env, els[i]));
    return a;
  }
  Napi::Object o = Napi::Object::New(env);  // a dict, checked by check_output
  for (const auto& kv : v.toGenericDict()) o.Set(kv.key().toStringRef(), to_js(env, kv.value()));
  return o;
}

// jitForward(id, handles[]) -> handle | nested arrays / objects of handles
Napi::Value jit_forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "jit.forward", [&]() -> Napi::Value {
    torch::jit::Module& m = module_arg(info, 0);
    if (info.Length() < 2 || !info[1].IsArray()) throw UserError("", "forward(...tensors): expected an array of tensor handles");
    Napi::Array a = info[1].As<Napi::Array>();
    std::vector<c10::IValue> inputs;
    inputs.reserve(a.Length());
    HandleTable& table = state().tensors;
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value h = a.Get(i);
      if (!h.IsNumber()) throw UserError("", "forward: argument " + std::to_string(i) + " is not a tensor");
      inputs.emplace_back(table.get(h.As<Napi::Number>().Int64Value()));
    }
    c10::IValue out;
    try {
      out = m.forward(std::move(inputs));
    } catch (const c10::Error& e) {
      throw UserError("", "forward: " + jit_message(e.what_without_backtrace()));
    } catch (const std::exception& e) {  // the interpreter rethrows op failures as std::runtime_error
      throw UserError("", "forward: " + jit_message(e.what()));
    }
    check_output(out, "the output", 0);
    return to_js(env, out);
  });
}

// jitDispose(id): frees the module (its parameters go when no tensor shares them).
Napi::Value jit_dispose(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsNumber()) modules().modules.erase(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

}  // namespace

void register_jit(Napi::Env env, Napi::Object exports) {
  exports.Set("jitLoad", Napi::Function::New(env, jit_load, "jitLoad"));
  exports.Set("jitDefine", Napi::Function::New(env, jit_define, "jitDefine"));
  exports.Set("jitSave", Napi::Function::New(env, jit_save, "jitSave"));
  exports.Set("jitForward", Napi::Function::New(env, jit_forward, "jitForward"));
  exports.Set("jitDispose", Napi::Function::New(env, jit_dispose, "jitDispose"));
}

}  // namespace unimrg
