/** Terminal formatting shared by the CLI commands. */
import type { FailureClassification } from '../protocol/failure.js';
import type { JobJson } from '../protocol/user-api.js';

const tty = process.stdout.isTTY === true && !process.env.NO_COLOR;
/** Whether this process paints its output (stdout a TTY, NO_COLOR unset). */
export const colour = tty;
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
  return `${color(who)} · ${safe(f.cause)}${f.fallback ? dim(' (fallback by reason)') : ''}`;
}

export function describeFailure(job: Pick<JobJson, 'id' | 'name' | 'failure'>): string[] {
  const f = job.failure;
  if (!f) return [`${safe(job.name)} (#${job.id}): not classified yet`];
  const out = [
    `${bold(safe(job.name))} (#${job.id}): ${failureLabel(f)}`,
    `  ${safe(f.summary)}`,
    `  reason ${f.reason} at stage ${f.stage}${f.exit_code !== null ? `, exit code ${f.exit_code}` : ''}` +
      (f.executor ? `, executor ${f.executor}` : '') +
      (f.image ? `, image ${safe(f.image)}` : ''),
  ];
  if (f.message) out.push(`  message: ${safe(f.message)}`);
  if (f.rule) {
    out.push(`  decided by rule ${f.rule.id}@${f.rule.version}${f.evidence.length ? ' on:' : ' (on the reported failure, no log lines)'}`);
    for (const e of f.evidence) out.push(dim(`  L${e.line}: `) + safe(e.text));
  } else if (f.kind === 'pre_get_sources_script' && f.cause === 'hook_failed') {
    // get_sources alone would fall back to infra (a failed fetch); the runner says the job's own hook failed.
    out.push(
      "  decided by the runner's report: the job's own hooks: pre_get_sources_script failed, before any fetch (no rule matched its log)",
    );
    out.push(...baselineLines(f));
  } else if (f.reason === 'downstream_pipeline_failed') {
    // A trigger job with strategy: depend takes its child pipeline's verdict; no rule or fallback read a log.
    out.push(
      `  decided by the child pipeline: the trigger job takes the class of its failed jobs (${f.class}); see them above or with faultline why`,
    );
  } else if (f.reason === 'downstream_pipeline_creation_failed') {
    out.push(
      `  decided by the coordinator: the child pipeline was refused — ${f.class === 'infra' ? 'only includes it could not reach refused it (infra)' : "its configuration's errors are the developers' to fix (build)"}; the job log lists them`,
    );
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
    ...lines.map((e) => dim(`  L${e.line} (not in #${f.baseline_job_id}): `) + safe(e.text)),
  ];
}

export function duration(from: string | null, to: string | null): string {
  if (!from) return '';
  const ms = (to ? Date.parse(to) : Date.now()) - Date.parse(from);
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

const SGR = /^\x1b\[[0-9;]*m/;

/**
 * Text from outside (job names, logs, messages, runner names) made safe for a terminal:
 * escape sequences other than colours (cursor moves, OSC titles and hyperlinks, screen
 * clears), other C0/C1 control characters and lone carriage returns are shown as visible
 * `\xNN` escapes instead of acting on the terminal. Colour (SGR) sequences survive only
 * when this process paints its own output. Newlines and tabs are kept.
 */
export function safe(text: string, keepColour = colour): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    const c = ch.charCodeAt(0);
    if (c === 0x1b && keepColour) {
      const m = SGR.exec(text.slice(i, i + 32));
      if (m) {
        out += m[0];
        i += m[0].length - 1;
        continue;
      }
    }
    if (ch === '\r' && text[i + 1] === '\n') continue; // CRLF → LF
    if (ch === '\n' || ch === '\t') out += ch;
    else if (c < 0x20 || c === 0x7f || (c >= 0x80 && c <= 0x9f)) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}

const visibleWidth = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;

/** An aligned table with a header row; cells are made `safe`, the last column is not padded. */
export function table(headers: string[], rows: Array<Array<string | number | null | undefined>>): string[] {
  const cells = rows.map((r) => r.map((c) => safe(c == null ? '' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => visibleWidth(r[i] ?? ''))));
  const line = (r: string[], paint = (x: string) => x) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - visibleWidth(c))))
      .join('  ')
      .trimEnd()
      .replace(/^.*$/, paint);
  return [line(headers, bold), ...cells.map((r) => line(r))];
}

/** Prints `value` as indented JSON (the --json of every command). */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}
