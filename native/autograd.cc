// Autograd from JavaScript: requires_grad, .grad, backward, autograd.grad, grad mode.
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/variable.h>

#include "errors.h"
#include "js_tensors.h"
#include "state.h"

namespace unimrg {
namespace {

Napi::Value requires_grad(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "requiresGrad", [&]() -> Napi::Value {
    return Napi::Boolean::New(info.Env(), tensor_arg(info[0]).requires_grad());
  });
}

Napi::Value set_requires_grad(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "requiresGrad", [&]() -> Napi::Value {
    at::Tensor t = tensor_arg(info[0]);
    t.set_requires_grad(info[1].As<Napi::Boolean>());
    return info.Env().Undefined();
  });
}

Napi::Value grad(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "grad", [&]() -> Napi::Value { return new_handle_or_null(info.Env(), tensor_arg(info[0]).grad()); });
}

Napi::Value set_grad(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "grad", [&]() -> Napi::Value {
    at::Tensor t = tensor_arg(info[0]);
    if (info[1].IsNull() || info[1].IsUndefined()) t.mutable_grad().reset();
    else t.mutable_grad() = tensor_arg(info[1]);
    return info.Env().Undefined();
  });
}

Napi::Value is_leaf(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "isLeaf", [&]() -> Napi::Value { return Napi::Boolean::New(info.Env(), tensor_arg(info[0]).is_leaf()); });
}

Napi::Value grad_fn(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "gradFn", [&]() -> Napi::Value {
    const auto& fn = tensor_arg(info[0]).grad_fn();
    if (!fn) return info.Env().Null();
    std::string name = fn->name();  // torch::autograd::generated::AddBackward0 -> AddBackward0
    size_t colon = name.rfind("::");
    return Napi::String::New(info.Env(), colon == std::string::npos ? name : name.substr(colon + 2));
  });
}

Napi::Value retain_grad(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "retainGrad", [&]() -> Napi::Value {
    tensor_arg(info[0]).retain_grad();
    return info.Env().Undefined();
  });
}

// backward(outputs[], grads[] | null, retainGraph, createGraph)
Napi::Value backward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "backward", [&]() -> Napi::Value {
    std::vector<at::Tensor> outputs = tensor_list_arg(info[0], false);
    std::vector<at::Tensor> grads = tensor_list_arg(info[1], true);
    bool create = info[3].ToBoolean();
    c10::optional<bool> retain;
    if (info[2].IsBoolean()) retain = info[2].As<Napi::Boolean>().Value();
    for (size_t i = 0; i < outputs.size(); i++) {
      if (!outputs[i].requires_grad()) {
        throw UserError("backward", "element " + std::to_string(i) +
                                        " of the tensors does not require grad and has no grad_fn");
      }
      bool has_grad = i < grads.size() && grads[i].defined();
      if (!has_grad && outputs[i].numel() != 1) {
        throw UserError("backward", "grad can be implicitly created only for scalar outputs; pass a gradient for a tensor of shape " +
                                        c10::str(outputs[i].sizes()));
      }
    }
    torch::autograd::backward(outputs, grads, retain, create);
    return info.Env().Undefined();
  });
}

// grad(outputs[], inputs[], gradOutputs[] | null, retainGraph, createGraph, allowUnused)
Napi::Value autograd_grad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "autograd.grad", [&]() -> Napi::Value {
    std::vector<at::Tensor> outputs = tensor_list_arg(info[0], false);
    std::vector<at::Tensor> inputs = tensor_list_arg(info[1], false);
    std::vector<at::Tensor> grad_outputs = tensor_list_arg(info[2], true);
    c10::optional<bool> retain;
    if (info[3].IsBoolean()) retain = info[3].As<Napi::Boolean>().Value();
    bool create = info[4].ToBoolean();
    bool allow_unused = info[5].ToBoolean();
    auto grads = torch::autograd::grad(outputs, inputs, grad_outputs, retain, create, allow_unused);
    Napi::Array out = Napi::Array::New(env, grads.size());
    for (size_t i = 0; i < grads.size(); i++) out.Set(static_cast<uint32_t>(i), new_handle_or_null(env, grads[i]));
    return out;
  });
}

Napi::Value set_grad_enabled(const Napi::CallbackInfo& info) {
  bool prev = at::GradMode::is_enabled();
  at::GradMode::set_enabled(info[0].ToBoolean());
  return Napi::Boolean::New(info.Env(), prev);
}

Napi::Value is_grad_enabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
}

}  // namespace

void register_autograd(Napi::Env env, Napi::Object exports) {
  exports.Set("requiresGrad", Napi::Function::New(env, requires_grad, "requiresGrad"));
  exports.Set("setRequiresGrad", Napi::Function::New(env, set_requires_grad, "setRequiresGrad"));
  exports.Set("grad", Napi::Function::New(env, grad, "grad"));
  exports.Set("setGrad", Napi::Function::New(env, set_grad, "setGrad"));
  exports.Set("isLeaf", Napi::Function::New(env, is_leaf, "isLeaf"));
  exports.Set("gradFn", Napi::Function::New(env, grad_fn, "gradFn"));
  exports.Set("retainGrad", Napi::Function::New(env, retain_grad, "retainGrad"));
  exports.Set("backward", Napi::Function::New(env, backward, "backward"));
  exports.Set("autogradGrad", Napi::Function::New(env, autograd_grad, "autogradGrad"));
  exports.Set("setGradEnabled", Napi::Function::New(env, set_grad_enabled, "setGradEnabled"));
  exports.Set("isGradEnabled", Napi::Function::New(env, is_grad_enabled, "isGradEnabled"));
}

}  // namespace unimrg
