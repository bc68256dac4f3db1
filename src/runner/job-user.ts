/**
 * `[runners.shell] user` / `--user`: run jobs as another local user. The runner must be
 * root for that (it switches with setgid/setuid in the spawned child, which also drops
 * root's supplementary groups); the user is looked up once with getent (NSS, so LDAP
 * users work too).
 */
import { execFileSync } from 'node:child_process';
import { lchownSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface JobUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

const cache = new Map<string, JobUser>();

export function resolveJobUser(spec: string): JobUser {
  const hit = cache.get(spec);
  if (hit) return hit;
  const uid = process.getuid?.();
  if (uid !== 0) throw new Error(`running jobs as user "${spec}" needs the runner to run as root (it runs as uid ${uid ?? 'unknown'})`);
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', spec], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]!;
  } catch {
    throw new Error(`job user "${spec}" does not exist on this host (getent passwd found nothing)`);
  }
  const f = line.split(':');
  const user: JobUser = { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/' };
  if (!Number.isInteger(user.uid) || !Number.isInteger(user.gid))
    throw new Error(`job user "${spec}": unreadable passwd entry ${JSON.stringify(line)}`);
  if (user.uid === 0) throw new Error(`job user "${spec}" is root: leave the option out to run jobs as the runner's user`);
  cache.set(spec, user);
  return user;
}

/** Hands a tree the runner made (checkout, scripts) to the job user. Symlinks are not followed. */
export function chownTree(path: string, u: JobUser): void {
  lchownSync(path, u.uid, u.gid);
  let entries;
  try {
    entries = readdirSync(path, { withFileTypes: true });
  } catch {
    return; // not a directory
  }
  for (const e of entries) {
    const p = join(path, e.name);
    if (e.isDirectory()) chownTree(p, u);
    else lchownSync(p, u.uid, u.gid);
  }
}
