// Rendezvous and process groups: TCPStore (rank 0 serves) or FileStore, the configuration checked
// across ranks before any backend starts, Gloo on CPU (NCCL in CUDA builds: nccl.cc), a heartbeat
// that lets a failed collective name the rank that died.
#if UNIMRG_WITH_GLOO && !defined(USE_C10D_GLOO)
#define USE_C10D_GLOO 1  // the class is declared only under this macro; libtorch_cpu exports it
#endif
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if UNIMRG_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif

#include <cstdlib>
#include <unordered_map>

#include "distributed/group.h"
#include "errors.h"

namespace unimrg::dist {
namespace {

std::mutex registry_mutex;
// Never destroyed: a group alive at process exit must not join Gloo threads from a static destructor.
auto* registry = new std::unordered_map<int64_t, std::shared_ptr<Group>>();
int64_t next_id = 1;
std::atomic<int64_t> group_seq{0};

std::string str(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }
std::vector<uint8_t> bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

[[noreturn]] void fail(const std::string& msg) { throw UserError("distributed.init", msg); }

std::string why(const std::exception& e) {
  if (auto* c = dynamic_cast<const c10::Error*>(&e)) return first_line(c->what_without_backtrace());
  return first_line(e.what());
}

std::string seconds(std::chrono::milliseconds t) {
  return c10::str(static_cast<double>(t.count()) / 1000.0, " s");
}

// libtorch >= 2.4 serves the store with libuv by default and refuses to start where it was built
// without libuv (Debian's 2.6): use the classic backend, which every version has. 1.13's options
// have no such field; the overload that names it drops out there.
template <typename Options>
auto use_classic_store_backend(Options& o, int) -> decltype(o.useLibUV = false, void()) { o.useLibUV = false; }
template <typename Options>
void use_classic_store_backend(Options&, long) {}

c10::intrusive_ptr<c10d::Store> make_store(const GroupConfig& c) {
  if (c.store == "file") {
    try {
      auto s = c10::make_intrusive<c10d::FileStore>(c.path, c.world);
      s->setTimeout(c.timeout);
      return s;
    } catch (const std::exception& e) {
      fail("cannot open the file store " + c.path + ": " + why(e));
    }
  }
  c10d::TCPStoreOptions o;
  o.port = static_cast<uint16_t>(c.port);
  o.isServer = c.rank == 0;
  o.numWorkers = static_cast<size_t>(c.world);
  o.waitWorkers = false;  // our own check below says which ranks are missing
  o.timeout = c.timeout;
  use_classic_store_backend(o, 0);
  try {
    return c10::make_intrusive<c10d::TCPStore>(c.host, o);
  } catch (const std::exception& e) {
    std::string where = c.host + ":" + std::to_string(c.port);
    if (c.rank == 0) {
      fail("rank 0 cannot serve the rendezvous store on " + where + " (" + why(e) +
           "); is MASTER_PORT=" + std::to_string(c.port) + " already in use by another job? Choose a free port.");
    }
    fail("rank " + std::to_string(c.rank) + " could not reach the rendezvous store at " + where + " within " +
         seconds(c.timeout) + " (" + why(e) + "); is rank 0 running, with the same MASTER_ADDR and MASTER_PORT?");
  }
}

// Every rank publishes its WORLD_SIZE and claims its RANK; each then reads the others' in rank
// order, so a mismatch is reported as soon as the first disagreeing rank has joined.
void check_configuration(Group& g) {
  const GroupConfig& c = g.cfg;
  const std::string me = std::to_string(c.rank);
  if (g.store->add(g.prefix + "/rank/" + me, 1) > 1) {
    fail("two processes were started with RANK=" + me + "; every rank must be unique in [0, WORLD_SIZE)");
  }
  g.store->set(g.prefix + "/world/" + me, bytes(std::to_string(c.world)));
  auto deadline = std::chrono::steady_clock::now() + c.timeout;
  for (int r = 0; r < c.world; r++) {
    std::string key = g.prefix + "/world/" + std::to_string(r);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    try {
      g.store->wait({key}, std::max(left, std::chrono::milliseconds(1)));
    } catch (const std::exception&) {
      std::string missing;
      for (int m = r; m < c.world; m++) {
        if (!g.store->check({g.prefix + "/world/" + std::to_string(m)})) missing += (missing.empty() ? "" : ", ") + std::to_string(m);
      }
      fail("rendezvous timed out after " + seconds(c.timeout) + ": rank(s) " + missing + " never joined (WORLD_SIZE=" +
           std::to_string(c.world) + "); were all processes started with the same MASTER_ADDR and MASTER_PORT?");
    }
    int theirs = std::atoi(str(g.store->get(key)).c_str());
    if (theirs != c.world) {
      // Rank 0 serves the store: give the other ranks a moment to read it and fail with their own message.
      if (c.rank == 0 && c.store == "tcp") std::this_thread::sleep_for(std::chrono::seconds(1));
      fail("rank " + std::to_string(r) + " was started with WORLD_SIZE=" + std::to_string(theirs) + " but rank " + me +
           " with WORLD_SIZE=" + std::to_string(c.world) + "; every rank must be given the same WORLD_SIZE");
    }
  }
}

c10::intrusive_ptr<Comm> make_backend(Group& g) {
  const GroupConfig& c = g.cfg;
  auto store = c10::make_intrusive<c10d::PrefixStore>(g.prefix + "/pg", g.store);
  if (c.backend == "nccl") {
#if UNIMRG_WITH_NCCL
    return make_nccl_group(store, c.rank, c.world, c.timeout);
#else
    fail("the nccl backend needs a CUDA build of libtorch with NCCL; this addon was built without it (use backend 'gloo')");
#endif
  }
  if (c.backend != "gloo") fail("unknown backend '" + c.backend + "' (expected gloo or nccl)");
#if UNIMRG_WITH_GLOO
  auto opts = c10d::ProcessGroupGloo::Options::create(c.timeout);
  const char* iface = std::getenv("GLOO_SOCKET_IFNAME");
  if (iface && *iface) {
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(iface));
  } else if (c.store == "file" || c.host == "localhost" || c.host.rfind("127.", 0) == 0) {
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  } else {
    opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  }
  opts->threads = 2;
  try {
    return c10::make_intrusive<c10d::ProcessGroupGloo>(store, c.rank, c.world, opts);
  } catch (const std::exception& e) {
    fail("the gloo backend could not connect rank " + std::to_string(c.rank) + " to its peers: " + why(e));
  }
#else
  fail("this addon was built without Gloo's headers (install libgloo-dev and rebuild), so the gloo backend is unavailable");
#endif
}

}  // namespace

Group::~Group() {
  stop = true;
  if (heartbeat.joinable()) heartbeat.join();
}

std::string Group::diagnose() {
  const int world = cfg.world;
  auto read = [&](std::vector<int64_t>& out) {
    for (int r = 0; r < world; r++) out[r] = store->add(prefix + "/hb/" + std::to_string(r), 0);
  };
  std::vector<int64_t> before(world), after(world);
  try {
    read(before);
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    read(after);
  } catch (const std::exception&) {
    if (cfg.store == "tcp" && cfg.rank != 0) return "rank 0 (which serves the rendezvous store) is unreachable: it has probably exited";
    return "";
  }
  std::string dead;
  for (int r = 0; r < world; r++) {
    if (r != cfg.rank && after[r] == before[r]) dead += (dead.empty() ? "" : ", ") + std::to_string(r);
  }
  if (dead.empty()) return "";
  return "rank(s) " + dead + " stopped (no heartbeat for 2.5 s): probably exited or hung";
}

std::shared_ptr<Group> create_group(const GroupConfig& cfg) {
  if (cfg.world < 1) fail("WORLD_SIZE must be >= 1, got " + std::to_string(cfg.world));
  if (cfg.rank < 0 || cfg.rank >= cfg.world) {
    fail("RANK=" + std::to_string(cfg.rank) + " is outside [0, WORLD_SIZE=" + std::to_string(cfg.world) + ")");
  }
  auto g = std::make_shared<Group>();
  g->cfg = cfg;
  g->prefix = "unimrg/" + std::to_string(group_seq++);
  g->store = make_store(cfg);
  check_configuration(*g);
  g->pg = make_backend(*g);
  Group* raw = g.get();
  g->heartbeat = std::thread([raw] {
    const std::string key = raw->prefix + "/hb/" + std::to_string(raw->cfg.rank);
    int ticks = 0;
    while (!raw->stop) {
      if (ticks++ % 10 == 0) {
        try {
          raw->store->add(key, 1);
        } catch (const std::exception&) {
          return;  // the store is gone (rank 0 exited); collectives will report it
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  return g;
}

int64_t register_group(std::shared_ptr<Group> g) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  int64_t id = next_id++;
  (*registry)[id] = std::move(g);
  return id;
}

std::shared_ptr<Group> find_group(int64_t id) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto it = registry->find(id);
  if (it == registry->end()) throw UserError("distributed", "this process group was destroyed (or never created)");
  return it->second;
}

void forget_group(int64_t id) {
  std::shared_ptr<Group> g;
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    auto it = registry->find(id);
    if (it == registry->end()) return;
    g = std::move(it->second);
    registry->erase(it);
  }
}

}  // namespace unimrg::dist
