/**
 * include:local against a working tree (lint, `faultline run`): the files as they are
 * on disk, uncommitted edits included. Paths may not leave the tree, symlinks neither.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { missing, type CommitFacts, type FetchOutcome, type ProjectFiles } from '../../config/index.js';
import { safeRepoPath } from './git-files.js';

const MAX_BYTES = 2 * 1024 * 1024;

export interface Worktree extends ProjectFiles {
  facts(): Promise<CommitFacts>;
}

export function worktreeFiles(root: string): Worktree {
  const realRoot = realpathSync(root);
  let files: string[] | null = null;
  const listNow = (): string[] => {
    if (files) return files;
    try {
      const out = execFileSync('git', ['-C', realRoot, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        maxBuffer: 256 * 1024 * 1024,
      });
      files = out.split('\0').filter(Boolean);
    } catch {
      files = walk(realRoot, realRoot);
    }
    return files;
  };
  return {
    list: async () => listNow(),
    async read(path): Promise<FetchOutcome> {
      const p = safeRepoPath(path);
      if (!p) return missing(`Local file \`${path}\` is outside the repository`);
      let real: string;
      try {
        real = realpathSync(join(realRoot, p));
      } catch {
        return missing(`Local file \`${p}\` does not exist!`);
      }
      if (real !== realRoot && !real.startsWith(realRoot + sep)) return missing(`Local file \`${p}\` is outside the repository`);
      const st = statSync(real);
      if (!st.isFile()) return missing(`Local file \`${p}\` is not a file`);
      if (st.size > MAX_BYTES) return missing(`Local file \`${p}\` is larger than ${MAX_BYTES} bytes`);
      return { ok: true, text: await readFile(real, 'utf8') };
    },
    facts: async () => ({ files: listNow(), changed: null }),
  };
}

function walk(dir: string, root: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === '.git' || e.name === 'node_modules') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, root, out);
    else if (e.isFile()) out.push(relative(root, p).split(sep).join('/'));
  }
  return out;
}
