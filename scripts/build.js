#!/usr/bin/env node
// Compiles apps/, libs/ and bench/ to dist/ with swc (fast, no type-check; `npm run typecheck` does that).
// Path aliases from tsconfig.json are rewritten to relative requires so dist/ runs with plain node.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'dist');
const tsconfig = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.json'), 'utf8'));
const isSource = (f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !/\.(spec|int-spec|e2e-spec)\.ts$/.test(f);

function walk(dir, files = []) {
  if (!fs.existsSync(dir)) return files;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, files);
    else if (isSource(full)) files.push(full);
  }
  return files;
}

const files = ['apps', 'libs', 'bench', 'tools', 'test/support'].flatMap((d) => walk(path.join(root, d)));
const targetOf = (file) => path.join(out, path.relative(root, file)).replace(/\.ts$/, '.js');
// --if-stale (`npm run tessera`): nothing to do when every output is newer than its source and the build setup.
if (process.argv.includes('--if-stale') && isCurrent()) process.exit(0);
function isCurrent() {
  const mtime = (f) => fs.statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? -1;
  const setup = Math.max(mtime(__filename), mtime(path.join(root, 'tsconfig.json')));
  const assets = ['libs', 'test/support'].flatMap((d) => walkAssets(path.join(root, d)));
  return [...files, ...assets].every((f) => {
    const built = mtime(targetOf(f));
    return built >= mtime(f) && built >= setup;
  });
}
const swc = require('@swc/core');
// Files are overwritten in place (not wiped first): tests may be running the previous build.
for (const file of files) {
  const { code, map } = swc.transformFileSync(file, {
    sourceMaps: true,
    module: { type: 'commonjs' },
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      baseUrl: root,
      paths: tsconfig.compilerOptions.paths,
      keepClassNames: true,
    },
  });
  const target = targetOf(file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, `${code}\n//# sourceMappingURL=${path.basename(target)}.map`);
  fs.writeFileSync(`${target}.map`, map);
}
// Non-TypeScript assets the apps read at run time (e.g. AsyncAPI files for the Kafka test server).
for (const d of ['libs', 'test/support']) {
  for (const f of walkAssets(path.join(root, d))) {
    const target = path.join(out, path.relative(root, f));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(f, target);
  }
}
function walkAssets(dir, files = []) {
  if (!fs.existsSync(dir)) return files;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walkAssets(full, files);
    else if (/\.(ya?ml|json|sql)$/.test(entry.name)) files.push(full);
  }
  return files;
}
// stderr: stdout stays for the output of what runs after the build (`$(npm run --silent tessera -- …)`).
if (!process.argv.includes('--quiet')) console.error(`built ${files.length} files into dist/`);
