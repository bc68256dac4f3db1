/**
 * Backtest candidate classification rules against the stored failures: reads the failed
 * jobs of a window and their log tails, reclassifies them, and reports what would change.
 * Writes nothing. Used by `faultline rules test` and `POST /api/v1/rules/backtest`.
 */
import { backtest, DEFAULT_WINDOW_BYTES, type BacktestInput, type BacktestResult, type RuleError } from '../../classify/index.js';
import { loadRules } from '../rules/index.js';
import type { FailureReport } from '../../protocol/failure.js';
import type { Store } from '../store/index.js';
import type { JobRow } from '../store/jobs.js';
import { failureOf } from '../views.js';

export type BacktestOutcome = ({ ok: true; rules_dir: string; since: string } & BacktestResult) | { ok: false; errors: RuleError[] };

async function storedFailures(store: Store, sinceMs: number, windowBytes: number): Promise<BacktestInput[]> {
  const out: BacktestInput[] = [];
  const rows = await store.sql.all<JobRow>(
    `SELECT * FROM jobs WHERE status = 'failed' AND failure_class IS NOT NULL AND finished_at >= ? ORDER BY id`,
    [sinceMs],
  );
  for (const row of rows) {
    const current = failureOf(row)!;
    const report: FailureReport = {
      reason: current.reason,
      stage: current.stage,
      exit_code: current.exit_code,
      executor: current.executor,
      message: current.message,
      image: current.image,
      registry: current.registry,
      kind: current.kind ?? null,
    };
    // Only class and cause are compared, so the log tail suffices (no whole-log line numbers).
    out.push({ job_id: row.id, report, log: (await store.traces.tail(row.id, windowBytes)).data, current });
  }
  return out;
}

export async function backtestStored(store: Store, rulesDir: string, sinceMs: number, samples = 5): Promise<BacktestOutcome> {
  const loaded = loadRules(rulesDir);
  if (!loaded.ok) return { ok: false, errors: loaded.errors };
  const result = backtest(await storedFailures(store, sinceMs, DEFAULT_WINDOW_BYTES), loaded.rules, { samples });
  return { ok: true, rules_dir: rulesDir, since: new Date(sinceMs).toISOString(), ...result };
}
