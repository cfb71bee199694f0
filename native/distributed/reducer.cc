// DistributedDataParallel's gradient reducer. Parameters are cut into buckets (~25 MB, reverse
// registration order, as PyTorch does, since the last layers' gradients are ready first). A post
// hook on each parameter's gradient accumulator marks it ready during backward; when a bucket is
// complete (and every bucket before it has been launched) its gradients are flattened and its
// all-reduce is launched at once, so communication overlaps the rest of the backward pass.
// finish() launches what is left (parameters that got no gradient), then waits off the JS thread,
// averages and copies the results back into .grad.
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <unordered_map>

#include "distributed/job.h"

namespace unimrg::dist {
namespace {

struct Bucket {
  std::vector<size_t> params;
  size_t pending = 0;
  at::Tensor flat;
  c10::intrusive_ptr<c10d::Work> work;
};

struct Reducer {
  std::shared_ptr<Group> g;
  std::vector<at::Tensor> params;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators;  // keeps the hooked nodes alive
  std::vector<size_t> bucket_of;
  std::vector<bool> ready;
  std::vector<Bucket> buckets;
  size_t next = 0;            // buckets launch strictly in order, the same order on every rank
  bool armed = true;          // false inside noSync()
  int64_t in_backward = 0;    // buckets launched by hooks since the last finish
  std::string error;          // misuse seen by a hook, reported by finish()
  std::mutex mu;              // hooks run on autograd threads

  void reset() {
    for (auto& b : buckets) {
      b.pending = b.params.size();
      b.flat = at::Tensor();
      b.work.reset();
    }
    std::fill(ready.begin(), ready.end(), false);
    next = 0;
    in_backward = 0;
  }

  void launch(size_t bi) {
    Bucket& b = buckets[bi];
    std::vector<at::Tensor> parts;
    for (size_t i : b.params) {
      const at::Tensor& gr = params[i].grad();
      parts.push_back(gr.defined() ? gr.reshape(-1) : at::zeros({params[i].numel()}, params[i].options()));
    }
    b.flat = at::cat(parts);
    std::vector<at::Tensor> one{b.flat};
    c10d::AllreduceOptions o;
    o.timeout = g->cfg.timeout;
    b.work = g->pg->allreduce(one, o);
  }

  void on_grad_ready(size_t i) {
    std::lock_guard<std::mutex> lock(mu);
    if (!armed) return;
    if (ready[i]) {
      if (error.empty()) error = "a parameter received a gradient twice before syncGradients() (two backward passes outside noSync()?)";
      return;
    }
    if (next > bucket_of[i]) {
      if (error.empty()) error = "a gradient arrived after its bucket was all-reduced (backward after syncGradients() started?)";
      return;
    }
    ready[i] = true;
    buckets[bucket_of[i]].pending--;
    while (next < buckets.size() && buckets[next].pending == 0) {
      launch(next++);
      in_backward++;
    }
  }
};

std::mutex reducers_mutex;
auto* reducers = new std::unordered_map<int64_t, std::shared_ptr<Reducer>>();
int64_t next_reducer = 1;

std::shared_ptr<Reducer> find_reducer(const Napi::Value& v) {
  std::lock_guard<std::mutex> lock(reducers_mutex);
  auto it = reducers->find(v.As<Napi::Number>().Int64Value());
  if (it == reducers->end()) throw UserError("", "this DistributedDataParallel was destroyed");
  return it->second;
}

// reducerCreate(group, params[], bucketBytes) -> id
Napi::Value create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "distributed.DistributedDataParallel", [&]() -> Napi::Value {
    auto r = std::make_shared<Reducer>();
    r->g = group_arg(info[0]);
    std::vector<at::Tensor> all = tensor_list_arg(info[1]);
    const int64_t cap = info[2].As<Napi::Number>().Int64Value();
    for (const auto& p : all) {
      if (!p.requires_grad()) continue;
      if (!p.is_leaf()) throw UserError("", "DistributedDataParallel parameters must be leaf tensors");
      r->params.push_back(p);
    }
    const size_t n = r->params.size();
    r->bucket_of.assign(n, 0);
    r->ready.assign(n, false);
    // Reverse order; a bucket holds one dtype and device and closes past `cap` bytes.
    int64_t bytes = 0;
    for (size_t k = n; k-- > 0;) {
      const at::Tensor& p = r->params[k];
      bool fresh = r->buckets.empty() || bytes >= cap;
      if (!fresh) {
        const at::Tensor& first = r->params[r->buckets.back().params.front()];
        fresh = first.scalar_type() != p.scalar_type() || first.device() != p.device();
      }
      if (fresh) {
        r->buckets.emplace_back();
        bytes = 0;
      }
      r->buckets.back().params.push_back(k);
      r->bucket_of[k] = r->buckets.size() - 1;
      bytes += static_cast<int64_t>(p.numel()) * static_cast<int64_t>(p.element_size());
    }
    r->reset();
    std::weak_ptr<Reducer> weak = r;
    for (size_t k = 0; k < n; k++) {
      auto acc = torch::autograd::impl::grad_accumulator(r->params[k]);
      acc->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
          [weak, k](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
            if (auto self = weak.lock()) self->on_grad_ready(k);
            return outputs;
          }));
      r->accumulators.push_back(std::move(acc));
    }
    std::lock_guard<std::mutex> lock(reducers_mutex);
    int64_t id = next_reducer++;
    (*reducers)[id] = r;
    return Napi::Number::New(env, static_cast<double>(id));
  });
}

// reducerSetSync(id, sync): noSync() turns the hooks off; gradients then accumulate locally.
Napi::Value set_sync(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "distributed.DistributedDataParallel", [&]() -> Napi::Value {
    auto r = find_reducer(info[0]);
    std::lock_guard<std::mutex> lock(r->mu);
    r->armed = info[1].ToBoolean();
    return info.Env().Undefined();
  });
}

// reducerFinish(id) -> Promise<{ buckets, overlapped }>: the gradients, averaged over ranks.
Napi::Value finish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "distributed.syncGradients", [&]() -> Napi::Value {
    auto r = find_reducer(info[0]);
    std::vector<Bucket> buckets;
    int64_t overlapped;
    {
      std::lock_guard<std::mutex> lock(r->mu);
      if (!r->error.empty()) {
        std::string e = r->error;
        r->error.clear();
        r->reset();
        throw UserError("", e);
      }
      while (r->next < r->buckets.size()) r->launch(r->next++);
      buckets = r->buckets;  // flat buffers and works, by reference count
      overlapped = r->in_backward;
      r->reset();
    }
    const double total = static_cast<double>(buckets.size());
    return Job::start(env, "distributed.syncGradients", [r, buckets] {
      std::vector<c10::intrusive_ptr<c10d::Work>> works;
      for (const auto& b : buckets) works.push_back(b.work);
      wait_all(*r->g, "syncGradients (gradient all-reduce)", works);
      const double world = r->g->cfg.world;
      for (const auto& b : buckets) {
        b.flat.div_(world);
        int64_t off = 0;
        for (size_t i : b.params) {
          at::Tensor& p = r->params[i];
          at::Tensor part = b.flat.narrow(0, off, p.numel()).view(p.sizes());
          off += p.numel();
          if (p.grad().defined()) p.mutable_grad().copy_(part);
          else p.mutable_grad() = part.clone();
        }
      }
    }, [total, overlapped](Napi::Env e) {
      Napi::Object o = Napi::Object::New(e);
      o.Set("buckets", Napi::Number::New(e, total));
      o.Set("overlapped", Napi::Number::New(e, static_cast<double>(overlapped)));
      return o;
    });
  });
}

// reducerInfo(id) -> number[][]: the parameter indices (into the trainable list) of each bucket.
Napi::Value buckets_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "distributed.DistributedDataParallel", [&]() -> Napi::Value {
    auto r = find_reducer(info[0]);
    Napi::Array out = Napi::Array::New(env, r->buckets.size());
    for (size_t b = 0; b < r->buckets.size(); b++) {
      Napi::Array ps = Napi::Array::New(env, r->buckets[b].params.size());
      for (size_t j = 0; j < r->buckets[b].params.size(); j++) ps.Set(static_cast<uint32_t>(j), Napi::Number::New(env, static_cast<double>(r->buckets[b].params[j])));
      out.Set(static_cast<uint32_t>(b), ps);
    }
    return out;
  });
}

Napi::Value destroy(const Napi::CallbackInfo& info) {
  std::shared_ptr<Reducer> r;
  {
    std::lock_guard<std::mutex> lock(reducers_mutex);
    auto it = reducers->find(info[0].As<Napi::Number>().Int64Value());
    if (it == reducers->end()) return info.Env().Undefined();
    r = it->second;
    reducers->erase(it);
  }
  std::lock_guard<std::mutex> lock(r->mu);
  r->armed = false;  // the hooks stay on the accumulators but hold only a weak reference
  return info.Env().Undefined();
}

}  // namespace

void register_reducer(Napi::Env env, Napi::Object exports) {
  exports.Set("distReducerCreate", Napi::Function::New(env, create, "distReducerCreate"));
  exports.Set("distReducerSetSync", Napi::Function::New(env, set_sync, "distReducerSetSync"));
  exports.Set("distReducerFinish", Napi::Function::New(env, finish, "distReducerFinish"));
  exports.Set("distReducerBuckets", Napi::Function::New(env, buckets_info, "distReducerBuckets"));
  exports.Set("distReducerDestroy", Napi::Function::New(env, destroy, "distReducerDestroy"));
}

}  // namespace unimrg::dist
