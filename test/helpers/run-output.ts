/** Reading `faultline run` output, and committing files in a test's git repository. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const STATUSES = 'created|pending|running|success_with_warnings|success|failed|canceled|skipped|manual';

/** The last status line printed for a job (`faultline run` prints one per change). */
export function lastStatus(out: string, name: string): string | undefined {
  const re = new RegExp(`^\\s+\\S+ \\S+\\s+${name.replace(/[[\]/>-]/g, '\\$&')}\\s+(${STATUSES})\\b`, 'gm');
  let last: string | undefined;
  for (const m of out.matchAll(re)) last = m[1];
  return last;
}

/** Write `files` into the repository at `dir` and commit them all. */
export function commit(dir: string, files: Record<string, string>, message: string): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const git = (...a: string[]) => execFileSync('git', a, { cwd: dir, stdio: 'ignore' });
  git('add', '-A');
  git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', message);
}
