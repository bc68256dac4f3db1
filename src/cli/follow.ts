/**
 * Following a pipeline to its end (`faultline run`, and `play`/`retry` on a local store):
 * status lines as jobs change, every job's output as it comes with the job's name as a
 * prefix, a blocked manual gate offered to the person at the terminal, then the summary.
 */
import type { JobJson, PipelineJson } from '../protocol/user-api.js';
import { api, type Connection } from './api-client.js';
import { bold, colour, describeFailure, dim, duration, magenta, safe, statusIcon, yellow } from './format.js';
import { traceFrom } from './commands/pipelines.js';

export interface FollowOptions {
  /** Only status lines, no job output. */
  quiet: boolean;
  /** Where the human lines go (stderr under --json). */
  say: (line: string) => void;
  /** Ask on the terminal whether to play a blocking manual job (stdin a TTY). */
  interactive: boolean;
}

const DONE = new Set(['success', 'failed', 'canceled', 'skipped', 'blocked']);

/**
 * A pipeline's jobs, and its child pipelines' jobs named `<trigger job> -> <child job>` (GitLab's
 * downstream view); done when every one of them is final and classified.
 */
async function gather(
  conn: Connection,
  id: number,
  prefix: string,
  depth = 0,
): Promise<{ p: PipelineJson; jobs: JobJson[]; done: boolean }> {
  const p = await api<PipelineJson>(conn, 'GET', `/api/v1/pipelines/${id}`);
  const jobs: JobJson[] = [];
  let done = DONE.has(p.status) && !(p.jobs ?? []).some((j) => j.status === 'failed' && !j.failure);
  for (const j of p.jobs ?? []) {
    jobs.push(prefix ? { ...j, name: `${prefix}${j.name}` } : j);
    if (j.downstream_pipeline_id !== undefined && depth < 3) {
      const child = await gather(conn, j.downstream_pipeline_id, `${prefix}${j.name} -> `, depth + 1);
      jobs.push(...child.jobs);
      done &&= child.done;
    }
  }
  return { p, jobs, done };
}

export async function follow(conn: Connection, id: number, o: FollowOptions): Promise<PipelineJson> {
  const seen = new Map<number, string>();
  const logs = new Map<number, { offset: number; partial: string }>();
  const width = { n: 0 };
  for (let first = true; ; first = false) {
    const { p, jobs, done } = await gather(conn, id, '');
    // Jobs that had finished before this command began (play, retry): their logs are old news.
    if (first)
      for (const j of jobs.filter((x) => x.finished_at)) {
        logs.set(j.id, { offset: -1, partial: '' });
        seen.set(j.id, j.display_status);
      }
    width.n = Math.max(width.n, ...jobs.map((j) => j.name.length));
    for (const j of jobs) {
      if (!o.quiet && j.started_at) await streamLog(conn, j, logs, width.n, o.say);
      if (seen.get(j.id) === j.display_status) continue;
      seen.set(j.id, j.display_status);
      if (j.status !== 'created') {
        const extra = j.note ? dim(` (${safe(j.note)})`) : j.exit_code !== null && j.exit_code !== 0 ? dim(` exit ${j.exit_code}`) : '';
        const child = j.downstream_pipeline_id !== undefined ? dim(` child pipeline #${j.downstream_pipeline_id}`) : '';
        o.say(
          `  ${statusIcon(j.display_status)} ${safe(j.stage).padEnd(10)} ${safe(j.name).padEnd(24)} ${j.display_status}${extra}${child} ${dim(duration(j.started_at, j.finished_at))}`,
        );
      }
    }
    if (p.status === 'blocked' && o.interactive) {
      const gate = jobs.find((j) => j.status === 'manual');
      if (gate && (await askToPlay(gate, o.say))) {
        await api<JobJson>(conn, 'POST', `/api/v1/jobs/${gate.id}/play`);
        continue;
      }
      return { ...p, jobs };
    }
    if (done) return { ...p, jobs };
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** New output of a job, each line as `name | text`; a partial last line waits for the job's next output or its end. */
async function streamLog(
  conn: Connection,
  j: JobJson,
  logs: Map<number, { offset: number; partial: string }>,
  width: number,
  say: (l: string) => void,
): Promise<void> {
  const st = logs.get(j.id) ?? { offset: 0, partial: '' };
  logs.set(j.id, st);
  if (st.offset < 0) return; // finished and flushed
  const t = await traceFrom(conn, j.id, st.offset);
  st.offset += t.bytes;
  const lines = (st.partial + t.text).split('\n');
  st.partial = lines.pop() ?? '';
  if (t.complete && st.partial) lines.push(st.partial);
  const prefix = (colour ? magenta(j.name.padEnd(width)) : j.name.padEnd(width)) + dim(' | ');
  for (const l of lines) say(safe(prefix) + safe(l.replace(/\r$/, '')));
  if (t.complete) st.offset = -1;
}

/** `p` plays the manual job that blocks the pipeline; `q`, Ctrl-C or end of input leave it blocked. */
function askToPlay(gate: JobJson, say: (l: string) => void): Promise<boolean> {
  say(magenta(`■ the manual job ${bold(safe(gate.name))} (#${gate.id}) blocks the pipeline: press p to play it, q to stop`));
  const stdin = process.stdin;
  return new Promise((resolve) => {
    const done = (v: boolean) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
      resolve(v);
    };
    const onData = (d: Buffer) => {
      const k = d.toString('utf8').toLowerCase();
      if (k.includes('p')) done(true);
      else if (k.includes('q') || k.includes('\u0003') || k.includes('\u0004')) done(false);
    };
    const onEnd = () => done(false);
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.resume();
  });
}

/** The failed jobs with their verdicts and log tails, the pipeline's result, hints; returns the exit code. */
export async function report(conn: Connection, p: PipelineJson, say: (l: string) => void): Promise<number> {
  const failed = (p.jobs ?? []).filter((j: JobJson) => j.status === 'failed' && j.display_status === 'failed');
  for (const j of failed) {
    say('');
    for (const line of describeFailure(j)) say(line);
    const trace = await api<string>(conn, 'GET', `/api/v1/jobs/${j.id}/trace`);
    const tail = String(trace).trimEnd().split('\n').slice(-10);
    say(dim(`  --- last ${tail.length} log lines ---`));
    for (const l of tail) say(dim('  | ') + safe(l));
  }
  const halted = p.halted_by ? ` (passed early by job ${safe(p.halted_by.name)})` : '';
  const cls = p.failure_class ? ` — ${p.failure_class}` : '';
  say(`\n${statusIcon(p.display_status)} pipeline #${p.id} ${bold(p.display_status)}${halted}${cls}`);
  for (const j of (p.jobs ?? []).filter((x) => x.status === 'manual'))
    say(
      yellow(
        `${p.status === 'blocked' ? 'blocked on' : 'not played:'} manual job ${safe(j.name)} (#${j.id}) — play it with: faultline play ${j.id}`,
      ),
    );
  if (p.status === 'success') return 0;
  if (p.status === 'failed') return 1;
  return 3;
}
