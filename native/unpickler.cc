// Python's pickle opcodes for protocols 2–4, as torch.save writes them (see unpickler.h).
#include "unpickler.h"

#include <map>

#include "errors.h"

namespace unimrg {
namespace pickle {
namespace {

P make(Obj::Kind k) { auto o = std::make_shared<Obj>(); o->kind = k; return o; }

bool storage_dtype(const std::string& name, c10::ScalarType& out) {
  static const std::map<std::string, c10::ScalarType> m = {
      {"torch.FloatStorage", c10::ScalarType::Float},   {"torch.DoubleStorage", c10::ScalarType::Double},
      {"torch.HalfStorage", c10::ScalarType::Half},     {"torch.BFloat16Storage", c10::ScalarType::BFloat16},
      {"torch.LongStorage", c10::ScalarType::Long},     {"torch.IntStorage", c10::ScalarType::Int},
      {"torch.ShortStorage", c10::ScalarType::Short},   {"torch.CharStorage", c10::ScalarType::Char},
      {"torch.ByteStorage", c10::ScalarType::Byte},     {"torch.BoolStorage", c10::ScalarType::Bool},
      {"torch.ComplexFloatStorage", c10::ScalarType::ComplexFloat},
      {"torch.ComplexDoubleStorage", c10::ScalarType::ComplexDouble}};
  auto it = m.find(name);
  if (it == m.end()) return false;
  out = it->second;
  return true;
}

class Unpickler {
 public:
  Unpickler(const char* data, size_t size, caffe2::serialize::PyTorchStreamReader& zip) : p_(data), end_(data + size), zip_(zip) {}

  P run() {
    for (;;) {
      size_t at = static_cast<size_t>(p_ - begin_);
      unsigned char op = u8();
      switch (op) {
        case 0x80: u8(); break;                      // PROTO
        case 0x95: take(8); break;                   // FRAME
        case '(': marks_.push_back(stack_.size()); break;
        case '.': return pop();                       // STOP
        case 'N': push(make(Obj::None)); break;
        case 0x88: case 0x89: { auto o = make(Obj::Bool); o->i = op == 0x88; push(o); break; }
        case 'K': push_int(u8()); break;
        case 'M': push_int(le(2, false)); break;
        case 'J': push_int(le(4, true)); break;
        case 0x8a: { size_t n = u8(); if (n > 8) fail("a LONG1 wider than 64 bits"); push_int(n ? le(n, true) : 0); break; }
        case 'G': {                                   // BINFLOAT, big-endian
          const char* b = take(8); uint64_t bits = 0;
          for (int k = 0; k < 8; k++) bits = (bits << 8) | static_cast<unsigned char>(b[k]);
          auto o = make(Obj::Float); std::memcpy(&o->d, &bits, 8); push(o); break;
        }
        case 'X': push_str(Obj::Str, static_cast<size_t>(le(4, false))); break;
        case 0x8c: push_str(Obj::Str, u8()); break;
        case 0x8d: push_str(Obj::Str, static_cast<size_t>(le(8, false))); break;
        case 'T': push_str(Obj::Bytes, static_cast<size_t>(le(4, false))); break;
        case 'U': case 'C': push_str(Obj::Bytes, u8()); break;
        case 'B': push_str(Obj::Bytes, static_cast<size_t>(le(4, false))); break;
        case 'q': memo(u8()); break;
        case 'r': memo(static_cast<size_t>(le(4, false))); break;
        case 0x94: memo(memo_.size()); break;         // MEMOIZE
        case 'h': get(u8()); break;
        case 'j': get(static_cast<size_t>(le(4, false))); break;
        case 'c': { std::string mod = line(); std::string name = line(); auto g = make(Obj::Global); g->s = mod + "." + name; push(g); break; }
        case 0x93: { P name = pop(); P mod = pop(); auto g = make(Obj::Global); g->s = mod->s + "." + name->s; push(g); break; }
        case ')': push(make(Obj::Tuple)); break;
        case 't': { auto o = make(Obj::Tuple); o->items = pop_mark(); push(o); break; }
        case 0x85: case 0x86: case 0x87: {
          size_t n = op - 0x84u; auto o = make(Obj::Tuple); o->items.resize(n);
          for (size_t k = n; k-- > 0;) o->items[k] = pop();
          push(o); break;
        }
        case ']': push(make(Obj::List)); break;
        case 'l': { auto o = make(Obj::List); o->items = pop_mark(); push(o); break; }
        case 'a': { P v = pop(); top()->items.push_back(v); break; }
        case 'e': { auto v = pop_mark(); auto& l = top()->items; l.insert(l.end(), v.begin(), v.end()); break; }
        case '}': push(make(Obj::Dict)); break;
        case 'd': { auto v = pop_mark(); auto o = make(Obj::Dict); for (size_t k = 0; k + 1 < v.size(); k += 2) o->dict.emplace_back(v[k], v[k + 1]); push(o); break; }
        case 's': { P v = pop(); P k = pop(); set_item(top(), k, v); break; }
        case 'u': { auto v = pop_mark(); P d = top(); for (size_t k = 0; k + 1 < v.size(); k += 2) set_item(d, v[k], v[k + 1]); break; }
        case 'b': pop(); break;                       // BUILD: state (e.g. a state dict's _metadata) is dropped
        case 'Q': push(persistent(pop())); break;
        case 'R': { P args = pop(); P fn = pop(); push(reduce(*fn, *args)); break; }
        case 0x81: { P args = pop(); P cls = pop(); auto o = make(Obj::Other); o->s = cls->s; push(o); break; }  // NEWOBJ
        case '0': pop(); break;
        case '2': push(top()); break;
        default: {
          char buf[64];
          std::snprintf(buf, sizeof buf, "unsupported pickle opcode 0x%02x at byte %zu", op, at);
          fail(buf);
        }
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& why) { throw UserError("", "data.pkl: " + why); }
  const char* take(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) fail("the pickle ends early (truncated or corrupt)");
    const char* r = p_; p_ += n; return r;
  }
  unsigned char u8() { return static_cast<unsigned char>(*take(1)); }
  int64_t le(size_t n, bool sign) {
    const char* b = take(n); uint64_t v = 0;
    for (size_t k = n; k-- > 0;) v = (v << 8) | static_cast<unsigned char>(b[k]);
    if (sign && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t(0) << (8 * n);
    return static_cast<int64_t>(v);
  }
  std::string line() {
    const char* s = p_;
    while (p_ < end_ && *p_ != '\n') p_++;
    if (p_ == end_) fail("the pickle ends early (truncated or corrupt)");
    return std::string(s, p_++);
  }
  void push(P o) { stack_.push_back(std::move(o)); }
  void push_int(int64_t v) { auto o = make(Obj::Int); o->i = v; push(o); }
  void push_str(Obj::Kind k, size_t n) { auto o = make(k); const char* b = take(n); o->s.assign(b, n); push(o); }
  P pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("stack underflow (corrupt pickle)");
    P o = std::move(stack_.back()); stack_.pop_back(); return o;
  }
  P top() { if (stack_.empty()) fail("stack underflow (corrupt pickle)"); return stack_.back(); }
  std::vector<P> pop_mark() {
    if (marks_.empty()) fail("no MARK (corrupt pickle)");
    size_t m = marks_.back(); marks_.pop_back();
    std::vector<P> v(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return v;
  }
  void memo(size_t k) { if (memo_.size() <= k) memo_.resize(k + 1); memo_[k] = top(); }
  void get(size_t k) { if (k >= memo_.size() || !memo_[k]) fail("memo key " + std::to_string(k) + " unknown (corrupt pickle)"); push(memo_[k]); }
  void set_item(const P& d, P k, P v) {
    if (d->kind != Obj::Dict) fail("SETITEM on " + describe(*d));
    d->dict.emplace_back(std::move(k), std::move(v));
  }
  P persistent(const P& pid) {
    // ('storage', torch.XStorage, key, location, numel)
    if (pid->kind != Obj::Tuple || pid->items.size() < 5 || pid->items[0]->s != "storage") fail("unknown persistent id");
    const std::string& type = pid->items[1]->s;
    const std::string& key = pid->items[2]->s;
    auto o = make(Obj::Storage);
    if (!storage_dtype(type, o->dtype)) fail("storage type " + type + " is not supported");
    auto it = storages_.find(key);
    if (it == storages_.end()) {
      std::string rec = "data/" + key;
      if (!zip_.hasRecord(rec)) fail("the archive has no record " + rec + " (truncated or corrupt)");
      auto [ptr, nbytes] = zip_.getRecord(rec);
      int64_t numel = pid->items[4]->i;
      if (numel < 0 || static_cast<size_t>(numel) * c10::elementSize(o->dtype) > nbytes) fail("record " + rec + " is shorter than its " + std::to_string(numel) + " elements");
      it = storages_.emplace(key, c10::Storage(c10::Storage::use_byte_size_t(), nbytes, std::move(ptr), nullptr, false)).first;
    }
    o->storage = it->second;
    return o;
  }
  static std::vector<int64_t> ints(const Obj& t) {
    std::vector<int64_t> v;
    for (const auto& x : t.items) v.push_back(x->i);
    return v;
  }
  P reduce(const Obj& fn, const Obj& args) {
    const auto& a = args.items;
    if (fn.kind == Obj::Global && fn.s == "torch._utils._rebuild_tensor_v2") {
      if (a.size() < 4 || a[0]->kind != Obj::Storage || a[2]->kind != Obj::Tuple || a[3]->kind != Obj::Tuple) fail("malformed _rebuild_tensor_v2");
      auto o = make(Obj::Tensor);
      std::vector<int64_t> sizes = ints(*a[2]), strides = ints(*a[3]);
      if (sizes.size() != strides.size()) fail("a tensor's sizes and strides differ in length");
      int64_t last = a[1]->i;  // the last element's index must lie inside the storage
      bool empty = false;
      for (size_t k = 0; k < sizes.size(); k++) { if (sizes[k] < 0 || strides[k] < 0) fail("negative size or stride"); if (sizes[k] == 0) empty = true; else last += (sizes[k] - 1) * strides[k]; }
      if (a[1]->i < 0 || (!empty && static_cast<size_t>(last + 1) * c10::elementSize(a[0]->dtype) > a[0]->storage.nbytes())) fail("a tensor reaches past the end of its storage");
      o->t = at::empty({0}, at::TensorOptions().dtype(a[0]->dtype)).set_(a[0]->storage, a[1]->i, sizes, strides);
      return o;
    }
    if (fn.kind == Obj::Global && (fn.s == "torch._utils._rebuild_parameter" || fn.s == "torch._utils._rebuild_parameter_with_state")) {
      if (a.empty() || a[0]->kind != Obj::Tensor) fail("malformed _rebuild_parameter");
      return a[0];
    }
    if (fn.kind == Obj::Global && fn.s == "collections.OrderedDict") return make(Obj::Dict);
    auto o = make(Obj::Other);
    o->s = fn.kind == Obj::Global ? fn.s : describe(fn);
    return o;
  }

  const char* p_;
  const char* begin_ = p_;
  const char* end_;
  caffe2::serialize::PyTorchStreamReader& zip_;
  std::vector<P> stack_, memo_;
  std::vector<size_t> marks_;
  std::map<std::string, c10::Storage> storages_;
};

}  // namespace

std::string describe(const Obj& v) {
  switch (v.kind) {
    case Obj::None: return "None";
    case Obj::Bool: return "a bool";
    case Obj::Int: return "an int";
    case Obj::Float: return "a float";
    case Obj::Str: return "a string";
    case Obj::Bytes: return "bytes";
    case Obj::Tuple: return "a tuple";
    case Obj::List: return "a list";
    case Obj::Dict: return "a dict";
    case Obj::Global: return "the global " + v.s;
    case Obj::Tensor: return "a tensor";
    case Obj::Storage: return "a storage";
    default: return "an object built by " + v.s;
  }
}

P unpickle(const char* data, size_t n, caffe2::serialize::PyTorchStreamReader& zip) {
  return Unpickler(data, n, zip).run();
}

}  // namespace pickle
}  // namespace unimrg
