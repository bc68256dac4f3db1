/**
 * What the compiler needs to know about a pipeline's commit (CommitFacts for
 * `rules: changes/exists`, `only/except: changes`) and the commit's message, read
 * with git from a repository on this machine (`faultline run` posts its working
 * tree's path). A repository elsewhere yields null: changes then holds and exists
 * matches nothing, as for a pipeline without a push.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import type { CommitFacts } from '../../config/index.js';

const run = promisify(execFile);
const MAX_OUTPUT = 256 * 1024 * 1024;

export interface CommitInfo {
  facts: CommitFacts;
  message: string;
  /** The parent commit, or null for a root commit. */
  before: string | null;
}

function localPath(url: string): string | null {
  const p = url.startsWith('file://') ? url.slice('file://'.length) : url;
  return p.startsWith('/') && existsSync(p) ? p : null;
}

async function git(dir: string, args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-C', dir, ...args], { encoding: 'utf8', maxBuffer: MAX_OUTPUT, timeout: 30_000 });
  return stdout;
}

const split = (z: string): string[] => z.split('\0').filter((s) => s.length > 0);

export async function readCommit(url: string, sha: string): Promise<CommitInfo | null> {
  const dir = localPath(url);
  if (!dir || !/^[0-9a-fA-F]{7,64}$/.test(sha)) return null;
  try {
    const files = split(await git(dir, ['ls-tree', '-r', '-z', '--name-only', sha]));
    const message = (await git(dir, ['log', '-1', '--format=%B', sha])).replace(/\n+$/, '');
    let before: string | null = null;
    try {
      before = (await git(dir, ['rev-parse', '--verify', '--quiet', `${sha}^`])).trim() || null;
    } catch {
      before = null; // a root commit: like a new branch, GitLab has no diff
    }
    const changed = before ? split(await git(dir, ['diff', '--name-only', '-z', '--no-renames', before, sha])) : null;
    return { facts: { files, changed }, message, before };
  } catch {
    return null;
  }
}
