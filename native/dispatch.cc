// The generic door's hot path (dispatch.h): call(opId, ...args) converts the arguments, calls the
// operator boxed through the dispatcher and converts the results; and the door's exports.
#include "dispatch.h"

#include "errors.h"
#include "napi_values.h"
#include "state.h"

namespace unimrg {
namespace {

// The hot path: call(opId, ...args). Raw N-API, a reused stack, no allocation beyond libtorch's.
napi_value call_op(napi_env env, napi_callback_info info) {
  constexpr size_t kMaxArgs = 64;
  size_t argc = kMaxArgs;
  napi_value argv[kMaxArgs];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Napi::Env e(env);
  EnvState& st = state();
  int32_t id = argc > 0 ? get_int32(env, argv[0]) : -1;
  if (id < 0 || id >= static_cast<int32_t>(st.ops.size())) {
    Napi::TypeError::New(env, "unimrg: call() needs a valid op id").ThrowAsJavaScriptException();
    return nullptr;
  }
  const OpEntry& op = *st.ops[id];
  try {
    return guarded(e, op.name.c_str(), [&]() -> napi_value {
      size_t given = argc - 1;
      if (given > op.args.size()) {
        throw UserError(op.name, op.name + " takes at most " + std::to_string(op.args.size()) +
                                     " arguments, got " + std::to_string(given));
      }
      thread_local std::vector<c10::IValue> stack;
      stack.clear();
      for (size_t i = 0; i < op.args.size(); i++) {
        stack.push_back(to_ivalue(env, i < given ? argv[i + 1] : nullptr, op, op.args[i]));
      }
      op.handle.callBoxed(&stack);
      napi_value result;
      if (op.returns.size() == 1) {
        const ReturnSpec& r = op.returns[0];
        result = r.aliased_arg >= 0 && static_cast<size_t>(r.aliased_arg) < given
                     ? argv[r.aliased_arg + 1]
                     : from_ivalue(env, stack[0]);
      } else if (op.returns.empty()) {
        result = make_undefined(env);
      } else {
        result = make_array(env, op.returns.size());
        for (size_t i = 0; i < op.returns.size(); i++) {
          const ReturnSpec& r = op.returns[i];
          array_set(env, result, i,
                    r.aliased_arg >= 0 && static_cast<size_t>(r.aliased_arg) < given
                        ? argv[r.aliased_arg + 1]
                        : from_ivalue(env, stack[i]));
        }
      }
      stack.clear();
      return result;
    });
  } catch (const Napi::Error& err) {
    err.ThrowAsJavaScriptException();
    return nullptr;
  }
}

}  // namespace

void register_dispatch(Napi::Env env, Napi::Object exports) {
  exports.Set("findOp", Napi::Function::New(env, find_op, "findOp"));
  exports.Set("opSchema", Napi::Function::New(env, op_schema, "opSchema"));
  exports.Set("opOverloads", Napi::Function::New(env, op_overloads, "opOverloads"));
  napi_value fn;
  napi_create_function(env, "call", NAPI_AUTO_LENGTH, call_op, nullptr, &fn);
  exports.Set("call", Napi::Value(env, fn));
}

}  // namespace unimrg
