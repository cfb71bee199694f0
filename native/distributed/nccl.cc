// The NCCL backend, compiled only when the libtorch found has CUDA and NCCL (CMakeLists.txt sets
// UNIMRG_WITH_NCCL and USE_C10D_NCCL). Tested by test/cuda/distributed-nccl.test.ts on a GPU machine.
#if UNIMRG_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include "distributed/group.h"

namespace unimrg::dist {

c10::intrusive_ptr<Comm> make_nccl_group(const c10::intrusive_ptr<c10d::Store>& store, int rank, int world,
                                         std::chrono::milliseconds timeout) {
  auto opts = c10d::ProcessGroupNCCL::Options::create();
  opts->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world, opts);
}

}  // namespace unimrg::dist
#endif
