// Process groups over torch.distributed's c10d: a TCPStore or FileStore rendezvous, then Gloo
// (CPU) or NCCL (CUDA builds). Groups live in a process-wide registry, usable from any JS thread.
#pragma once
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/version.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "pch.h"

namespace unimrg::dist {

// The object that runs collectives: ProcessGroupGloo/NCCL derive from ProcessGroup in libtorch 1.x
// and from Backend in 2.x; both expose the same allreduce/broadcast/... methods.
#if TORCH_VERSION_MAJOR >= 2
using Comm = c10d::Backend;
#else
using Comm = c10d::ProcessGroup;
#endif

struct GroupConfig {
  std::string backend;    // "gloo" | "nccl"
  std::string store;      // "tcp" | "file"
  std::string host;       // MASTER_ADDR (tcp)
  int port = 0;           // MASTER_PORT (tcp)
  std::string path;       // file store path (file)
  int rank = 0;
  int world = 1;
  std::chrono::milliseconds timeout{60000};
};

struct Group {
  GroupConfig cfg;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Comm> pg;
  std::string prefix;  // this group's keys in the store
  // Liveness: every rank bumps <prefix>/hb/<rank> once a second, so that a failed collective can
  // say which rank stopped (rank 0 also hosts the TCP store: an unreachable store means rank 0).
  std::thread heartbeat;
  std::atomic<bool> stop{false};
  ~Group();
  // After a failed collective: which ranks look dead, as a sentence ("" when none could be named).
  std::string diagnose();
};

// Blocking (call it off the JS thread): rendezvous, checks of the configuration, the backend.
std::shared_ptr<Group> create_group(const GroupConfig& cfg);
std::shared_ptr<Group> find_group(int64_t id);  // throws a readable error on an unknown id
int64_t register_group(std::shared_ptr<Group> g);
void forget_group(int64_t id);

#if UNIMRG_WITH_NCCL
c10::intrusive_ptr<Comm> make_nccl_group(const c10::intrusive_ptr<c10d::Store>& store, int rank, int world,
                                                       std::chrono::milliseconds timeout);
#endif

}  // namespace unimrg::dist
