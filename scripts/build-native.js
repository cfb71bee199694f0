#!/usr/bin/env node
// Builds the addon with cmake-js into build/Release/unimrg.node (Ninja when present).
// Used by `npm install` (when no prebuilt binary fits), `npm run build:native` and binding.gyp.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

// Concurrent builds (parallel test runs, several shells) would corrupt the CMake tree:
// serialise them with flock(1) where it exists.
if (!process.env.UNIMRG_BUILD_LOCKED && spawnSync('flock', ['--version'], { stdio: 'ignore' }).status === 0) {
  require('node:fs').mkdirSync(path.join(root, 'build'), { recursive: true });
  const r = spawnSync('flock', [path.join(root, 'build', '.lock'), process.execPath, __filename, ...process.argv.slice(2)], {
    stdio: 'inherit', env: { ...process.env, UNIMRG_BUILD_LOCKED: '1' },
  });
  process.exit(r.status === null ? 1 : r.status);
}
const hasNinja = spawnSync('ninja', ['--version'], { stdio: 'ignore' }).status === 0;
const args = [require.resolve('cmake-js/bin/cmake-js', { paths: [root] }), 'build', '--out', 'build/cmake'];
if (hasNinja) args.push('-G', 'Ninja');
const jobs = process.env.CMAKE_BUILD_PARALLEL_LEVEL || String(require('node:os').availableParallelism());
const env = { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: jobs };
if (!process.argv.includes('--quiet')) console.error('unimrg: building the native addon from source (cmake-js)');
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env });
process.exit(r.status === null ? 1 : r.status);
