// Every native entry runs inside `guarded`: libtorch and C++ failures become a JS
// TorchError (message: the first line of the failure, plus the op name); none aborts.
#pragma once
#include "pch.h"
#include <string>

namespace unimrg {

// Thrown by our own checks; carries the op name for TorchError.op.
struct UserError : std::runtime_error {
  std::string op;
  UserError(std::string op_name, const std::string& msg) : std::runtime_error(msg), op(std::move(op_name)) {}
};

[[noreturn]] void throw_torch_error(Napi::Env env, const std::string& message, const std::string& op);
std::string first_line(const std::string& s);

template <typename F>
auto guarded(Napi::Env env, const char* op, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const UserError& e) {
    throw_torch_error(env, e.what(), e.op.empty() ? op : e.op);
  } catch (const c10::Error& e) {
    throw_torch_error(env, first_line(e.what_without_backtrace()), op);
  } catch (const std::exception& e) {
    throw_torch_error(env, first_line(e.what()), op);
  }
}

}  // namespace unimrg
