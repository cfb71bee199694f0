// Fused multi-tensor optimiser steps and gradient clipping: one native call updates every
// parameter. Gradients are read from each parameter's .grad here (no JS handle per grad).
// float32 contiguous CPU tensors take a fused per-element loop (one pass over p, g, m, v,
// threaded with at::parallel_for); any other dtype or device falls back to the same formula
// in ATen ops (PyTorch 1.13's _single_tensor_adamw / sgd order of operations).
#include <ATen/Parallel.h>
#include <cmath>

#include "errors.h"
#include "optim_loops.h"
#include "napi_values.h"
#include "state.h"

namespace unimrg {
namespace {

constexpr int64_t kGrain = 1 << 14;

bool fast_f32(const at::Tensor& a) {
  return a.device().is_cpu() && a.scalar_type() == at::kFloat && a.is_contiguous() && !a.is_conj() && !a.is_neg();
}

std::vector<at::Tensor> tensor_list(napi_env env, napi_value arr, const char* what) {
  if (!is_array(env, arr)) throw UserError("", std::string(what) + " must be an array of tensor handles");
  uint32_t n = array_length(env, arr);
  std::vector<at::Tensor> out(n);
  HandleTable& table = state().tensors;
  for (uint32_t i = 0; i < n; i++) out[i] = table.get(get_int32(env, array_get(env, arr, i)));
  return out;
}

struct F64Array {
  double* data = nullptr;
  size_t length = 0;
};

F64Array f64_array(napi_env env, napi_value v, const char* what) {
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  if (!is_ta) throw UserError("", std::string(what) + " must be a Float64Array");
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value buffer;
  size_t offset;
  napi_get_typedarray_info(env, v, &type, &length, &data, &buffer, &offset);
  if (type != napi_float64_array) throw UserError("", std::string(what) + " must be a Float64Array");
  return {static_cast<double*>(data), length};
}

void check_pair(const at::Tensor& p, const at::Tensor& s, const char* what, size_t i) {
  if (!s.sizes().equals(p.sizes()) || s.device() != p.device()) {
    throw UserError("", std::string(what) + " of parameter " + std::to_string(i) + " has shape " + c10::str(s.sizes()) +
                            " on " + s.device().str() + " but the parameter has " + c10::str(p.sizes()) + " on " +
                            p.device().str());
  }
}

// adamw(params[], expAvg[], expAvgSq[], steps: Float64Array, hyper: Float64Array, maximize)
// hyper holds 5 numbers per parameter: lr, beta1, beta2, eps, weightDecay. A parameter without a
// gradient is skipped; the others get steps[i] += 1 first. Returns how many were updated.
Napi::Value adamw(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  return guarded(info.Env(), "AdamW.step", [&]() -> Napi::Value {
    auto params = tensor_list(env, info[0], "params");
    auto exp_avg = tensor_list(env, info[1], "expAvg");
    auto exp_avg_sq = tensor_list(env, info[2], "expAvgSq");
    F64Array steps = f64_array(env, info[3], "steps");
    F64Array hyper = f64_array(env, info[4], "hyper");
    bool maximize = info.Length() > 5 && info[5].ToBoolean().Value();
    size_t n = params.size();
    if (exp_avg.size() != n || exp_avg_sq.size() != n || steps.length != n || hyper.length != 5 * n) {
      throw UserError("", "params, expAvg, expAvgSq, steps and hyper (5 per parameter) must have matching lengths");
    }
    at::NoGradGuard no_grad;
    int updated = 0;
    for (size_t i = 0; i < n; i++) {
      at::Tensor p = params[i];
      at::Tensor g = p.grad();
      if (!g.defined()) continue;
      check_pair(p, exp_avg[i], "expAvg", i);
      check_pair(p, exp_avg_sq[i], "expAvgSq", i);
      check_pair(p, g, "the gradient", i);
      const double* h = hyper.data + 5 * i;
      double lr = h[0], beta1 = h[1], beta2 = h[2], eps = h[3], wd = h[4];
      double step = (steps.data[i] += 1);
      double bc1 = 1 - std::pow(beta1, step);
      double bc2 = 1 - std::pow(beta2, step);
      double step_size = lr / bc1;
      double bc2_sqrt = std::sqrt(bc2);
      at::Tensor m = exp_avg[i], v = exp_avg_sq[i];
      if (fast_f32(p) && fast_f32(g) && fast_f32(m) && fast_f32(v)) {
        float* pp = p.data_ptr<float>();
        const float* gp = g.data_ptr<float>();
        float* mp = m.data_ptr<float>();
        float* vp = v.data_ptr<float>();
        float decay = static_cast<float>(1 - lr * wd);
        float b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
        float omb1 = static_cast<float>(1 - beta1), omb2 = static_cast<float>(1 - beta2);
        float inv = static_cast<float>(1 / bc2_sqrt), e = static_cast<float>(eps);
        float nss = static_cast<float>(-step_size), sign = maximize ? -1.f : 1.f;
        at::parallel_for(0, p.numel(), kGrain, [&](int64_t begin, int64_t end) {
          adamw_f32(pp + begin, gp + begin, mp + begin, vp + begin, end - begin, decay, b1, omb1, b2, omb2, inv, e, nss, sign);
        });
      } else {
        at::Tensor gg = maximize ? g.neg() : g;
        p.mul_(1 - lr * wd);
        m.mul_(beta1).add_(gg, 1 - beta1);
        v.mul_(beta2).addcmul_(gg, gg, 1 - beta2);
        at::Tensor denom = (v.sqrt() / bc2_sqrt).add_(eps);
        p.addcdiv_(m, denom, -step_size);
      }
      updated++;
    }
    return Napi::Number::New(env, updated);
  });
}

// sgd(params[], momentumBuffers[], steps: Float64Array, hyper: Float64Array, maximize)
// hyper: 5 per parameter: lr, momentum, dampening, weightDecay, nesterov (0/1). The buffers must
// exist when momentum != 0 (any handle otherwise); at steps[i] == 0 the buffer takes the update.
Napi::Value sgd(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  return guarded(info.Env(), "SGD.step", [&]() -> Napi::Value {
    auto params = tensor_list(env, info[0], "params");
    auto bufs = tensor_list(env, info[1], "momentumBuffers");
    F64Array steps = f64_array(env, info[2], "steps");
    F64Array hyper = f64_array(env, info[3], "hyper");
    bool maximize = info.Length() > 4 && info[4].ToBoolean().Value();
    size_t n = params.size();
    if (bufs.size() != n || steps.length != n || hyper.length != 5 * n) {
      throw UserError("", "params, momentumBuffers, steps and hyper (5 per parameter) must have matching lengths");
    }
    at::NoGradGuard no_grad;
    int updated = 0;
    for (size_t i = 0; i < n; i++) {
      at::Tensor p = params[i];
      at::Tensor g = p.grad();
      if (!g.defined()) continue;
      check_pair(p, g, "the gradient", i);
      const double* h = hyper.data + 5 * i;
      double lr = h[0], momentum = h[1], dampening = h[2], wd = h[3];
      bool nesterov = h[4] != 0;
      bool first = steps.data[i] == 0;
      steps.data[i] += 1;
      at::Tensor b = bufs[i];
      if (momentum != 0) check_pair(p, b, "the momentum buffer", i);
      if (fast_f32(p) && fast_f32(g) && (momentum == 0 || fast_f32(b))) {
        float* pp = p.data_ptr<float>();
        const float* gp = g.data_ptr<float>();
        float* bp = momentum != 0 ? b.data_ptr<float>() : nullptr;
        float flr = static_cast<float>(lr), fwd = static_cast<float>(wd), fm = static_cast<float>(momentum);
        float omd = static_cast<float>(1 - dampening), sign = maximize ? -1.f : 1.f;
        at::parallel_for(0, p.numel(), kGrain, [&](int64_t begin, int64_t end) {
          sgd_f32(pp + begin, gp + begin, bp ? bp + begin : nullptr, end - begin, flr, fwd, fm, omd, first, nesterov, sign);
        });
      } else {
        at::Tensor d = maximize ? g.neg() : g;
        if (wd != 0) d = d.add(p, wd);
        if (momentum != 0) {
          if (first) b.copy_(d); else b.mul_(momentum).add_(d, 1 - dampening);
          d = nesterov ? d.add(b, momentum) : b;
        }
        p.add_(d, -lr);
      }
      updated++;
    }
    return Napi::Number::New(env, updated);
  });
}

// clipGradNorm(params[], maxNorm, normType, errorIfNonfinite) -> total norm of the gradients
// (as one vector), scaling them in place by maxNorm / (total + 1e-6) when that is below 1.
Napi::Value clip_grad_norm(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  return guarded(info.Env(), "clipGradNorm", [&]() -> Napi::Value {
    auto params = tensor_list(env, info[0], "params");
    double max_norm = info[1].As<Napi::Number>().DoubleValue();
    double norm_type = info[2].As<Napi::Number>().DoubleValue();
    bool error_if_nonfinite = info.Length() > 3 && info[3].ToBoolean().Value();
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> grads;
    for (auto& p : params) {
      at::Tensor g = p.grad();
      if (g.defined()) grads.push_back(g);
    }
    if (grads.empty()) return Napi::Number::New(env, 0.0);
    double total = 0;
    if (std::isinf(norm_type)) {
      for (auto& g : grads) total = std::max(total, g.abs().max().item<double>());
    } else if (norm_type == 2) {
      double sq = 0;
      for (auto& g : grads) {
        if (fast_f32(g)) {
          const float* gp = g.data_ptr<float>();
          sq += at::parallel_reduce(0, g.numel(), kGrain, 0.0, [&](int64_t b, int64_t e, double acc) {
            return acc + sum_squares_f32(gp + b, e - b);
          }, std::plus<double>());
        } else {
          double n = at::linalg_vector_norm(g, 2, c10::nullopt, false, at::kDouble).item<double>();
          sq += n * n;
        }
      }
      total = std::sqrt(sq);
    } else {
      double acc = 0;
      for (auto& g : grads) acc += std::pow(at::linalg_vector_norm(g, norm_type, c10::nullopt, false, at::kDouble).item<double>(), norm_type);
      total = std::pow(acc, 1 / norm_type);
    }
    if (error_if_nonfinite && !std::isfinite(total)) {
      throw UserError("clipGradNorm", "the total norm of order " + std::to_string(norm_type) +
                                          " of the gradients is non-finite, so it cannot be clipped");
    }
    double coef = max_norm / (total + 1e-6);
    if (coef < 1) {
      for (auto& g : grads) g.mul_(coef);
    }
    return Napi::Number::New(env, total);
  });
}

}  // namespace

void register_optim(Napi::Env env, Napi::Object exports) {
  exports.Set("adamw", Napi::Function::New(env, adamw, "adamw"));
  exports.Set("sgd", Napi::Function::New(env, sgd, "sgd"));
  exports.Set("clipGradNorm", Napi::Function::New(env, clip_grad_norm, "clipGradNorm"));
}

}  // namespace unimrg
