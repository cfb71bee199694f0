// Dtype names in the fused losses' messages as JavaScript writes them ('float32', not libtorch's
// 'Float'): these messages are what a TypeScript caller reads in the TorchError.
#pragma once
#include <c10/core/ScalarType.h>

namespace unimrg {

inline const char* dtype_text(c10::ScalarType t) {
  switch (t) {
    case c10::ScalarType::Float: return "float32";
    case c10::ScalarType::Double: return "float64";
    case c10::ScalarType::Half: return "float16";
    case c10::ScalarType::BFloat16: return "bfloat16";
    case c10::ScalarType::Long: return "int64";
    case c10::ScalarType::Int: return "int32";
    case c10::ScalarType::Short: return "int16";
    case c10::ScalarType::Char: return "int8";
    case c10::ScalarType::Byte: return "uint8";
    case c10::ScalarType::Bool: return "bool";
    default: return c10::toString(t);
  }
}

}  // namespace unimrg
