#!/usr/bin/env node
// Makes the prebuilt binary of the libtorch variant this machine builds against:
//   prebuilds/<platform>-<arch>/unimrg.napi.glibc.<variant>.node   (variant: torch-1.13.cpu.cxx11, …)
//   prebuilds/<platform>-<arch>/unimrg.napi.glibc.<variant>.json   (the build facts: libtorch, CUDA, ABI)
//
//   node scripts/prebuild.js                 prebuildify --napi --strip --tag-libc (node-gyp → binding.gyp →
//                                            the CMake build, from nothing), then names the variant
//   node scripts/prebuild.js --from-build    the addon already in build/Release, stripped the same way
//                                            (no compilation: binding.gyp only runs the CMake build, so
//                                            prebuildify's binary *is* build/Release/unimrg.node, stripped)
//   --out DIR                                write DIR/prebuilds/… instead of ./prebuilds/…
// Needs dist/ (npm run build:ts) for the variant naming shared with the loader.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const fromBuild = args.includes('--from-build');
const outAt = args.indexOf('--out');
const out = outAt >= 0 ? path.resolve(args[outAt + 1]) : root;

let variant;
try {
  variant = require(path.join(root, 'dist', 'native', 'variant.js'));
} catch {
  console.error('unimrg prebuild: dist/ is missing; run `npm run build:ts` first');
  process.exit(1);
}

const release = path.join(root, 'build', 'Release');
const dir = path.join(out, 'prebuilds', `${process.platform}-${process.arch}`);
fs.mkdirSync(dir, { recursive: true });

// node-gyp downloads Node's headers from nodejs.org before it reads binding.gyp, although our
// binding.gyp only runs the CMake build (which uses the node-api-headers package). Where this
// Node ships its headers (official tarballs and Debian's nodejs do, in <prefix>/include/node),
// point node-gyp at them, so that prebuilds can be made offline.
function nodeGypEnv() {
  const env = { ...process.env };
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (!env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) {
    env.npm_config_nodedir = prefix;
  }
  return env;
}

let built; // the .node to publish
if (fromBuild) {
  built = path.join(release, 'unimrg.node');
  if (!fs.existsSync(built)) {
    console.error('unimrg prebuild: build/Release/unimrg.node is missing; run `npm run build:native` first');
    process.exit(1);
  }
} else {
  // prebuildify moves build/Release/unimrg.node to prebuilds/<tuple>/unimrg.glibc.node (N-API
  // builds carry no napi tag there) and copies the shared libraries of build/Release beside it;
  // both are renamed or removed below.
  const ours = (f) => variant.parseVariantFile(f) !== null;
  const bin = require.resolve('prebuildify/bin.js', { paths: [root] });
  const r = spawnSync(process.execPath, [bin, '--napi', '--strip', '--tag-libc', '--out', out], { cwd: root, stdio: 'inherit', env: nodeGypEnv() });
  if (r.status !== 0) process.exit(r.status === null ? 1 : r.status);
  const made = fs.readdirSync(dir).filter((f) => f.endsWith('.node') && !ours(f));
  if (made.length !== 1) {
    console.error(`unimrg prebuild: expected one new binary from prebuildify in ${dir}, found: ${made.join(', ') || 'none'}`);
    process.exit(1);
  }
  built = path.join(dir, made[0]);
}

const facts = JSON.parse(fs.readFileSync(path.join(release, 'unimrg-build.json'), 'utf8'));
const tag = variant.variantTag(facts);
const dest = path.join(dir, variant.prebuildFileName(tag));
const tmp = `${dest}.tmp`;
fs.copyFileSync(built, tmp);
if (fromBuild) {
  // The same stripping as prebuildify --strip; an unstripped binary works too, only larger.
  const s = spawnSync(process.env.PREBUILD_STRIP_BIN || 'strip', ['--strip-all', tmp], { stdio: 'inherit' });
  if (s.status !== 0) console.error('unimrg prebuild: strip is unavailable; keeping the binary unstripped');
} else {
  // Put the addon back where prebuildify took it from, so that the checkout keeps working.
  fs.renameSync(built, path.join(release, 'unimrg.node'));
  // libunimrg_ops.so (the kernels for PyTorch) is not needed by the addon, which links them in.
  for (const f of fs.readdirSync(dir)) if (/\.so(\.\d+)*$/.test(f)) fs.rmSync(path.join(dir, f));
}
fs.renameSync(tmp, dest);
const sidecar = {
  variant: tag, torch: facts.torch, cuda: facts.cuda, cxx11Abi: facts.cxx11Abi, source: facts.source,
  torchLibDir: facts.torchLibDir, napi: 8, platform: process.platform, arch: process.arch, libc: 'glibc',
  madeBy: fromBuild ? 'scripts/prebuild.js --from-build' : 'prebuildify', node: process.version,
};
fs.writeFileSync(dest.replace(/\.node$/, '.json'), `${JSON.stringify(sidecar, null, 2)}\n`);
console.error(`unimrg prebuild: ${path.relative(out, dest)} (${variant.describeTorch(facts)})`);
