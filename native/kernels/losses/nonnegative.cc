#include "kernels/losses/nonnegative.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

namespace unimrg {

at::Tensor checked_nonnegative(const at::Tensor& values, const char* op, const char* name) {
  if (!values.is_cpu()) {
    const at::Tensor nan = at::full({}, std::numeric_limits<double>::quiet_NaN(), values.options());
    return at::where(values.ge(0), values, nan);
  }
  const at::Tensor v = values.to(at::kDouble).contiguous();
  const double* p = v.data_ptr<double>();
  for (int64_t i = 0, n = v.numel(); i < n; ++i) {
    if (p[i] >= 0) continue;
    TORCH_CHECK(!std::isnan(p[i]), op, ": ", name, "[", i, "] is NaN; ", name, " must be >= 0");
    TORCH_CHECK(false, op, ": ", name, "[", i, "] = ", p[i], " is negative; ", name, " must be >= 0");
  }
  return values;
}

}  // namespace unimrg
