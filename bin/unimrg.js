#!/usr/bin/env node
'use strict';
// Exit codes: 0 ok, 1 failure while running, 2 bad usage (flags, configs, paths), 130 stopped by Ctrl-C.
require('../dist/cli/index.js').main().then((code) => {
  process.exitCode = code;
}, (e) => {
  console.error(e && e.message ? e.message : e);
  process.exitCode = 1;
});
