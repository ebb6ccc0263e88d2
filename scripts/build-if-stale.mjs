#!/usr/bin/env node
// `npm start`'s pre-step: builds (`npm run build`) only when the sources changed since the last
// build, so a second start goes straight to `node dist/cli/main.js`. "Changed" is a digest of the
// path, size and modification time of every input file — an edit, a `git pull`, a new or deleted
// file or a different lockfile all change it. Plain JavaScript: it runs before anything is built.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = join(root, 'dist', '.build-stamp');
const outputs = [join(root, 'dist', 'cli', 'main.js'), join(root, 'dist', 'web', 'index.html')];

const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8'));
const inputs = [...build.include, 'dashboards/web', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];

function* files(path) {
  let st;
  try { st = statSync(path); } catch { return; }
  if (st.isDirectory()) {
    for (const name of readdirSync(path).sort()) if (name !== 'node_modules') yield* files(join(path, name));
  } else yield [relative(root, path), st.size, st.mtimeMs];
}

const hash = createHash('sha256');
for (const input of inputs) for (const f of files(join(root, input))) hash.update(`${f.join('\t')}\n`);
const digest = hash.digest('hex');

const upToDate = outputs.every((f) => existsSync(f)) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === digest;
if (upToDate) {
  console.error('anju: build is up to date (sources unchanged since the last build)');
} else {
  console.error('anju: sources changed since the last build: building (npm run build)');
  const npm = process.env.npm_execpath;
  const r = npm
    ? spawnSync(process.execPath, [npm, 'run', 'build'], { cwd: root, stdio: 'inherit' })
    : spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  writeFileSync(stamp, `${digest}\n`);
}
