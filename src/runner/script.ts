/**
 * Turns a job's command lists into the bash script every executor runs. Each command
 * is echoed as `$ cmd` (as GitLab does) before it runs; `set -e` stops at the first
 * failing command, so the script's exit status is that command's, exactly.
 */

/** Single-quotes `s` for sh. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function buildScript(commands: readonly string[]): string {
  const lines = [
    '#!/usr/bin/env bash',
    // The shell executor passes -eo pipefail; container executors may run this with sh.
    'set -e',
    'set -o pipefail 2>/dev/null || true',
    '',
  ];
  for (const cmd of commands) {
    lines.push(`printf '%s\\n' ${shQuote(`$ ${cmd}`)}`);
    lines.push(cmd);
  }
  lines.push('');
  return lines.join('\n');
}
