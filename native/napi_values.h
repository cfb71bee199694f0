// Thin inline helpers over the raw N-API C calls used on hot paths (no wrapper objects).
#pragma once
#include <node_api.h>
#include <cstdint>
#include <string>

namespace unimrg {

inline napi_valuetype type_of(napi_env env, napi_value v) {
  napi_valuetype t = napi_undefined;
  napi_typeof(env, v, &t);
  return t;
}
inline const char* type_name(napi_valuetype t) {
  switch (t) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "a boolean";
    case napi_number: return "a number";
    case napi_string: return "a string";
    case napi_symbol: return "a symbol";
    case napi_object: return "an object";
    case napi_function: return "a function";
    case napi_bigint: return "a bigint";
    default: return "an external";
  }
}
inline double get_double(napi_env env, napi_value v) { double d = 0; napi_get_value_double(env, v, &d); return d; }
inline int32_t get_int32(napi_env env, napi_value v) { int32_t i = -1; napi_get_value_int32(env, v, &i); return i; }
inline bool get_bool(napi_env env, napi_value v) { bool b = false; napi_get_value_bool(env, v, &b); return b; }
// A BigInt as int64; false when it does not fit (then *out holds wrapped bits: never use them).
inline bool get_bigint_exact(napi_env env, napi_value v, int64_t* out) {
  bool lossless = false;
  return napi_get_value_bigint_int64(env, v, out, &lossless) == napi_ok && lossless;
}
inline std::string get_string(napi_env env, napi_value v) {
  size_t len = 0;
  napi_get_value_string_utf8(env, v, nullptr, 0, &len);
  std::string s(len, '\0');
  napi_get_value_string_utf8(env, v, s.data(), len + 1, &len);
  return s;
}
// String(v) as JavaScript writes it (a BigInt's decimal digits), for error messages.
inline std::string js_text(napi_env env, napi_value v) {
  napi_value s;
  if (napi_coerce_to_string(env, v, &s) != napi_ok) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
    return "?";
  }
  return get_string(env, s);
}
inline bool is_array(napi_env env, napi_value v) { bool b = false; napi_is_array(env, v, &b); return b; }
inline uint32_t array_length(napi_env env, napi_value v) { uint32_t n = 0; napi_get_array_length(env, v, &n); return n; }
inline napi_value array_get(napi_env env, napi_value arr, uint32_t i) { napi_value r; napi_get_element(env, arr, i, &r); return r; }
inline void array_set(napi_env env, napi_value arr, size_t i, napi_value v) { napi_set_element(env, arr, static_cast<uint32_t>(i), v); }
inline napi_value make_array(napi_env env, size_t n) { napi_value r; napi_create_array_with_length(env, n, &r); return r; }
inline napi_value make_int(napi_env env, int32_t i) { napi_value r; napi_create_int32(env, i, &r); return r; }
inline napi_value make_double(napi_env env, double d) { napi_value r; napi_create_double(env, d, &r); return r; }
inline napi_value make_bool(napi_env env, bool b) { napi_value r; napi_get_boolean(env, b, &r); return r; }
inline napi_value make_null(napi_env env) { napi_value r; napi_get_null(env, &r); return r; }
inline napi_value make_undefined(napi_env env) { napi_value r; napi_get_undefined(env, &r); return r; }
inline napi_value make_string(napi_env env, const std::string& s) { napi_value r; napi_create_string_utf8(env, s.data(), s.size(), &r); return r; }

}  // namespace unimrg
