/** Terminal formatting shared by the CLI commands. */
import type { FailureClassification } from '../protocol/failure.js';
import type { JobJson } from '../protocol/user-api.js';

const tty = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number) => (s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
export const red = paint(31);
export const green = paint(32);
export const yellow = paint(33);
export const blue = paint(34);
export const magenta = paint(35);
export const dim = paint(2);
export const bold = paint(1);

const STATUS_ICON: Record<string, string> = {
  success: green('✓'),
  success_with_warnings: yellow('!'),
  failed: red('✗'),
  canceled: dim('⊘'),
  canceling: yellow('…'),
  skipped: dim('»'),
  manual: magenta('▶'),
  blocked: magenta('■'),
  running: blue('●'),
  pending: dim('○'),
  created: dim('○'),
};
export const statusIcon = (s: string): string => STATUS_ICON[s] ?? '?';

/** "infra · registry_unreachable — operators' to fix" */
export function failureLabel(f: FailureClassification): string {
  const who = f.class === 'infra' ? "INFRA — operators' to fix" : f.class === 'build' ? 'BUILD — yours to fix' : 'UNKNOWN';
  const color = f.class === 'infra' ? magenta : f.class === 'build' ? red : yellow;
  return `${color(who)} · ${f.cause}${f.fallback ? dim(' (fallback by reason)') : ''}`;
}

export function describeFailure(job: Pick<JobJson, 'id' | 'name' | 'failure'>): string[] {
  const f = job.failure;
  if (!f) return [`${job.name} (#${job.id}): not classified yet`];
  const out = [
    `${bold(job.name)} (#${job.id}): ${failureLabel(f)}`,
    `  ${f.summary}`,
    `  reason ${f.reason} at stage ${f.stage}${f.exit_code !== null ? `, exit code ${f.exit_code}` : ''}` +
      (f.executor ? `, executor ${f.executor}` : '') +
      (f.image ? `, image ${f.image}` : ''),
  ];
  if (f.message) out.push(`  message: ${f.message}`);
  if (f.rule) {
    out.push(`  decided by rule ${f.rule.id}@${f.rule.version}${f.evidence.length ? ' on:' : ' (on the reported failure, no log lines)'}`);
    for (const e of f.evidence) out.push(dim(`  L${e.line}: `) + e.text);
  } else {
    out.push(yellow(`  no rule matched — decided by the fallback for reason ${f.reason} at stage ${f.stage}`));
    out.push(...baselineLines(f));
  }
  return out;
}

/** A fallback verdict's comparison with the job's last green run (not rule evidence). */
export function baselineLines(f: FailureClassification): string[] {
  if (f.baseline_job_id == null)
    return f.baseline_job_id === null ? [dim('  no earlier green run of this job to compare the log with')] : [];
  const lines = f.new_lines ?? [];
  if (lines.length === 0) return [dim(`  the last green run (#${f.baseline_job_id}) printed every error-like line this one did`)];
  return [
    `  no rule matched; lines the last green run (#${f.baseline_job_id}) did not have:`,
    ...lines.map((e) => dim(`  L${e.line} (not in #${f.baseline_job_id}): `) + e.text),
  ];
}

export function duration(from: string | null, to: string | null): string {
  if (!from) return '';
  const ms = (to ? Date.parse(to) : Date.now()) - Date.parse(from);
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}
