/** User-API queries: `failures`, `why`, `cancel`. */
import type { FailureListJson, JobJson, PipelineJson } from '../../protocol/user-api.js';
import { api } from '../api-client.js';
import { withSession } from '../local.js';
import { bold, describeFailure, safe, statusIcon, table } from '../format.js';

export interface ConnOptions {
  url?: string;
  token?: string;
  data?: string;
  json?: boolean;
}

export async function failuresCommand(opts: ConnOptions & Record<string, string | boolean | undefined>): Promise<number> {
  return withSession(opts, async ({ conn }) => {
    const q = new URLSearchParams();
    for (const k of ['class', 'reason', 'cause', 'ref', 'job', 'runner', 'image', 'executor', 'registry', 'since', 'until', 'limit']) {
      const v = opts[k];
      if (typeof v === 'string') q.set(k, v);
    }
    if (typeof opts.runnerName === 'string') q.set('runner_name', opts.runnerName);
    const res = await api<FailureListJson>(conn, 'GET', `/api/v1/failures?${q}`);
    if (opts.json) {
      console.log(JSON.stringify(res, null, 2));
      return 0;
    }
    if (res.failures.length === 0) console.log('no failures match');
    else {
      const rows = res.failures.map((f) => [
        `#${f.id}`,
        f.name,
        f.ref,
        f.failure.class,
        f.failure.cause,
        f.finished_at ?? '',
        f.failure.summary,
      ]);
      for (const l of table(['JOB', 'NAME', 'REF', 'CLASS', 'CAUSE', 'FINISHED', 'SUMMARY'], rows)) console.log(l);
    }
    return 0;
  });
}

export async function whyCommand(jobId: string, opts: ConnOptions): Promise<number> {
  return withSession(opts, async ({ conn }) => {
    const job = await api<JobJson>(conn, 'GET', `/api/v1/jobs/${encodeURIComponent(jobId)}`);
    if (opts.json) {
      console.log(JSON.stringify(job, null, 2));
      return 0;
    }
    console.log(`${statusIcon(job.display_status)} job #${job.id} ${bold(safe(job.name))} (${safe(job.stage)}) — ${job.display_status}`);
    if (job.status !== 'failed') {
      console.log(safe(job.note ?? 'this job did not fail'));
      return 0;
    }
    for (const line of describeFailure(job)) console.log(line);
    return 0;
  });
}

export async function cancelCommand(pipelineId: string, opts: ConnOptions): Promise<number> {
  return withSession(opts, async ({ conn }) => {
    const p = await api<PipelineJson>(conn, 'POST', `/api/v1/pipelines/${encodeURIComponent(pipelineId)}/cancel`);
    console.log(`pipeline #${p.id}: ${p.status}`);
    return 0;
  });
}
