/**
 * Jobs die with their runner. Each job step runs in its own process group (so a stop
 * reaches its background children); without more, a runner killed with SIGKILL leaves
 * those groups running as orphans while the coordinator retries the job elsewhere.
 *
 * A watchdog — one small bash process per runner process, in its own session so no
 * terminal signal or kill of the runner reaches it — holds the read end of a pipe whose
 * write end only the runner holds. The runner registers each job's process group on it
 * (`+pgid`) and unregisters it when the step is over (`-pgid`). When the runner dies, by
 * any means, the kernel closes the pipe; the watchdog reads EOF and SIGKILLs every group
 * still registered. Why this and not the alternatives:
 *  - PR_SET_PDEATHSIG needs native code and reaches only the direct child, not the
 *    script's own children (the ones with side effects);
 *  - a reaper at the next runner start is too late: the retry is already running.
 * If the watchdog itself dies, the runner starts a new one and registers the live groups
 * again. SIGTERM to the watchdog also kills the groups (fail safe).
 */
import { spawn, type ChildProcess } from 'node:child_process';

const WATCHDOG = [
  'declare -A groups',
  'killall() { for g in "${!groups[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done; exit 0; }',
  "trap '' INT HUP",
  'trap killall TERM',
  'while IFS= read -r line; do',
  '  case "$line" in',
  '    +[0-9]*) groups[${line#+}]=1 ;;',
  '    -[0-9]*) unset "groups[${line#-}]" ;;',
  '  esac',
  'done',
  'killall',
].join('\n');

const live = new Set<number>();
let watchdog: ChildProcess | null = null;

function send(line: string): void {
  if (!watchdog || watchdog.exitCode !== null || watchdog.signalCode !== null || !watchdog.stdin?.writable) {
    const w = spawn('bash', ['--noprofile', '--norc', '-c', WATCHDOG], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    w.once('error', () => undefined); // no bash: the shell executor fails on its own
    w.stdin!.on('error', () => undefined);
    w.once('exit', () => {
      if (watchdog === w) watchdog = null;
    });
    // Neither the watchdog nor its pipe keeps this process alive; exiting closes the pipe.
    w.unref();
    (w.stdin as unknown as { unref?: () => void }).unref?.();
    watchdog = w;
    for (const g of live) if (`+${g}\n` !== line) w.stdin!.write(`+${g}\n`);
  }
  watchdog.stdin!.write(line);
}

/** Kill process group `pgid` if this process dies before calling the returned release. */
export function guardProcessGroup(pgid: number): () => void {
  live.add(pgid);
  send(`+${pgid}\n`);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    live.delete(pgid);
    send(`-${pgid}\n`);
  };
}

/** The watchdog's pid (tests). */
export function watchdogPid(): number | undefined {
  return watchdog?.pid;
}
