#!/usr/bin/env node
// npm install hook: use a prebuilt binary (prebuilds/ or build/Release) when one loads here;
// otherwise say why and build from source with cmake-js (no node-gyp, no header download).
'use strict';
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
function usableBinary() {
  try {
    const file = require('node-gyp-build').path(root);
    require(file); // the dynamic linker must accept it against the libtorch present
    return file;
  } catch (e) {
    return { why: String(e.message || e).split('\n')[0] };
  }
}

const found = process.env.npm_config_build_from_source === 'true' ? { why: '--build-from-source' } : usableBinary();
if (typeof found === 'string') {
  console.error(`unimrg: using the binary ${path.relative(root, found)}`);
  process.exit(0);
}
console.error(`unimrg: no usable prebuilt binary (${found.why}); building from source`);
const r = spawnSync(process.execPath, [path.join(__dirname, 'build-native.js'), '--quiet'], { stdio: 'inherit', cwd: root });
process.exit(r.status === null ? 1 : r.status);
