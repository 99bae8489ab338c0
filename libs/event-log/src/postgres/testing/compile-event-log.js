'use strict';
// Compiles libs/event-log/src (sources only: no specs, no testing/ helpers) to CommonJS with swc, for child
// processes that run with plain node. Writes to a directory of its own instead of dist/, which
// scripts/build.js owns (it wipes dist/ and other test files run the built apps from it).
const fs = require('node:fs');
const path = require('node:path');
const swc = require('@swc/core');

const SRC = path.resolve(__dirname, '../..');

function sources(dir, out = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'testing') sources(full, out);
    } else if (entry.name.endsWith('.ts') && !/\.(spec|int-spec|e2e-spec|d)\.ts$/.test(entry.name)) {
      out.push(full);
    }
  }
  return out;
}

/** Returns the directory that mirrors libs/event-log/src (e.g. `${dir}/postgres/postgres-event-log.js`). */
function compileEventLog(outDir) {
  for (const file of sources(SRC)) {
    const { code } = swc.transformFileSync(file, {
      module: { type: 'commonjs' },
      jsc: {
        target: 'es2022',
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
        keepClassNames: true,
      },
    });
    const target = path.join(outDir, path.relative(SRC, file)).replace(/\.ts$/, '.js');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, code);
  }
  // The compiled files live outside the repo: let their require('pg') resolve to the repo's packages.
  const link = path.join(outDir, 'node_modules');
  if (!fs.existsSync(link)) fs.symlinkSync(path.resolve(SRC, '../../../node_modules'), link, 'dir');
  return outDir;
}

module.exports = { compileEventLog };
