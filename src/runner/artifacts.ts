/**
 * The runner's half of artifacts: find the files of `artifacts: paths/exclude/untracked`
 * (and of each report kind) in the project dir, zip them as a stream straight into the
 * upload, and unpack dependencies' archives before the script. Log lines follow
 * gitlab-runner's so that people (and rules) recognise them.
 */
import { execFile } from 'node:child_process';
import { createWriteStream, mkdirSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import picomatch from 'picomatch';
import yauzl from 'yauzl';
import yazl from 'yazl';
import type { ArtifactsSpec } from '../pipeline/model.js';
import type { ArtifactDependency } from '../protocol/runner-api.js';
import { BuildError } from './executor.js';

const run = promisify(execFile);

export interface TraceSink {
  line(s: string): void;
}

/** All files under `root` (relative, `/`-separated), not following symlinks, without `.git/`. */
function walk(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const abs = join(dir, n);
      const rel = relative(root, abs).split(sep).join('/');
      if (rel === '.git') continue;
      const st = lstatSync(abs);
      if (st.isDirectory()) visit(abs);
      else if (st.isFile() || st.isSymbolicLink()) out.push(rel);
    }
  };
  visit(root);
  return out;
}

/** A pattern matches a file itself, or everything below it when it names a directory. */
function matcher(patterns: string[]): (rel: string) => boolean {
  const ms = patterns.map((p) => {
    const clean = p.replace(/^\.\//, '').replace(/\/+$/, '');
    return [picomatch(clean, { dot: true }), picomatch(`${clean}/**`, { dot: true })] as const;
  });
  return (rel) => ms.some(([a, b]) => a(rel) || b(rel));
}

async function untrackedFiles(root: string): Promise<string[]> {
  try {
    const { stdout } = await run('git', ['ls-files', '--others', '-z'], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
    return stdout.split('\0').filter(Boolean);
  } catch {
    return []; // not a git checkout: nothing is "untracked"
  }
}

/** The files to archive, each pattern's count logged like gitlab-runner does. */
export async function collectArtifactFiles(
  root: string,
  o: { paths: string[]; exclude?: string[]; untracked?: boolean },
  trace: TraceSink,
): Promise<string[]> {
  const all = walk(root);
  const chosen = new Set<string>();
  for (const p of o.paths) {
    if (resolve(root, p) !== root && !resolve(root, p).startsWith(root + sep)) {
      trace.line(`WARNING: ${p}: artifact path is outside the project directory; skipped`);
      continue;
    }
    const m = matcher([p]);
    const hits = all.filter(m);
    if (hits.length === 0)
      trace.line(`WARNING: ${p}: no matching files. Ensure that the artifact path is relative to the working directory (${root})`);
    else trace.line(`${p}: found ${hits.length} matching artifact files and directories`);
    for (const h of hits) chosen.add(h);
  }
  if (o.untracked) {
    const u = await untrackedFiles(root);
    trace.line(`untracked: found ${u.length} files`);
    for (const f of u) chosen.add(f);
  }
  if (o.exclude?.length) {
    const ex = matcher(o.exclude);
    let n = 0;
    for (const f of [...chosen])
      if (ex(f)) {
        chosen.delete(f);
        n++;
      }
    if (n > 0) trace.line(`${o.exclude.join(', ')}: excluded ${n} files`);
  }
  return [...chosen].sort();
}

/** A zip of `files` (relative to root) as a stream; nothing is buffered beyond yazl's chunks. */
export function zipStream(root: string, files: string[]): NodeJS.ReadableStream {
  const zip = new yazl.ZipFile();
  for (const f of files) zip.addFile(join(root, f), f, { compress: !/\.(zip|gz|tgz|xz|zst|jar|png|jpe?g|woff2?)$/i.test(f) });
  zip.end();
  return zip.outputStream;
}

/** Is the outcome one `when:` uploads for? */
export function uploadsFor(when: ArtifactsSpec['when'], succeeded: boolean): boolean {
  return when === 'always' || (when === 'on_success') === succeeded;
}

/** Unpacks a zip into root, refusing entries that would land outside it. */
export async function extractZip(zipPath: string, root: string): Promise<number> {
  const zf = await new Promise<yauzl.ZipFile>((res, rej) =>
    yauzl.open(zipPath, { lazyEntries: true, autoClose: true }, (err, z) => (err || !z ? rej(err ?? new Error('bad zip')) : res(z))),
  );
  let n = 0;
  await new Promise<void>((resolveAll, reject) => {
    zf.on('error', reject);
    zf.on('end', () => resolveAll());
    zf.on('entry', (e: yauzl.Entry) => {
      const dest = resolve(root, e.fileName);
      if (dest !== root && !dest.startsWith(root + sep))
        return reject(new Error(`archive entry ${JSON.stringify(e.fileName)} points outside the project directory`));
      if (e.fileName.endsWith('/')) {
        mkdirSync(dest, { recursive: true });
        return zf.readEntry();
      }
      mkdirSync(dirname(dest), { recursive: true });
      zf.openReadStream(e, (err, s) => {
        if (err || !s) return reject(err ?? new Error('cannot read entry'));
        rmSync(dest, { force: true });
        pipeline(s, createWriteStream(dest)).then(() => {
          n++;
          zf.readEntry();
        }, reject);
      });
    });
    zf.readEntry();
  });
  return n;
}

export interface ArtifactTransport {
  downloadArtifact(job: { id: number; token: string }, fromJobId: number, dest: string): Promise<'ok' | 'missing'>;
}

/** Before the script: every dependency's archive, unpacked into the project dir. */
export async function downloadDependencies(
  deps: ArtifactDependency[],
  o: { job: { id: number; token: string }; buildDir: string; tmpDir: string; client: ArtifactTransport; trace: TraceSink },
): Promise<void> {
  for (const d of deps) {
    if (d.artifacts === 'none') continue;
    const missing = () =>
      new BuildError(
        `the artifacts of job ${d.name} (#${d.job_id}) this job depends on are missing (expired or erased); retry ${d.name} to produce them again`,
        'missing_dependency_failure',
        'download_artifacts',
      );
    if (d.artifacts === 'missing') {
      o.trace.line(`ERROR: Downloading artifacts for ${d.name} (${d.job_id}) failed: the artifacts are missing (expired or erased)`);
      throw missing();
    }
    o.trace.line(`Downloading artifacts for ${d.name} (${d.job_id})...`);
    const tmp = join(o.tmpDir, `artifacts-${d.job_id}.zip`);
    mkdirSync(o.tmpDir, { recursive: true });
    try {
      const r = await o.client.downloadArtifact(o.job, d.job_id, tmp);
      if (r === 'missing') {
        o.trace.line(`ERROR: Downloading artifacts from coordinator... not found  id=${d.job_id}`);
        throw missing();
      }
      const n = await extractZip(tmp, o.buildDir);
      o.trace.line(`Downloading artifacts from coordinator... ok        id=${d.job_id} files=${n}`);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
}
