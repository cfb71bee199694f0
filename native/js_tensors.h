// The glue every entry point shares between JavaScript values and tensors: a handle argument to
// its tensor, a tensor to a new handle (null for an undefined tensor), lists of both, and the
// dtype / device names JavaScript uses ('float32', 'cuda:1').
#pragma once
#include "pch.h"
#include <string>
#include <vector>

namespace unimrg {

/** The tensor behind a handle argument; a UserError when v is not a number or the handle is stale. */
const at::Tensor& tensor_arg(const Napi::Value& v);
/** An array of handles (null or undefined: an empty list); with allow_null, null items become undefined tensors. */
std::vector<at::Tensor> tensor_list_arg(const Napi::Value& v, bool allow_null = false);

/** A new handle for t in this thread's table. */
Napi::Value new_handle(Napi::Env env, at::Tensor t);
/** A new handle, or null when t is undefined (a missing gradient). */
Napi::Value new_handle_or_null(Napi::Env env, const at::Tensor& t);
Napi::Value new_handles(Napi::Env env, const std::vector<at::Tensor>& ts);

c10::ScalarType parse_dtype(const std::string& s);
const char* dtype_name(c10::ScalarType t);
c10::Device parse_device(const std::string& s);

}  // namespace unimrg
