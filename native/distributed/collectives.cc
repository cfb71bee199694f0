// allReduce, broadcast, allGather, reduceScatter, barrier: each returns a Promise (see job.h).
#include "distributed/job.h"

namespace unimrg::dist {

std::shared_ptr<Group> group_arg(const Napi::Value& v) {
  if (!v.IsNumber()) throw UserError("", "expected a process group id");
  return find_group(v.As<Napi::Number>().Int64Value());
}

void wait_all(Group& g, const char* op, const std::vector<c10::intrusive_ptr<c10d::Work>>& works) {
  try {
    for (const auto& w : works) w->wait(g.cfg.timeout);
  } catch (const std::exception& e) {
    std::string why = dynamic_cast<const c10::Error*>(&e) ? first_line(static_cast<const c10::Error&>(e).what_without_backtrace())
                                                          : first_line(e.what());
    std::string dead = g.cfg.world > 1 ? g.diagnose() : "";
    throw std::runtime_error(std::string(op) + " failed on rank " + std::to_string(g.cfg.rank) + " of " +
                             std::to_string(g.cfg.world) + (dead.empty() ? "" : ": " + dead) + " (" + why + ")");
  }
}

namespace {

c10d::ReduceOp reduce_op(const std::string& name) {
  if (name == "sum" || name == "avg") return c10d::ReduceOp::SUM;
  if (name == "product") return c10d::ReduceOp::PRODUCT;
  if (name == "min") return c10d::ReduceOp::MIN;
  if (name == "max") return c10d::ReduceOp::MAX;
  throw UserError("", "unknown reduce op '" + name + "' (sum, avg, product, min, max)");
}

// avg = sum / world (Gloo has no AVG); integer tensors use floor division.
void divide_by_world(const at::Tensor& t, int world) {
  if (at::isIntegralType(t.scalar_type(), true)) t.div_(world, "floor");
  else t.div_(world);
}

void check_dense(const std::vector<at::Tensor>& ts, const char* what) {
  for (const auto& t : ts) {
    if (!t.is_contiguous()) throw UserError("", std::string(what) + " must be contiguous (call .contiguous() first)");
  }
}

// allReduce(group, tensors[], op): in place on each tensor. avg = sum / world (Gloo has no AVG).
Napi::Value all_reduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "distributed.allReduce", [&]() -> Napi::Value {
    auto g = group_arg(info[0]);
    auto ts = tensor_list_arg(info[1]);
    std::string name = info[2].As<Napi::String>();
    c10d::AllreduceOptions o;
    o.reduceOp = reduce_op(name);
    o.timeout = g->cfg.timeout;
    check_dense(ts, "allReduce tensors");
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (auto& t : ts) {
      std::vector<at::Tensor> one{t};
      works.push_back(g->pg->allreduce(one, o));
    }
    return Job::start(env, "distributed.allReduce", [g, ts, works, name] {
      wait_all(*g, "allReduce", works);
      if (name == "avg") {
        for (const auto& t : ts) divide_by_world(t, g->cfg.world);
      }
    });
  });
}

// broadcast(group, tensors[], src): in place.
Napi::Value broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "distributed.broadcast", [&]() -> Napi::Value {
    auto g = group_arg(info[0]);
    auto ts = tensor_list_arg(info[1]);
    c10d::BroadcastOptions o;
    o.rootRank = info[2].As<Napi::Number>().Int32Value();
    o.timeout = g->cfg.timeout;
    if (o.rootRank < 0 || o.rootRank >= g->cfg.world) {
      throw UserError("", "src rank " + std::to_string(o.rootRank) + " is outside [0, " + std::to_string(g->cfg.world) + ")");
    }
    check_dense(ts, "broadcast tensors");
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (auto& t : ts) {
      std::vector<at::Tensor> one{t};
      works.push_back(g->pg->broadcast(one, o));
    }
    return Job::start(env, "distributed.broadcast", [g, works] { wait_all(*g, "broadcast", works); });
  });
}

// allGather(group, tensor) -> Promise<handle[world]>
Napi::Value all_gather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "distributed.allGather", [&]() -> Napi::Value {
    auto g = group_arg(info[0]);
    at::Tensor x = tensor_arg(info[1]);
    check_dense({x}, "allGather input");
    std::vector<std::vector<at::Tensor>> outs(1);
    for (int r = 0; r < g->cfg.world; r++) outs[0].push_back(at::empty_like(x, at::MemoryFormat::Contiguous));
    std::vector<at::Tensor> in{x};
    c10d::AllgatherOptions o;
    o.timeout = g->cfg.timeout;
    auto work = g->pg->allgather(outs, in, o);
    auto result = outs[0];
    return Job::start(env, "distributed.allGather", [g, work] { wait_all(*g, "allGather", {work}); },
                      [result](Napi::Env e) { return new_handles(e, result); });
  });
}

// reduceScatter(group, inputs[world], op) -> Promise<handle>: rank r gets op over ranks of inputs[r].
// Gloo in libtorch 1.13 has no reduce_scatter: it is an all-reduce of the stacked inputs, keeping
// this rank's row (same result, world times the traffic). NCCL uses its own.
Napi::Value reduce_scatter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "distributed.reduceScatter", [&]() -> Napi::Value {
    auto g = group_arg(info[0]);
    auto ins = tensor_list_arg(info[1]);
    std::string name = info[2].As<Napi::String>();
    if (static_cast<int>(ins.size()) != g->cfg.world) {
      throw UserError("", "reduceScatter needs one input per rank (" + std::to_string(g->cfg.world) + "), got " + std::to_string(ins.size()));
    }
    for (const auto& t : ins) {
      if (!t.sizes().equals(ins[0].sizes()) || t.scalar_type() != ins[0].scalar_type()) {
        throw UserError("", "reduceScatter inputs must share one shape and dtype");
      }
    }
    int rank = g->cfg.rank;
    at::Tensor out;
    c10::intrusive_ptr<c10d::Work> work;
    if (g->cfg.backend == "gloo") {
      at::Tensor stacked = at::stack(ins);
      std::vector<at::Tensor> one{stacked};
      c10d::AllreduceOptions o;
      o.reduceOp = reduce_op(name);
      o.timeout = g->cfg.timeout;
      work = g->pg->allreduce(one, o);
      out = stacked.select(0, rank);
    } else {
      out = at::empty_like(ins[0], at::MemoryFormat::Contiguous);
      std::vector<at::Tensor> outs{out};
      std::vector<std::vector<at::Tensor>> inputs{ins};
      c10d::ReduceScatterOptions o;
      o.reduceOp = reduce_op(name);
      o.timeout = g->cfg.timeout;
      work = g->pg->reduce_scatter(outs, inputs, o);
    }
    auto holder = std::make_shared<at::Tensor>(out);
    return Job::start(env, "distributed.reduceScatter", [g, work, holder, name] {
      wait_all(*g, "reduceScatter", {work});
      *holder = holder->clone();  // detach from the stacked buffer
      if (name == "avg") divide_by_world(*holder, g->cfg.world);
    }, [holder](Napi::Env e) { return new_handle(e, *holder); });
  });
}

Napi::Value barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "distributed.barrier", [&]() -> Napi::Value {
    auto g = group_arg(info[0]);
    c10d::BarrierOptions o;
    o.timeout = g->cfg.timeout;
    auto work = g->pg->barrier(o);
    return Job::start(env, "distributed.barrier", [g, work] { wait_all(*g, "barrier", {work}); });
  });
}

std::string get_string(const Napi::Object& o, const char* key, const std::string& dflt = "") {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : dflt;
}

int get_int(const Napi::Object& o, const char* key, int dflt) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : dflt;
}

// init({ backend, store, host, port, path, rank, worldSize, timeoutMs }) -> Promise<group id>
Napi::Value init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "distributed.init", [&]() -> Napi::Value {
    Napi::Object o = info[0].As<Napi::Object>();
    GroupConfig c;
    c.backend = get_string(o, "backend", "gloo");
    c.store = get_string(o, "store", "tcp");
    c.host = get_string(o, "host", "127.0.0.1");
    c.port = get_int(o, "port", 29500);
    c.path = get_string(o, "path");
    c.rank = get_int(o, "rank", 0);
    c.world = get_int(o, "worldSize", 1);
    c.timeout = std::chrono::milliseconds(static_cast<int64_t>(o.Get("timeoutMs").ToNumber().DoubleValue()));
    auto made = std::make_shared<std::shared_ptr<Group>>();
    return Job::start(env, "distributed.init", [c, made] { *made = create_group(c); },
                      [made](Napi::Env e) { return Napi::Number::New(e, static_cast<double>(register_group(*made))); });
  });
}

Napi::Value destroy(const Napi::CallbackInfo& info) {
  forget_group(info[0].As<Napi::Number>().Int64Value());
  return info.Env().Undefined();
}

}  // namespace

void register_collectives(Napi::Env env, Napi::Object exports) {
  exports.Set("distInit", Napi::Function::New(env, init, "distInit"));
  exports.Set("distDestroy", Napi::Function::New(env, destroy, "distDestroy"));
  exports.Set("distAllReduce", Napi::Function::New(env, all_reduce, "distAllReduce"));
  exports.Set("distBroadcast", Napi::Function::New(env, broadcast, "distBroadcast"));
  exports.Set("distAllGather", Napi::Function::New(env, all_gather, "distAllGather"));
  exports.Set("distReduceScatter", Napi::Function::New(env, reduce_scatter, "distReduceScatter"));
  exports.Set("distBarrier", Napi::Function::New(env, barrier, "distBarrier"));
}

}  // namespace unimrg::dist
