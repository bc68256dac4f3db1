/** `faultline pipelines` (list), `faultline pipelines status ID`, `play`, `retry`, `logs`. */
import type { JobJson, PipelineJson } from '../../protocol/user-api.js';
import { ApiRequestError, api, type Connection } from '../api-client.js';
import { withSession } from '../local.js';
import { bold, dim, duration, printJson, safe, statusIcon, table } from '../format.js';
import type { ConnOptions } from './query.js';

export async function pipelinesCommand(o: ConnOptions & { ref?: string; status?: string; limit?: string }): Promise<number> {
  return withSession(o, async ({ conn }) => {
    const q = new URLSearchParams();
    for (const k of ['ref', 'status', 'limit'] as const) if (o[k]) q.set(k, o[k]!);
    const res = await api<{ pipelines: PipelineJson[]; total: number }>(conn, 'GET', `/api/v1/pipelines?${q}`);
    if (o.json) return (printJson(res), 0);
    if (res.pipelines.length === 0) return (console.log('no pipelines'), 0);
    const rows = res.pipelines.map((p) => [
      `#${p.id}`,
      `${statusIcon(p.display_status)} ${p.display_status}`,
      p.failure_class ?? '',
      p.project,
      p.ref,
      p.sha?.slice(0, 8) ?? '',
      duration(p.started_at, p.finished_at),
      p.created_at,
    ]);
    for (const l of table(['ID', 'STATUS', 'CLASS', 'PROJECT', 'REF', 'SHA', 'DURATION', 'CREATED'], rows)) console.log(l);
    if (res.total > res.pipelines.length) console.log(dim(`${res.pipelines.length} of ${res.total} (--limit shows more)`));
    return 0;
  });
}

export async function pipelineStatusCommand(id: string, o: ConnOptions): Promise<number> {
  return withSession(o, async ({ conn }) => {
    const p = await api<PipelineJson>(conn, 'GET', `/api/v1/pipelines/${encodeURIComponent(id)}`);
    if (o.json) return (printJson(p), 0);
    console.log(`${statusIcon(p.display_status)} pipeline #${p.id} ${bold(p.display_status)} — ${safe(p.project)} ${safe(p.ref)}`);
    console.log(jobTable(p.jobs ?? []).join('\n'));
    return p.status === 'success' ? 0 : p.status === 'failed' ? 1 : TERMINAL.has(p.status) ? 3 : 0;
  });
}

const TERMINAL = new Set(['success', 'failed', 'canceled', 'skipped', 'blocked']);

export function jobTable(jobs: JobJson[]): string[] {
  return table(
    ['JOB', 'STAGE', 'NAME', 'STATUS', 'CLASS', 'DURATION', 'NOTE'],
    jobs.map((j) => [
      `#${j.id}`,
      j.stage,
      j.name,
      `${statusIcon(j.display_status)} ${j.display_status}`,
      j.failure ? `${j.failure.class}/${j.failure.cause}` : '',
      duration(j.started_at, j.finished_at),
      j.note ?? (j.status === 'manual' ? `faultline play ${j.id}` : ''),
    ]),
  );
}

/**
 * Play or retry. Against a local store nothing else serves (after `faultline run`), this
 * command starts runners itself and follows the pipeline to its end, as `run` would have.
 */
async function jobAction(action: 'play' | 'retry', id: string, o: ConnOptions & { quiet?: boolean }): Promise<number> {
  return withSession(
    o,
    async ({ conn, local }) => {
      const job = await api<JobJson>(conn, 'POST', `/api/v1/jobs/${encodeURIComponent(id)}/${action}`);
      const say = o.json ? (l: string) => console.error(l) : (l: string) => console.log(l);
      const what = action === 'retry' ? `retried as job #${job.id}` : 'played';
      say(`${statusIcon(job.display_status)} ${safe(job.name)} ${what}: ${job.display_status}`);
      let code = 0;
      if (local) {
        const { follow, report } = await import('../follow.js');
        const p = await follow(conn, job.pipeline_id, { quiet: (o.quiet ?? false) || (o.json ?? false), say, interactive: false });
        code = await report(conn, p, say);
      }
      if (o.json) printJson(await api<JobJson>(conn, 'GET', `/api/v1/jobs/${job.id}`));
      return code;
    },
    2,
  );
}
export const playCommand = (id: string, o: ConnOptions) => jobAction('play', id, o);
export const retryCommand = (id: string, o: ConnOptions) => jobAction('retry', id, o);

/** The job's log from `offset`, and whether the job has finished writing it. */
export async function traceFrom(
  conn: Connection,
  id: number | string,
  offset: number,
): Promise<{ text: string; bytes: number; complete: boolean }> {
  const res = await fetch(`${conn.url}/api/v1/jobs/${encodeURIComponent(String(id))}/trace?offset=${offset}`, {
    headers: { authorization: `Bearer ${conn.token}` },
  });
  if (!res.ok) {
    throw new ApiRequestError(res.status, (await res.json().catch(() => ({}))) as { error?: string });
  }
  const buf = Buffer.from(await res.arrayBuffer());
  return { text: buf.toString('utf8'), bytes: buf.length, complete: res.headers.get('x-trace-complete') === 'true' };
}

export async function logsCommand(id: string, o: ConnOptions & { follow?: boolean }): Promise<number> {
  return withSession(o, async ({ conn }) => {
    let offset = 0;
    for (;;) {
      const t = await traceFrom(conn, id, offset);
      if (t.bytes) process.stdout.write(safe(t.text));
      offset += t.bytes;
      if (!o.follow || t.complete) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    return 0;
  });
}
