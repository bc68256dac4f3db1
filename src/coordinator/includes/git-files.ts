/**
 * include:local against the pipeline's commit: files are read from git at that commit
 * (`git cat-file blob <sha>:<path>`), never from whatever is checked out. A repository
 * URL that is a local directory is read in place; any other URL is fetched once into a
 * bare cache under the coordinator's data dir (depth 2, so the parent is there for
 * `changes:`).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missing, unreachable, type CommitFacts, type FetchFailure, type FetchOutcome, type ProjectFiles } from '../../config/index.js';

const MAX_BYTES = 2 * 1024 * 1024;
const GIT_TIMEOUT_MS = 30_000;

interface GitOut {
  code: number;
  stdout: string;
  stderr: string;
}

function git(args: string[], maxBuffer = 64 * 1024 * 1024): Promise<GitOut> {
  return new Promise((resolve) => {
    execFile(
      'git',
      args,
      { encoding: 'utf8', maxBuffer, timeout: GIT_TIMEOUT_MS, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: err && code === -1 ? `${err.message}\n${stderr}` : String(stderr) });
      },
    );
  });
}

/** A path inside the repository, normalized; null when it would leave it. */
export function safeRepoPath(p: string): string | null {
  const n = posix.normalize(p.replace(/^\/+/, ''));
  if (n === '.' || n === '' || n.startsWith('../') || n === '..' || n.includes('\0')) return null;
  return n;
}

const localDir = (url: string): string | null => {
  const p = url.startsWith('file://') ? fileURLToPath(url) : url.startsWith('/') ? url : null;
  return p && existsSync(p) && statSync(p).isDirectory() ? p : null;
};

export interface GitCommit extends ProjectFiles {
  /** The commit's files and, when the parent is known, the paths it changed. */
  facts(): Promise<CommitFacts | null>;
}

/** The files of `url` at `commit` (a SHA, else a ref). `cacheDir` holds fetched remote repositories. */
export function gitCommitFiles(url: string, commit: string, cacheDir: string): GitCommit {
  let ready: Promise<{ dir: string; sha: string } | FetchFailure> | null = null;
  const prepare = () => (ready ??= open(url, commit, cacheDir));
  let listed: Promise<readonly string[] | FetchFailure> | null = null;
  const list = () =>
    (listed ??= (async () => {
      const r = await prepare();
      if ('ok' in r) return r;
      const out = await git(['-C', r.dir, 'ls-tree', '-r', '--name-only', '-z', r.sha]);
      if (out.code !== 0) return unreachable(`cannot list the files of ${r.sha.slice(0, 8)}: ${out.stderr.trim().split('\n')[0]}`);
      return out.stdout.split('\0').filter(Boolean);
    })());
  return {
    list,
    async read(path): Promise<FetchOutcome> {
      const p = safeRepoPath(path);
      if (!p) return missing(`Local file \`${path}\` is outside the repository`);
      const r = await prepare();
      if ('ok' in r) return r;
      const out = await git(['-C', r.dir, 'cat-file', 'blob', `${r.sha}:${p}`], MAX_BYTES);
      if (out.code === 0) return { ok: true, text: out.stdout };
      if (/maxBuffer/i.test(out.stderr)) return missing(`Local file \`${p}\` is larger than ${MAX_BYTES} bytes`);
      return missing(`Local file \`${p}\` does not exist! (not in commit ${r.sha.slice(0, 8)})`);
    },
    async facts() {
      const r = await prepare();
      const files = await list();
      if ('ok' in r || !Array.isArray(files)) return null;
      const diff = await git(['-C', r.dir, 'diff-tree', '--no-commit-id', '--name-only', '-r', '-z', `${r.sha}^`, r.sha]);
      return { files: files as string[], changed: diff.code === 0 ? diff.stdout.split('\0').filter(Boolean) : null };
    },
  };
}

async function open(url: string, commit: string, cacheDir: string): Promise<{ dir: string; sha: string } | FetchFailure> {
  if (commit.startsWith('-')) return missing(`\`${commit}\` is not a commit`);
  let dir = localDir(url);
  if (!dir) {
    dir = join(cacheDir, `${createHash('sha256').update(url).digest('hex').slice(0, 24)}.git`);
    if (!existsSync(join(dir, 'HEAD'))) {
      mkdirSync(dir, { recursive: true });
      const init = await git(['init', '--bare', '-q', dir]);
      if (init.code !== 0) return unreachable(`cannot create the include cache: ${init.stderr.trim()}`);
    }
    const have = await git(['-C', dir, 'cat-file', '-e', `${commit}^{commit}`]);
    if (have.code !== 0) {
      const f = await git(['-C', dir, 'fetch', '-q', '--no-tags', '--depth=2', '--end-of-options', url, commit]);
      if (f.code !== 0) return unreachable(`cannot fetch ${commit} from the repository: ${f.stderr.trim().split('\n').pop()}`);
      if (!/^[0-9a-f]{40,64}$/i.test(commit)) commit = 'FETCH_HEAD';
    }
  }
  const rev = await git(['-C', dir, 'rev-parse', '--verify', '--end-of-options', `${commit}^{commit}`]);
  if (rev.code !== 0) return unreachable(`commit ${commit} is not in the repository ${url}`);
  return { dir, sha: rev.stdout.trim() };
}
