#!/usr/bin/env bash
# Builds (and optionally tests) the addon against libtorch 2.x on a machine that only has
# Debian 12's libtorch 1.13 and no GPU, using the packages of Debian 13 (trixie):
#
#   scripts/torch2-check.sh cpu [jest args…]   libtorch 2.6 (CPU): build, then run jest (or the
#                                              given jest args) under a copy of node whose
#                                              dynamic loader and libraries are trixie's
#   scripts/torch2-check.sh cuda               libtorch 2.6 with CUDA (contrib) + NCCL: build
#                                              only (no GPU here). nvcc is this machine's; the
#                                              CUDA library headers (cuBLAS, cuSPARSE, …) come
#                                              from trixie's CUDA 12.4, merged into one toolkit
#                                              folder — good for compiling, not for running.
#
# Nothing is installed system-wide: apt runs with private lists and an empty package status,
# and every package is unpacked with dpkg -x under $UNIMRG_TORCH2_CACHE (default
# ~/.cache/unimrg/torch2; about 1.5 GB for cpu, 6 GB for cuda). The build runs in a scratch
# copy of the working tree ($UNIMRG_TORCH2_CACHE/tree-<flavour>), so build/ here is untouched.
set -euo pipefail

flavour="${1:-}"
case "$flavour" in
  cpu|cuda) shift ;;
  *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${UNIMRG_TORCH2_CACHE:-$HOME/.cache/unimrg/torch2}"
apt_dir="$cache/apt"
debs="$apt_dir/archives-$flavour"
mkdir -p "$apt_dir/lists/partial" "$debs/partial"
touch "$apt_dir/status"
echo "deb http://deb.debian.org/debian trixie main contrib non-free" > "$apt_dir/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::State::status=$apt_dir/status"
  -o "Dir::Cache::archives=$debs" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
say() { echo "torch2-check: $*" >&2; }

if [ ! -e "$apt_dir/lists/.updated" ] || [ -n "$(find "$apt_dir/lists/.updated" -mtime +1)" ]; then
  say "reading Debian trixie's package lists"
  apt-get "${apt_opts[@]}" -qq update
  touch "$apt_dir/lists/.updated"
fi

# unpack <root> <deb…>: dpkg -x each package into <root> once.
unpack() {
  local root="$1"; shift
  mkdir -p "$root/.unpacked"
  for deb in "$@"; do
    local mark="$root/.unpacked/$(basename "$deb")"
    [ -e "$mark" ] || { dpkg -x "$deb" "$root"; touch "$mark"; }
  done
}
archives() { for p in "$@"; do ls "$debs/${p}_"*.deb; done; }

tree="$cache/tree-$flavour"
say "copying the working tree to $tree"
mkdir -p "$tree"
(cd "$repo" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -C "$tree" -xf -
ln -sfn "$repo/node_modules" "$tree/node_modules"

if [ "$flavour" = cpu ]; then
  root="$cache/root-cpu"
  # The whole dependency closure (glibc included: trixie's libtorch needs glibc 2.38).
  apt-get "${apt_opts[@]}" -qq install --download-only -y libtorch-dev libtorch2.6 >/dev/null
  unpack "$root" "$debs"/*.deb
  # Only libtorch's own headers may stay on the include path: trixie's libc headers (unpacked
  # with the closure) must not shadow this machine's.
  find "$root/usr/include" -mindepth 1 -maxdepth 1 \
    -not \( -name ATen -o -name c10 -o -name caffe2 -o -name kineto -o -name torch -o -name 'libshm.h' -o -name 'qnnpack_func.h' \) \
    -exec rm -rf {} +
  lib="$root/usr/lib/x86_64-linux-gnu"
  say "building against trixie's libtorch 2.6 (CPU)"
  (cd "$tree" && CMAKE_PREFIX_PATH="$root/usr" node scripts/build-native.js && npx tsc -p tsconfig.build.json)
  # A node that loads trixie's glibc and libraries (its children, started from
  # process.execPath, do too); this machine's python3 and compilers stay untouched.
  mkdir -p "$cache/bin"
  cp "$(readlink -f "$(command -v node)")" "$cache/bin/node"
  patchelf --set-interpreter "$lib/ld-linux-x86-64.so.2" --force-rpath \
    --set-rpath "$lib:$lib/blas:$lib/lapack" "$cache/bin/node"
  say "running jest on libtorch $(cd "$tree" && PATH="$cache/bin:$PATH" UNIMRG_BINARY="$tree/build/Release/unimrg.node" node -p "require('.').torch.backend().torch")"
  # The downstream and node-gyp tests install or build for the libtorch this machine's own
  # tools find (Debian 12's): they cannot pass against another one.
  say "skipping test/downstream and test/native/node-gyp (they build for the system's libtorch)"
  cd "$tree"
  PATH="$cache/bin:$PATH" UNIMRG_BINARY="$tree/build/Release/unimrg.node" UNIMRG_SKIP_DOWNSTREAM=1 UNIMRG_SKIP_NODE_GYP=1 \
    exec node node_modules/.bin/jest "$@"
fi

# cuda: headers, CMake files and libraries to link against; no dependency closure. libtorch and
# the CUDA 12.4 libraries go to separate roots: 12.4's cuda_runtime.h must not reach nvcc.
root="$cache/root-cuda"
toolkit="$cache/root-cuda-toolkit"
torch_pkgs=(libtorch-cuda-dev libtorch-cuda-2.6)
toolkit_pkgs=(nvidia-cuda-dev libnccl-dev libnvtoolsext1)
(cd "$debs" && apt-get "${apt_opts[@]}" -qq download "${torch_pkgs[@]}" "${toolkit_pkgs[@]}")
unpack "$root" $(archives "${torch_pkgs[@]}")
unpack "$toolkit" $(archives "${toolkit_pkgs[@]}")
command -v nvcc >/dev/null || { say "no nvcc on PATH"; exit 1; }
# The toolkit nvcc belongs to (nvcc on PATH may be a wrapper script): nvcc says where it is.
local_cuda="$(readlink -f "$(nvcc --dryrun -x cu -c /dev/null -o /dev/null 2>&1 | sed -n 's/^#\$ TOP=//p' | head -1)")"
nvcc_bin="$local_cuda/bin"
[ -x "$nvcc_bin/nvcc" ] || { say "cannot find the CUDA toolkit of nvcc (got '$local_cuda')"; exit 1; }
# One toolkit folder: this machine's nvcc, headers and runtime; trixie's CUDA 12.4 for the
# libraries the local toolkit lacks (cuBLAS, cuSPARSE, cuSOLVER, NVTX 2, NCCL).
mix="$cache/cuda-mix"
rm -rf "$mix"
mkdir -p "$mix/targets/x86_64-linux/include" "$mix/targets/x86_64-linux/lib"
ln -s "$nvcc_bin" "$mix/bin"
ln -s "$local_cuda/nvvm" "$mix/nvvm"
for kind in include lib; do
  dst="$mix/targets/x86_64-linux/$kind"
  [ "$kind" = include ] && theirs="$toolkit/usr/include" || theirs="$toolkit/usr/lib/x86_64-linux-gnu"
  for e in "$local_cuda/targets/x86_64-linux/$kind"/* "$theirs"/*; do
    [ -e "$dst/$(basename "$e")" ] || [ -L "$dst/$(basename "$e")" ] || ln -s "$e" "$dst/"
  done
done
ln -s targets/x86_64-linux/include "$mix/include"
ln -s targets/x86_64-linux/lib "$mix/lib64"
say "building against trixie's libtorch 2.6 with CUDA (nvcc $("$mix/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'))"
cd "$tree"
rm -rf build/cmake
PATH="$mix/bin:$PATH" CMAKE_PREFIX_PATH="$root/usr" CUDAToolkit_ROOT="$mix" CUDACXX="$mix/bin/nvcc" \
  node scripts/build-native.js
say "built: $(cat build/Release/unimrg-build.json)"
readelf -d build/Release/unimrg.node | grep -o 'lib\(torch_cuda\|c10_cuda\|cudart\)[^]]*' | sed 's/^/torch2-check: links /' >&2
