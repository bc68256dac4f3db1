/**
 * How a script runs inside a job container (shared by the docker and kubernetes
 * executors): bash when the image has it, else sh; and a tiny init that forwards
 * SIGTERM, because PID 1 of a container ignores signals it has no handler for.
 */
import { constants } from 'node:os';

const WRAPPER = [
  'if command -v bash >/dev/null 2>&1; then s=bash; else s=sh; fi',
  '"$s" "$0" & c=$!',
  `trap 'kill -TERM "$c" 2>/dev/null' TERM INT`,
  // wait returns early when the trap fires; keep waiting until the script is really gone
  'while :; do wait "$c"; r=$?; kill -0 "$c" 2>/dev/null || break; done',
  'exit "$r"',
].join('\n');

/** Cmd for Entrypoint ["sh", "-c"]: the wrapper with the script path as $0. */
export function scriptCommand(scriptPath: string): string[] {
  return [WRAPPER, scriptPath];
}

/** The whole command line, for engines that take one argv (kubernetes `command`). */
export function scriptArgv(scriptPath: string): string[] {
  return ['sh', '-c', WRAPPER, scriptPath];
}

/** A container exit code 128+n after a stop means "killed by signal n". */
export function signalFromExit(code: number, sent: string | null): string | null {
  if (code <= 128 || code > 128 + 64) return null;
  const name = Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0];
  return name ?? sent;
}
