#!/usr/bin/env node
// The npm registry reachable here does not serve other platforms' binary packages (darwin, win32, …),
// so `npm install` leaves them out of package-lock.json and `npm ci` then refuses the lock file.
// This adds the missing optional platform packages as lock entries with their os/cpu (read from the
// package name), which npm ci accepts and skips on non-matching platforms. Run after `npm install`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const file = path.resolve(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const OS = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openbsd', 'netbsd', 'sunos', 'aix', 'openharmony'];
const CPU = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el', 'wasm32', 'x86'];

function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.find((p) => OS.includes(p));
  const cpu = parts.find((p) => CPU.includes(p));
  return { os, cpu: cpu === 'x86' ? 'ia32' : cpu };
}

let added = 0;
for (const [where, entry] of Object.entries(lock.packages)) {
  for (const [dep, range] of Object.entries(entry.optionalDependencies ?? {})) {
    // Resolution as node does it: next to the dependent, else hoisted to the top.
    const nested = `${where ? `${where}/` : ''}node_modules/${dep}`;
    if (lock.packages[nested] || lock.packages[`node_modules/${dep}`]) continue;
    const { os, cpu } = platformOf(dep);
    if (!os && !cpu) continue;
    const version = String(range).replace(/^[\^~=]/, '');
    lock.packages[`node_modules/${dep}`] = { version, ...(cpu ? { cpu: [cpu] } : {}), dev: entry.dev, optional: true, ...(os ? { os: [os] } : {}) };
    if (lock.packages[`node_modules/${dep}`].dev === undefined) delete lock.packages[`node_modules/${dep}`].dev;
    added++;
  }
}
const sorted = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)));
lock.packages = sorted;
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: added ${added} optional platform entries`);
