#!/usr/bin/env node
// Builds dist/ when it is missing or older than a source file, so `npm start` and
// `npm test` work right after `npm ci` without a separate build step.
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { execFileSync } = require('node:child_process');

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

const root = join(__dirname, '..');
const built = join(root, 'dist', 'main.js');
if (!existsSync(built) || statSync(built).mtimeMs < newest(join(root, 'src'))) {
  process.stderr.write('Building dist/ (nest build)…\n');
  execFileSync(process.execPath, [require.resolve('@nestjs/cli/bin/nest.js'), 'build'], {
    cwd: root,
    stdio: 'inherit',
  });
}
