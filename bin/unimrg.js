#!/usr/bin/env node
'use strict';
require('../dist/cli/index.js').main().catch((e) => {
  console.error(e && e.message ? e.message : e);
  process.exitCode = 1;
});
