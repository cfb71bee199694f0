#include "errors.h"
#include "state.h"

namespace unimrg {

std::string first_line(const std::string& s) {
  size_t start = s.find_first_not_of(" \n\t");
  if (start == std::string::npos) return "unknown libtorch error";
  size_t end = s.find('\n', start);
  return s.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

void throw_torch_error(Napi::Env env, const std::string& message, const std::string& op) {
  ErrorClass* cls = env.GetInstanceData<ErrorClass>();
  if (cls == nullptr || cls->ctor.IsEmpty()) {
    Napi::Error err = Napi::Error::New(env, message + (op.empty() ? "" : " (op: " + op + ")"));
    throw err;
  }
  Napi::Object obj = cls->ctor.New({Napi::String::New(env, message), Napi::String::New(env, op)});
  throw Napi::Error(env, obj);
}

}  // namespace unimrg
