#!/usr/bin/env bash
# The GPU machine's checks in one go (run through ../shared/gpu/pack's remote.sh):
# build against the machine's CUDA PyTorch, run the CUDA tests and the CPU suite, run the GPU
# benchmarks, and copy logs and bench/results/*.json to $OUT.
#   bash .gpu/remote.sh 'bash scripts/gpu-check.sh'
set -uo pipefail
out=${OUT:-/tmp/out}; mkdir -p "$out"
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-16}
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.memory --format=csv > "$out/gpu.txt" 2>&1
step() { local name=$1; shift; echo "== $name"; local t0=$SECONDS; "$@" > "$out/$name.log" 2>&1; local rc=$?; echo "   rc=$rc in $((SECONDS - t0)) s"; tail -25 "$out/$name.log"; return $rc; }
rm -rf build
step build node scripts/build-native.js || exit 1
step cuda-tests npx jest test/cuda --ci
step cpu-tests npx jest --ci test/torch test/losses test/native
for b in ${UNIMRG_GPU_BENCHES:-loss}; do
  [ -f "bench/$b.ts" ] && step "bench-$b" timeout 240 npx tsx "bench/$b.ts" --device cuda
done
mkdir -p "$out/results" && cp bench/results/*.json "$out/results/" 2>/dev/null
exit 0
