#!/usr/bin/env node
// Compiles src/**/*.ts to dist/ (one JavaScript file per source, ESM, Node 20) so the CLI
// starts without transpiling TypeScript. Per file, not bundled: every module keeps its
// place relative to the repository, so import.meta.url paths (the shipped rules, the UI,
// the compile worker) resolve the same from dist/ as from src/. Files that are not
// TypeScript (the UI's own JavaScript, CSS, HTML) are copied as they are.
// `npm run build`; `npm ci` runs it through `prepare`. bin/faultline.js uses dist/ only
// while dist/.stamp is newer than every file under src/ (see there).
import { build } from 'esbuild';
import { cpSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const src = join(root, 'src');
const out = join(root, 'dist');

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const files = walk(src);
const ts = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: ts,
  outbase: src,
  outdir: out,
  bundle: false,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
});
for (const f of files.filter((f) => !f.endsWith('.ts') && !f.endsWith('.md'))) {
  const to = join(out, relative(src, f));
  mkdirSync(join(to, '..'), { recursive: true });
  cpSync(f, to);
}
// Written last: a build that failed half-way leaves no stamp, and bin/ runs the sources.
writeFileSync(join(out, '.stamp'), `${new Date().toISOString()}\n`);
console.log(`built ${ts.length} module(s) into ${relative(root, out) || out}/`);
