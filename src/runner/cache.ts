/**
 * `cache:` on the runner host: a local cache, one tar.gz per key under the cache dir,
 * which is keyed by the coordinator (like the builds dir) and so shared by every runner
 * of that coordinator on this host. Archives are written to a temp file and renamed, so
 * two runners never see half an archive.
 *
 * Restored after get_sources, saved after after_script, with gitlab-runner's log lines
 * ("Checking cache for <key>...", "Successfully extracted cache", "Creating cache
 * <key>...", "Created cache"). Every problem here is a WARNING in the job log: a cache
 * is an optimisation and never fails a job.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';
import picomatch from 'picomatch';
import type { CacheSpec } from '../pipeline/model.js';
import type { TraceSink } from './executor.js';

export interface CacheRun {
  /** Root of the local cache (per coordinator). */
  cacheDir: string;
  buildDir: string;
  env: Record<string, string>;
  trace: TraceSink;
}

/** `$VAR` / `${VAR}` from the job environment (unknown → empty, as GitLab). */
export function expandVariables(s: string, env: Record<string, string>): string {
  return s.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_, a: string | undefined, b: string | undefined) => env[(a ?? b)!] ?? '',
  );
}

/** The effective key: expanded, or `[prefix-]sha` of the `key: files:` contents. */
export function cacheKey(spec: CacheSpec, run: Pick<CacheRun, 'buildDir' | 'env'>): string {
  if (!spec.files) return expandVariables(spec.key, run.env).trim() || 'default';
  const h = createHash('sha256');
  let found = 0;
  for (const f of spec.files) {
    const p = join(run.buildDir, expandVariables(f, run.env));
    if (!inside(run.buildDir, p) || !existsSync(p) || !statSync(p).isFile()) continue;
    h.update(f).update('\0').update(readFileSync(p)).update('\0');
    found++;
  }
  const hash = found ? h.digest('hex').slice(0, 40) : 'default';
  const prefix = spec.prefix ? expandVariables(spec.prefix, run.env).trim() : '';
  return prefix ? `${prefix}-${hash}` : hash;
}

const inside = (root: string, p: string) => {
  const r = relative(root, p);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
};

/** A key as one directory name: no separators, no dot-only names. */
function keyDir(cacheDir: string, key: string): string | null {
  if (key === '.' || key === '..' || key.length > 255) return null;
  return join(cacheDir, encodeURIComponent(key));
}

function tar(args: string[], input: string | null, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('tar', args, { cwd, stdio: [input === null ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited with ${code}: ${err.trim().slice(0, 500)}`))));
    if (input !== null) p.stdin!.end(input);
  });
}

/**
 * Restores every cache; returns the keys, computed once here from the checkout (as
 * GitLab computes `key: files:` from the commit), for saveCaches to use.
 */
export async function restoreCaches(specs: readonly CacheSpec[], run: CacheRun): Promise<string[]> {
  const keys = specs.map((s) => cacheKey(s, run));
  for (const [i, spec] of specs.entries()) {
    if (spec.policy === 'push') continue;
    try {
      await restoreOne(spec, keys[i]!, run);
    } catch (e) {
      run.trace.line(`WARNING: Failed to extract cache: ${(e as Error).message}`);
    }
  }
  return keys;
}

async function restoreOne(spec: CacheSpec, key: string, run: CacheRun): Promise<void> {
  const keys = [key, ...spec.fallback_keys.map((k) => expandVariables(k, run.env).trim()).filter(Boolean)];
  run.trace.line('Restoring cache');
  for (const k of keys) {
    run.trace.line(`Checking cache for ${k}...`);
    const dir = keyDir(run.cacheDir, k);
    if (!dir) {
      run.trace.line(`WARNING: cache key ${JSON.stringify(k)} cannot name a cache; skipped`);
      continue;
    }
    const file = join(dir, 'cache.tar.gz');
    if (!existsSync(file)) {
      run.trace.line(`WARNING: ${relative(run.cacheDir, file)}: file does not exist`);
      continue;
    }
    await tar(['-xzf', file, '--no-same-owner', '-C', run.buildDir], null, run.buildDir);
    run.trace.line('Successfully extracted cache');
    return;
  }
  run.trace.line(`WARNING: no cache found for ${keys.join(', ')}`);
}

/** Whether `when:` asks to save after a job that ended `ok` (true) or failed. */
const wanted = (spec: CacheSpec, ok: boolean) => spec.when === 'always' || (spec.when === 'on_success') === ok;

export async function saveCaches(specs: readonly CacheSpec[], run: CacheRun, ok: boolean, keys?: readonly string[]): Promise<void> {
  if (!specs.some((s) => wanted(s, ok))) return;
  run.trace.line(`Saving cache for ${ok ? 'successful' : 'failed'} job`);
  for (const [i, spec] of specs.entries()) {
    if (!wanted(spec, ok)) continue;
    const key = keys?.[i] ?? cacheKey(spec, run);
    if (spec.policy === 'pull') {
      run.trace.line(`Not uploading cache ${key} due to policy`);
      continue;
    }
    try {
      await saveOne(spec, key, run);
    } catch (e) {
      run.trace.line(`WARNING: Failed to create cache ${key}: ${(e as Error).message}`);
    }
  }
}

async function saveOne(spec: CacheSpec, key: string, run: CacheRun): Promise<void> {
  run.trace.line(`Creating cache ${key}...`);
  const dir = keyDir(run.cacheDir, key);
  if (!dir) {
    run.trace.line(`WARNING: cache key ${JSON.stringify(key)} cannot name a cache; skipped`);
    return;
  }
  const files = new Set<string>();
  for (const pattern of spec.paths) {
    const found = matchPath(run.buildDir, expandVariables(pattern, run.env), run.trace);
    run.trace.line(`${pattern}: found ${found.length} matching artifact files and directories`);
    for (const f of found) files.add(f);
  }
  if (spec.untracked) {
    if (!existsSync(join(run.buildDir, '.git')))
      run.trace.line('WARNING: untracked: the project directory is not a git checkout; no untracked files added');
    for (const f of await untrackedFiles(run.buildDir)) files.add(f);
  }
  if (files.size === 0) {
    run.trace.line('WARNING: Archive is empty: no files to cache; skipped');
    return;
  }
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.cache-${process.pid}-${Date.now().toString(36)}.tar.gz`);
  try {
    await tar(['-czf', tmp, '--null', '--no-recursion', '-T', '-'], [...files].sort().join('\0') + '\0', run.buildDir);
    renameSync(tmp, join(dir, 'cache.tar.gz'));
  } finally {
    rmSync(tmp, { force: true });
  }
  run.trace.line('Created cache');
}

const GLOB = /[*?[\]{}!]/;

/** Files and dirs (relative, with everything under a matched dir) for one `paths:` entry. */
function matchPath(root: string, pattern: string, trace: TraceSink): string[] {
  const clean = normalize(pattern).replace(/[/\\]+$/, '');
  if (isAbsolute(clean) || clean.startsWith('..')) {
    trace.line(`WARNING: ${pattern}: a cache path must be inside the project directory; skipped`);
    return [];
  }
  const out: string[] = [];
  const addTree = (rel: string) => {
    out.push(rel);
    const abs = join(root, rel);
    if (lstatSync(abs).isDirectory()) for (const n of readdirSync(abs)) addTree(rel === '.' ? n : join(rel, n));
  };
  if (!GLOB.test(clean)) {
    if (existsSync(join(root, clean))) addTree(clean);
  } else {
    const isMatch = picomatch(clean, { dot: true });
    const walk = (rel: string) => {
      for (const n of readdirSync(join(root, rel))) {
        const r = rel ? join(rel, n) : n;
        if (r === '.git' || r.startsWith(`.git${sep}`)) continue;
        if (isMatch(r.split(sep).join('/'))) addTree(r);
        else if (lstatSync(join(root, r)).isDirectory()) walk(r);
      }
    };
    walk('');
  }
  if (out.length === 0)
    trace.line(`WARNING: ${pattern}: no matching files. Ensure that the artifact path is relative to the working directory`);
  return out;
}

/** `untracked: true`: what git does not track (ignored files included, as gitlab-runner). */
function untrackedFiles(root: string): Promise<string[]> {
  if (!existsSync(join(root, '.git'))) return Promise.resolve([]);
  return new Promise((resolve) => {
    const p = spawn('git', ['ls-files', '--others', '-z'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] });
    let buf = '';
    p.stdout.on('data', (d: Buffer) => (buf += d.toString()));
    p.on('error', () => resolve([]));
    p.on('close', () => resolve(buf.split('\0').filter(Boolean)));
  });
}
