#!/usr/bin/env node
// `npm test`: builds dist/ (e2e and process tests run the built server), runs every jest tier,
// then prints one closing line `N passed, N failed`.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const build = spawnSync(process.execPath, [path.join(root, 'scripts/build.js')], { stdio: 'inherit', cwd: root });
if (build.status !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}
// Type errors fail the run too (the build itself does not type-check).
const typecheck = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit'], { stdio: 'inherit', cwd: root });
const out = path.join(root, '.test-output', 'jest.json');
// jest's globalSetup writes which Kafka broker the run used (test/support/global-setup.ts).
const kafkaNote = path.join(root, '.test-output', 'kafka.txt');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.rmSync(out, { force: true });
fs.rmSync(kafkaNote, { force: true });
const args = [require.resolve('jest/bin/jest'), '--json', `--outputFile=${out}`, ...process.argv.slice(2)];
const started = Date.now();
const run = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root, env: process.env });
const seconds = Math.round((Date.now() - started) / 1000);
let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const result = JSON.parse(fs.readFileSync(out, 'utf8'));
  passed = result.numPassedTests;
  // Only the real-Kafka-only cases may skip, and only on the go-mokapi fallback (see README).
  skipped = result.numPendingTests;
  failed = result.numFailedTests + result.numRuntimeErrorTestSuites + (typecheck.status === 0 ? 0 : 1);
} catch {
  failed = 1;
}
if (run.status !== 0 && failed === 0) failed = 1;
const kafka = fs.existsSync(kafkaNote) ? fs.readFileSync(kafkaNote, 'utf8').trim() : 'none started';
console.log(`Kafka for the Kafka-path tests: ${kafka}; jest ran ${seconds} s`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (typecheck.status !== 0) console.error('type-check failed (counted as one failure)');
process.exit(run.status === 0 && failed === 0 ? 0 : 1);
