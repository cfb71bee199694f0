#!/usr/bin/env node
// npm install hook: load the binary that matches the libtorch found here (a prebuild from
// prebuilds/, or build/Release), chosen by dist/native/resolve.js exactly as the loader chooses;
// only when none matches (or it does not load), say why and build from source with cmake-js.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');

/** The file to use, or { why } when there is none. */
function usableBinary() {
  let resolver;
  let variant;
  try {
    resolver = require(path.join(root, 'dist', 'native', 'resolve.js'));
    variant = require(path.join(root, 'dist', 'native', 'variant.js'));
  } catch {
    // A checkout before its first `tsc` (npm ci runs install before prepare): there are no
    // prebuilds to choose from, only a previous local build.
    const file = path.join(root, 'build', 'Release', 'unimrg.node');
    if (!fs.existsSync(file)) return { why: 'no build/Release/unimrg.node yet' };
    try { require(file); return { file, how: 'the local build' }; } catch (e) { return { why: firstLine(e) }; }
  }
  const { selection } = resolver.resolveBinary(root);
  if (!selection.ok) return { why: selection.message.replace(/^unimrg: /, '').replace(/ Build one from source.*$/, '').replace(/\.$/, '') };
  const c = selection.candidate;
  try {
    const addon = require(c.file); // the dynamic linker must accept it against the libtorch present
    const problem = variant.compatibilityProblem(addon.backend());
    if (problem) return { why: `${c.label}: ${problem}` };
  } catch (e) {
    return { why: `${c.label} does not load: ${firstLine(e)}` };
  }
  const how = c.kind === 'prebuild' ? `the prebuilt binary ${c.label}` : c.label;
  return { file: c.file, how: `${how}, ${selection.note}` };
}
function firstLine(e) { return String((e && e.message) || e).split('\n')[0]; }

const forced = process.env.UNIMRG_BUILD_FROM_SOURCE === '1' || process.env.npm_config_build_from_source === 'true';
const found = forced ? { why: 'a build from source was asked for' } : usableBinary();
if (found.file) {
  console.error(`unimrg: using ${found.how}`);
  process.exit(0);
}
console.error(`unimrg: no usable prebuilt binary (${found.why}); building from source with cmake-js`);
const r = spawnSync(process.execPath, [path.join(__dirname, 'build-native.js'), '--quiet'], { stdio: 'inherit', cwd: root });
process.exit(r.status === null ? 1 : r.status);
