/**
 * `npm run bench`: every performance target of faultline, measured against a baseline
 * run in the same process. Prints a table and, last, one JSON line.
 */
import { benchArtifacts } from './artifacts.js';
import { benchClassify } from './classify.js';
import { benchCliStartup } from './cli-startup.js';
import { benchConfig } from './config.js';
import { benchCorpus } from './corpus.js';
import { benchConfigIncludes } from './config-includes.js';
import { benchDag } from './dag.js';
import { benchDispatch } from './dispatch.js';
import { benchDispatchEngines } from './dispatch-engines.js';
import { benchHandout } from './handout.js';
import { benchMasking } from './masking.js';
import { benchPipelineScale } from './pipeline-scale.js';

const TARGETS: Record<string, (v: number) => boolean> = {
  runner_api_over_bare_ratio: (v) => v >= 0.5,
  pickup_p99_ms: (v) => v <= 50,
  dag_scaling_4k_over_1k: (v) => v <= 8, // wall time: linear ≈ 4 plus GC/cache effects; quadratic would be ≈ 16
  dag_work_growth_4k_over_1k: (v) => v <= 1.1, // engine work per job stays flat as the DAG grows
  config_scaling_4k_over_1k: (v) => v <= 6,
  includes_scaling_4k_over_1k: (v) => v <= 4.5, // issue 10: 4,000 jobs from includes ≤ 4.5× the 1,000-job time
  classify_over_grep_ratio: (v) => v >= 0.5,
  structured_over_jre_ratio: (v) => v >= 10,
  mask_1000_over_1_ratio: (v) => v <= 3, // one pass for all masked values (per-value scans: ~1,000)
  job_request_50k_over_0_ratio: (v) => v <= 2, // unmatched pending jobs are never read (a scan: ~18)
  // the CI floors of `faultline rules eval` on the held-out part
  corpus_heldout_accuracy_pct: (v) => v >= 90,
  corpus_heldout_infra_precision_pct: (v) => v >= 95,
  corpus_heldout_infra_recall_pct: (v) => v >= 85,
  corpus_heldout_coverage_pct: (v) => v >= 80,
  yaml_alias_scaling_4x: (v) => v <= 4.5, // 4× the aliases: linear ≈ 4, quadratic ≈ 16
  artifact_upload_over_copy_ratio: (v) => v >= 0.5,
  artifact_download_over_copy_ratio: (v) => v >= 0.5,
  cli_version_over_node_ratio: (v) => v <= 5, // issue 13: compiled dist/, commands lazy-loaded
  cli_lint_200_over_node_ratio: (v) => v <= 5,
  artifact_coordinator_rss_growth_mb: (v) => v <= 64, // a 200 MB archive: flat means chunks, not the archive
  // issue 15: the same runner-API load on each store (bench/dispatch-engines.ts)
  pg1_over_sqlite_dispatch_ratio: (v) => v >= 0.5,
  pg2_over_pg1_dispatch_ratio: (v) => v >= 1,
  sqlite_pickup_p99_ms: (v) => v <= 50,
  pg1_pickup_p99_ms: (v) => v <= 50,
  pg2_pickup_p99_ms: (v) => v <= 50,
  pg2_cross_pickup_p99_ms: (v) => v <= 50,
};
/** The goal, printed beside the figure (where the check alone does not say it). */
const GOALS: Record<string, string> = {
  pg1_over_sqlite_dispatch_ratio: 'goal ≥ 0.5',
  pg2_over_pg1_dispatch_ratio: 'goal ≥ 1 (not slower)',
  sqlite_pickup_p99_ms: 'goal ≤ 50',
  pg1_pickup_p99_ms: 'goal ≤ 50',
  pg2_pickup_p99_ms: 'goal ≤ 50',
  pg2_cross_pickup_p99_ms: 'goal ≤ 50',
};

const results: Record<string, number | string> = {};
const only = process.argv.slice(2);
const suites: Array<[string, () => Promise<Record<string, number | string>> | Record<string, number | string>]> = [
  ['dag', benchDag],
  ['config', benchConfig],
  ['includes', benchConfigIncludes],
  ['dispatch', benchDispatch],
  ['engines', benchDispatchEngines],
  ['classify', benchClassify],
  ['masking', benchMasking],
  ['handout', benchHandout],
  ['corpus', benchCorpus],
  ['scale', benchPipelineScale],
  ['artifacts', benchArtifacts],
  ['cli', benchCliStartup],
];
for (const [name, fn] of suites) {
  if (only.length && !only.includes(name)) continue;
  Object.assign(results, await fn());
}
const rows = Object.entries(results).map(([k, v]) => {
  const target = TARGETS[k] as ((v: number) => boolean) | undefined;
  const verdict = target && typeof v === 'number' ? (target(v) ? 'meets target' : 'MISSES target') : '';
  return `${k.padEnd(40)} ${String(v).padStart(14)}  ${verdict}${GOALS[k] ? ` (${GOALS[k]})` : ''}`;
});
console.log(['metric'.padEnd(40) + ' ' + 'value'.padStart(14), ...rows].join('\n'));
console.log(JSON.stringify(results));
