/**
 * Widespread errors without a rule (issue 12): the error lines of every fallback-decided
 * failure (no rule knew it) are kept normalised (classify/widespread.ts); a line that failed
 * `minJobs` jobs of at least two projects or refs within `windowMs` is a suspected incident,
 * shown as "unclassified, widespread" with a rule skeleton to start from
 * (`faultline rules test --from-widespread N`).
 */
import { newErrorLines } from '../../classify/log-diff.js';
import { isGroupableLine, normalizeErrorLine, patternOf } from '../../classify/widespread.js';
import type { JobJson } from '../../protocol/user-api.js';
import { iso } from '../store/db.js';
import { ErrorLineStore } from '../store/error-lines.js';
import type { Store } from '../store/index.js';

export interface WidespreadOptions {
  /** Jobs a line must fail (default 5). */
  minJobs: number;
  /** Within this window (default 30 min). */
  windowMs: number;
}
export const DEFAULT_WIDESPREAD: WidespreadOptions = { minJobs: 5, windowMs: 30 * 60_000 };

export interface WidespreadLineJson {
  normalized: string;
  example_line: string;
  job_count: number;
  project_count: number;
  ref_count: number;
  first_at: string;
  last_at: string;
  job_ids: number[];
}

const TAIL_BYTES = 64 * 1024;
const LINES_PER_JOB = 3;
const KEEP_MS = 7 * 86_400_000;

export class WidespreadService {
  readonly rows: ErrorLineStore;
  readonly options: WidespreadOptions;
  private lastPrune = 0;

  constructor(
    private readonly store: Store,
    options: Partial<WidespreadOptions> = {},
  ) {
    this.rows = new ErrorLineStore(store.sql);
    this.options = { ...DEFAULT_WIDESPREAD, ...options };
  }

  /** job_finished: a failure no rule decided leaves its error lines. */
  async onJobFinished(job: JobJson): Promise<void> {
    if (job.status !== 'failed' || !job.failure?.fallback) return;
    const p = await this.store.pipelines.identity(job.pipeline_id);
    if (!p) return;
    const at = job.finished_at ? Date.parse(job.finished_at) : Date.now();
    const { data } = await this.store.traces.tail(job.id, TAIL_BYTES);
    const seen = new Set<string>();
    for (const l of newErrorLines(data, '', 200, TAIL_BYTES)) {
      if (seen.size >= LINES_PER_JOB) break;
      if (!isGroupableLine(l.text)) continue;
      const normalized = normalizeErrorLine(l.text);
      if (seen.has(normalized)) continue;
      seen.add(normalized);
      await this.rows.insert({ normalized, job_id: job.id, example: l.text.trim().slice(0, 500), project: p.project, ref: p.ref, at });
    }
    if (at - this.lastPrune > 3_600_000) {
      this.lastPrune = at;
      await this.rows.prune(at - KEEP_MS);
    }
  }

  async list(now = Date.now(), limit = 50): Promise<WidespreadLineJson[]> {
    return (await this.rows.widespread(now - this.options.windowMs, this.options.minJobs, limit)).map((r) => ({
      normalized: r.normalized,
      example_line: r.example_line,
      job_count: r.job_count,
      project_count: r.project_count,
      ref_count: r.ref_count,
      first_at: iso(r.first_at)!,
      last_at: iso(r.last_at)!,
      job_ids: r.job_ids
        .split(',')
        .map(Number)
        .sort((a, b) => a - b),
    }));
  }
}

/** A rule skeleton matching a widespread line (for `faultline rules test --from-widespread`). */
export function ruleSkeleton(line: WidespreadLineJson, index: number): string {
  const pattern = patternOf(line.normalized);
  return [
    '# Written from an unclassified, widespread error line:',
    `#   ${line.example_line}`,
    `#   ${line.job_count} jobs, ${line.project_count} projects, ${line.ref_count} refs, ${line.first_at} … ${line.last_at}`,
    'rules:',
    `  - id: widespread-${index}`,
    '    version: 1',
    '    description: TODO say what failed and whose it is',
    '    match:',
    '      log_any:',
    `        - '${pattern.replace(/'/g, "''")}'`,
    '    class: infra # or build: decide from the line',
    '    cause: todo_name_the_cause',
    "    summary: 'TODO: {match}'",
    '',
  ].join('\n');
}
