// A collective as a Promise: the JS thread enqueues the work (so every rank issues collectives in
// program order, as c10d requires) and a libuv worker waits for it, so the event loop never blocks.
#pragma once
#include <torch/csrc/distributed/c10d/Work.hpp>

#include <functional>
#include <string>
#include <vector>

#include "distributed/group.h"
#include "errors.h"
#include "js_tensors.h"
#include "state.h"

namespace unimrg::dist {

class Job : public Napi::AsyncWorker {
 public:
  using Exec = std::function<void()>;
  using Done = std::function<Napi::Value(Napi::Env)>;
  Job(Napi::Env env, std::string op, Exec exec, Done done = nullptr)
      : Napi::AsyncWorker(env, "unimrg.distributed"), deferred_(Napi::Promise::Deferred::New(env)), op_(std::move(op)),
        exec_(std::move(exec)), done_(std::move(done)) {}

  // Queues the job and returns its promise (the job deletes itself when done).
  static Napi::Value start(Napi::Env env, std::string op, Exec exec, Done done = nullptr) {
    auto* job = new Job(env, std::move(op), std::move(exec), std::move(done));
    Napi::Promise p = job->deferred_.Promise();
    job->Queue();
    return p;
  }

  void Execute() override {
    try {
      exec_();
    } catch (const c10::Error& e) {
      SetError(first_line(e.what_without_backtrace()));
    } catch (const std::exception& e) {
      SetError(first_line(e.what()));
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(done_ ? done_(env) : env.Undefined());
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (const std::exception& e) {
      deferred_.Reject(error(env, first_line(e.what())));
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(error(Env(), e.Message())); }

 private:
  Napi::Value error(Napi::Env env, const std::string& message) {
    ErrorClass* cls = env.GetInstanceData<ErrorClass>();
    if (cls == nullptr || cls->ctor.IsEmpty()) return Napi::Error::New(env, message).Value();
    return cls->ctor.New({Napi::String::New(env, message), Napi::String::New(env, op_)});
  }
  Napi::Promise::Deferred deferred_;
  std::string op_;
  Exec exec_;
  Done done_;
};

// Waits for every work item (under the group's timeout); a failure names this rank and, when the
// heartbeats allow it, the rank that died.
void wait_all(Group& g, const char* op, const std::vector<c10::intrusive_ptr<c10d::Work>>& works);

std::shared_ptr<Group> group_arg(const Napi::Value& v);

}  // namespace unimrg::dist
