/**
 * CPU seconds spent by processes, from /proc (Linux): to show where a bench's cores went, next to
 * its wall-clock figure. On 2 shared cores a setup that adds processes can only be faster if the
 * one before it left a core idle.
 */
import { readFileSync, readdirSync } from 'node:fs';

const TICKS = 100; // USER_HZ: `getconf CLK_TCK` is 100 on every Linux this runs on

interface Stat {
  ppid: number;
  /** utime + stime of the process, in ticks. */
  own: number;
  /** cutime + cstime: children it has waited for (a PostgreSQL backend that exited). */
  reaped: number;
}

function stat(pid: number): Stat | null {
  let s: string;
  try {
    s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // gone
  }
  // comm (field 2) may hold spaces and parentheses: fields are counted after its last ')'
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  const n = (i: number) => Number(f[i - 3]);
  return { ppid: n(4), own: n(14) + n(15), reaped: n(16) + n(17) };
}

/** CPU seconds of `pid` and, with `children`, of its live and reaped children. */
export function cpuSeconds(pid: number, children = false): number {
  const root = stat(pid);
  if (!root) return 0;
  let ticks = root.own;
  if (children) {
    ticks += root.reaped;
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      const s = stat(Number(d));
      if (s?.ppid === pid) ticks += s.own;
    }
  }
  return ticks / TICKS;
}

/** CPU seconds of this process (user + system). */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
