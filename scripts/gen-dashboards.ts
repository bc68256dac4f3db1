#!/usr/bin/env -S node --import tsx
/**
 * Generates the Grafana dashboards in dashboards/*.json (committed; Grafana provisions
 * them from deploy/grafana/provisioning/dashboards/faultline.yml).
 *
 *   node --import tsx scripts/gen-dashboards.ts          # write dashboards/*.json
 *   node --import tsx scripts/gen-dashboards.ts --check  # exit 1 if the files are stale
 *
 * Every panel and target uses the `datasource` template variable, so the dashboards work
 * with whatever Prometheus data source a Grafana has. Queries use only metrics from
 * src/telemetry/metrics.ts and the recording rules in rules/alerts/.
 *
 * Conventions the tests hold the dashboards to (test/observability/):
 *  - every query follows every query variable of its dashboard, or its panel says why not
 *    (`ignores`, rendered as "Not filtered by $x: why" in the description);
 *  - rates read per hour (`* 3600`): a few failures an hour are 0.003/s;
 *  - data links (`failures`) open the UI's failures list filtered like the panel, at the
 *    dashboard variable `faultline_url` (the coordinator's address, as Prometheus' external label).
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const DASHBOARD_DIR = fileURLToPath(new URL('../dashboards/', import.meta.url));
const SCHEMA_VERSION = 39;
const FAULTLINE_URL = 'http://localhost:8080';
const DS = { type: 'prometheus', uid: '${datasource}' } as const;

type Json = Record<string, unknown>;

interface Target {
  expr: string;
  legend?: string;
  /** Instant query shown as a table / single value. */
  instant?: boolean;
}

interface PanelSpec {
  type: 'timeseries' | 'stat' | 'table' | 'bargauge';
  title: string;
  description: string;
  unit: string;
  targets: Target[];
  w?: number;
  h?: number;
  /** Thresholds as [value, color] pairs above the base (green). */
  thresholds?: Array<[number, string]>;
  min?: number;
  max?: number;
  /** timeseries: stack series (e.g. counts by state). */
  stack?: boolean;
  /** stat: show series names (e.g. which registries) instead of values. */
  textMode?: 'name';
  /** Shown when the query returns nothing. */
  noValue?: string;
  /** Dashboard variables this panel's queries do not follow, and why (e.g. the metric lacks the label). */
  ignores?: { vars: string[]; why: string };
  /**
   * A data link to the UI's failures list (#/failures), with these filters (Grafana templates
   * allowed: `${__field.labels.x}`, `${var:csv}`). Without `since`, the dashboard's time range.
   */
  failures?: Record<string, string>;
}

interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  /** Query variables (multi-select, "All" = .*), by label of a metric. */
  vars?: Array<{ name: string; label: string; metric: string }>;
  /** ALERTS-based annotations to overlay, by alert name. */
  alertAnnotations?: Array<{ alert: string; color: string; text: string }>;
  panels: PanelSpec[];
}

/** The UI's failures list filtered like a panel: `${faultline_url}/#/failures?…` (see PanelSpec.failures). */
export function failuresLink(params: Record<string, string>): { title: string; url: string; targetBlank: boolean } {
  const time = 'since' in params ? {} : { since: '${__from:date:iso}', until: '${__to:date:iso}' };
  const q = Object.entries({ ...params, ...time })
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return { title: 'Failures in faultline', url: `\${faultline_url}/#/failures?${q}`, targetBlank: true };
}

function panel(p: PanelSpec, id: number, gridPos: { x: number; y: number; w: number; h: number }): Json {
  const steps = [{ color: 'green', value: null }, ...(p.thresholds ?? []).map(([value, color]) => ({ color, value }))];
  const defaults: Json = {
    unit: p.unit,
    thresholds: { mode: 'absolute', steps },
    ...(p.noValue ? { noValue: p.noValue } : {}),
    ...(p.failures ? { links: [failuresLink(p.failures)] } : {}),
  };
  if (p.min !== undefined) defaults.min = p.min;
  if (p.max !== undefined) defaults.max = p.max;
  if (p.type === 'timeseries') {
    defaults.custom = {
      drawStyle: 'line',
      lineWidth: 1,
      fillOpacity: p.stack ? 30 : 10,
      showPoints: 'never',
      spanNulls: false,
      stacking: { mode: p.stack ? 'normal' : 'none', group: 'A' },
      thresholdsStyle: { mode: p.thresholds ? 'line' : 'off' },
    };
  }
  const options: Json =
    p.type === 'timeseries'
      ? {
          legend: { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['lastNotNull', 'max'] },
          tooltip: { mode: 'multi', sort: 'desc' },
        }
      : p.type === 'stat'
        ? {
            reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
            colorMode: 'value',
            graphMode: 'area',
            textMode: p.textMode ?? 'auto',
          }
        : p.type === 'bargauge'
          ? {
              reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
              displayMode: 'gradient',
              orientation: 'horizontal',
              showUnfilled: true,
            }
          : { showHeader: true, footer: { show: false } };
  return {
    id,
    type: p.type,
    title: p.title,
    description: p.ignores
      ? `${p.description} Not filtered by ${p.ignores.vars.map((v) => `$${v}`).join(', ')}: ${p.ignores.why}`
      : p.description,
    datasource: DS,
    gridPos,
    fieldConfig: { defaults, overrides: [] },
    options,
    targets: p.targets.map((t, i) => ({
      datasource: DS,
      refId: String.fromCharCode(65 + i),
      expr: t.expr,
      legendFormat: t.legend ?? '__auto',
      range: !t.instant,
      instant: !!t.instant,
      ...(p.type === 'table' ? { format: 'table' } : {}),
    })),
  };
}

/** Lays panels out left to right on Grafana's 24-column grid. */
function layout(specs: PanelSpec[]): Json[] {
  let x = 0;
  let y = 0;
  let rowH = 0;
  return specs.map((p, i) => {
    const w = p.w ?? 12;
    const h = p.h ?? (p.type === 'stat' ? 4 : 8);
    if (x + w > 24) {
      x = 0;
      y += rowH;
      rowH = 0;
    }
    const out = panel(p, i + 1, { x, y, w, h });
    x += w;
    rowH = Math.max(rowH, h);
    return out;
  });
}

function dashboard(d: DashboardSpec): Json {
  const datasourceVar = {
    name: 'datasource',
    label: 'Data source',
    type: 'datasource',
    query: 'prometheus',
    current: {},
    hide: 0,
    refresh: 1,
    regex: '',
    options: [],
  };
  const queryVars = (d.vars ?? []).map((v) => ({
    name: v.name,
    label: v.label,
    type: 'query',
    datasource: DS,
    definition: `label_values(${v.metric}, ${v.name})`,
    query: { query: `label_values(${v.metric}, ${v.name})`, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    refresh: 2,
    multi: true,
    includeAll: true,
    allValue: '.*',
    current: { selected: true, text: ['All'], value: ['$__all'] },
    sort: 1,
    hide: 0,
    options: [],
  }));
  const annotations = (d.alertAnnotations ?? []).map((a) => ({
    name: a.alert,
    datasource: DS,
    enable: true,
    hide: false,
    iconColor: a.color,
    expr: `ALERTS{alertname="${a.alert}",alertstate="firing"}`,
    step: '60s',
    titleFormat: a.alert,
    textFormat: a.text,
    useValueForTime: false,
  }));
  // Where the data links go: the coordinator's address as operators open it (the same value as
  // Prometheus' external label faultline_url in deploy/prometheus.yml).
  const uiVar = {
    name: 'faultline_url',
    label: 'faultline URL',
    type: 'textbox',
    query: FAULTLINE_URL,
    current: { selected: false, text: FAULTLINE_URL, value: FAULTLINE_URL },
    options: [{ selected: true, text: FAULTLINE_URL, value: FAULTLINE_URL }],
    hide: 0,
  };
  return {
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: ['faultline', ...d.tags],
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    editable: true,
    graphTooltip: 1,
    timezone: 'browser',
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    timepicker: {},
    fiscalYearStartMonth: 0,
    liveNow: false,
    weekStart: '',
    links: [
      { title: 'faultline dashboards', type: 'dashboards', tags: ['faultline'], asDropdown: true, includeVars: true, keepTime: true },
    ],
    annotations: { list: annotations },
    templating: { list: [datasourceVar, ...queryVars, uiVar] },
    panels: layout(d.panels),
  };
}

// -------------------------------------------------------------------------- the dashboards

const JOB_SEL = 'executor=~"$executor",runner=~"$runner"';
/** Jobs that finished (success or failed) and the failed ones of a class, following $executor and $runner. */
const finishedRate = (w: string, by = '') => `sum${by} (rate(faultline_jobs_finished_total{status=~"success|failed",${JOB_SEL}}[${w}]))`;
const classRate = (cls: string, w: string, by = '') =>
  `sum${by} (rate(faultline_jobs_finished_total{status="failed",failure_class="${cls}",${JOB_SEL}}[${w}]))`;
/** Ratio of a class among finished jobs; 0 (not a gap) while that class has no failure. */
const classRatio = (cls: string, w: string, by = '') => `(${classRate(cls, w, by)} or ${finishedRate(w, by)} * 0) / ${finishedRate(w, by)}`;
/** Failures links carry the dashboard's executor and runner (csv; "All" is `.*`, which the UI reads as no filter). */
const JOB_LINK = { executor: '${executor:csv}', runner_name: '${runner:csv}' };
const NO_JOB_LABELS = (metric: string) => ({
  vars: ['executor', 'runner'],
  why: `${metric} has no executor or runner label.`,
});

const failures: DashboardSpec = {
  uid: 'faultline-failures',
  title: 'faultline / Failures: infra vs build',
  description: "Job failures split into infrastructure (operators' fault) and build (developers' fault), with the infra SLO burn.",
  tags: ['failures', 'slo'],
  vars: [
    { name: 'executor', label: 'Executor', metric: 'faultline_jobs_finished_total' },
    { name: 'runner', label: 'Runner', metric: 'faultline_jobs_finished_total' },
  ],
  alertAnnotations: [{ alert: 'InfraFailureRatioHigh', color: 'red', text: '{{severity}} burn over {{window}}' }],
  panels: [
    {
      type: 'stat',
      w: 6,
      title: 'Infra failure ratio (1h)',
      unit: 'percentunit',
      description: 'Infra-class failures / jobs that finished success or failed, last hour. SLO: at most 1%.',
      targets: [{ expr: classRatio('infra', '1h') }],
      failures: { class: 'infra', ...JOB_LINK, since: '1h' },
      thresholds: [
        [0.01, 'orange'],
        [0.06, 'red'],
      ],
    },
    {
      type: 'stat',
      w: 6,
      title: 'Build failure ratio (1h)',
      unit: 'percentunit',
      description: "Build-class failures / finished jobs, last hour. The developers' share: no operator action.",
      targets: [{ expr: classRatio('build', '1h') }],
      failures: { class: 'build', ...JOB_LINK, since: '1h' },
    },
    {
      type: 'stat',
      w: 6,
      title: 'Infra SLO burn rate (1h)',
      unit: 'none',
      description:
        'How many times faster than sustainable the 1% infra error budget burns (1h window). Pages at 14.4 with the 5m window confirming.',
      targets: [{ expr: `${classRatio('infra', '1h')} / 0.01` }],
      thresholds: [
        [6, 'orange'],
        [14.4, 'red'],
      ],
    },
    {
      type: 'stat',
      w: 6,
      title: 'Decided by the fallback: share of failures (1h)',
      unit: 'percentunit',
      description:
        'Failures no rule matched, so the fallback by reason decided (faultline_classifications_total{fallback="true"}). High = rules need work.',
      targets: [
        { expr: 'sum(rate(faultline_classifications_total{fallback="true"}[1h])) / sum(rate(faultline_classifications_total[1h]))' },
      ],
      ignores: NO_JOB_LABELS('faultline_classifications_total'),
      thresholds: [
        [0.2, 'orange'],
        [0.5, 'red'],
      ],
    },
    {
      type: 'timeseries',
      title: 'Failed jobs per hour by class',
      unit: 'short',
      stack: true,
      description: 'Rate of failed jobs by failure class (infra, build, unknown), filtered by executor and runner.',
      failures: { class: '${__field.labels.failure_class}', ...JOB_LINK },
      targets: [
        {
          expr: `sum by (failure_class) (rate(faultline_jobs_finished_total{status="failed",${JOB_SEL}}[$__rate_interval])) * 3600`,
          legend: '{{failure_class}}',
        },
      ],
    },
    {
      type: 'timeseries',
      title: 'Infra failure ratio: SLO windows',
      unit: 'percentunit',
      min: 0,
      description:
        'The infra failure ratio over the four windows of the multi-window multi-burn-rate alert, with the page (14.4%) and ticket (6%) thresholds.',
      targets: [
        { expr: 'faultline:job_infra_failure_ratio:rate5m', legend: '5m' },
        { expr: 'faultline:job_infra_failure_ratio:rate30m', legend: '30m' },
        { expr: 'faultline:job_infra_failure_ratio:rate1h', legend: '1h' },
        { expr: 'faultline:job_infra_failure_ratio:rate6h', legend: '6h' },
        { expr: 'vector(14.4 * 0.01)', legend: 'page threshold' },
        { expr: 'vector(6 * 0.01)', legend: 'ticket threshold' },
      ],
      ignores: {
        vars: ['executor', 'runner'],
        why: "the SLO and its alert are the whole fleet's (the recording rules the alert evaluates).",
      },
    },
    {
      type: 'bargauge',
      title: 'Top failure causes (1h)',
      unit: 'short',
      description: 'The ten causes with the most failed jobs in the last hour, with their class.',
      failures: { class: '${__field.labels.failure_class}', cause: '${__field.labels.failure_cause}', ...JOB_LINK, since: '1h' },
      targets: [
        {
          expr: `topk(10, sum by (failure_class, failure_cause) (increase(faultline_jobs_finished_total{status="failed",${JOB_SEL}}[1h])))`,
          legend: '{{failure_class}}: {{failure_cause}}',
          instant: true,
        },
      ],
    },
    {
      type: 'timeseries',
      title: 'Failures per hour by reason',
      unit: 'short',
      description: 'Failed jobs per hour by failure reason (runner/coordinator reported, before classification).',
      failures: { reason: '${__field.labels.failure_reason}', ...JOB_LINK },
      targets: [
        {
          expr: `sum by (failure_reason) (rate(faultline_jobs_finished_total{status="failed",${JOB_SEL}}[$__rate_interval])) * 3600`,
          legend: '{{failure_reason}}',
        },
      ],
    },
    {
      type: 'timeseries',
      title: 'Infra failure ratio by runner (1h)',
      unit: 'percentunit',
      min: 0,
      description: 'Infra failures / finished jobs per runner over 1h: one bad host stands out here.',
      targets: [{ expr: classRatio('infra', '1h', ' by (runner)'), legend: '{{runner}}' }],
      failures: { class: 'infra', runner_name: '${__field.labels.runner}', executor: '${executor:csv}' },
    },
    {
      type: 'timeseries',
      title: 'Infra failure ratio by executor (1h)',
      unit: 'percentunit',
      min: 0,
      description: 'Infra failures / finished jobs per executor over 1h.',
      targets: [{ expr: classRatio('infra', '1h', ' by (executor)'), legend: '{{executor}}' }],
      failures: { class: 'infra', executor: '${__field.labels.executor}', runner_name: '${runner:csv}' },
    },
    {
      type: 'table',
      w: 24,
      title: 'Failures by class, cause, runner and executor (1h)',
      unit: 'short',
      description: 'Failed jobs in the last hour for every bounded dimension of the classification.',
      failures: {
        class: '${__data.fields.failure_class}',
        reason: '${__data.fields.failure_reason}',
        cause: '${__data.fields.failure_cause}',
        executor: '${__data.fields.executor}',
        runner_name: '${__data.fields.runner}',
        since: '1h',
      },
      targets: [
        {
          expr: `sum by (failure_class, failure_reason, failure_cause, executor, runner) (increase(faultline_jobs_finished_total{status="failed",${JOB_SEL}}[1h])) > 0`,
          instant: true,
        },
      ],
    },
    {
      type: 'timeseries',
      title: 'CI/CD system errors per hour (OTel cicd.system.errors)',
      unit: 'short',
      description:
        'The OpenTelemetry CI/CD convention view: errors of the CI system itself (infra failures only) per hour by error.type (the classified cause) and component.',
      targets: [
        {
          expr: 'sum by (error_type, cicd_system_component) (rate(cicd_system_errors_total[$__rate_interval])) * 3600',
          legend: '{{cicd_system_component}}: {{error_type}}',
        },
      ],
      ignores: NO_JOB_LABELS("cicd_system_errors_total (the OTel convention's attributes only)"),
      failures: { class: 'infra', cause: '${__field.labels.error_type}' },
    },
    {
      type: 'timeseries',
      title: 'Job duration p95 by status and class',
      unit: 's',
      description: '95th percentile run time of finished jobs by status and failure class.',
      targets: [
        {
          expr: 'histogram_quantile(0.95, sum by (le, status, failure_class) (rate(faultline_job_duration_seconds_bucket{executor=~"$executor"}[$__rate_interval])))',
          legend: '{{status}} {{failure_class}}',
        },
      ],
      ignores: { vars: ['runner'], why: 'the duration histogram has no runner label (its buckets would multiply by runners).' },
    },
    {
      type: 'bargauge',
      title: 'Decided by the fallback, by class and cause (24h)',
      unit: 'short',
      description:
        'Failures no rule matched in the last 24h, by the class and cause the fallback gave them: where rules are missing. `faultline why <job>` shows the lines new since the last green run.',
      targets: [
        {
          expr: 'topk(10, sum by (class, cause) (increase(faultline_classifications_total{fallback="true"}[24h])))',
          legend: '{{class}}: {{cause}}',
          instant: true,
        },
      ],
      ignores: NO_JOB_LABELS('faultline_classifications_total'),
    },
  ],
};

const registry: DashboardSpec = {
  uid: 'faultline-registry',
  title: 'faultline / Registry & image pulls',
  description: 'Image pull outcomes per registry and pull policy, fallback to cached images, and registry outages.',
  tags: ['registry', 'images'],
  vars: [{ name: 'registry', label: 'Registry', metric: 'faultline_image_pulls_total' }],
  alertAnnotations: [{ alert: 'RegistryOutage', color: 'red', text: 'outage: {{registry}}' }],
  panels: [
    {
      type: 'stat',
      w: 8,
      title: 'Registries in outage now',
      unit: 'short',
      description: 'The registries with a firing RegistryOutage alert, by name ("none" while all are fine).',
      targets: [
        {
          expr: 'sum by (registry) (ALERTS{alertname="RegistryOutage",alertstate="firing",registry=~"$registry"})',
          legend: '{{registry}}',
        },
      ],
      failures: { class: 'infra', registry: '${__field.labels.registry}', since: '1h' },
      thresholds: [[1, 'red']],
      textMode: 'name',
      noValue: 'none',
    },
    {
      type: 'stat',
      w: 8,
      title: 'Pull failure ratio (5m, all registries)',
      unit: 'percentunit',
      description: 'Failed pulls / pull attempts against registries (cached images excluded), all failure kinds.',
      failures: { registry: '${registry:csv}', since: '5m' },
      targets: [
        {
          expr: 'sum(faultline:image_pulls:rate5m{outcome="failure",registry=~"$registry"}) / sum(faultline:image_pull_attempts:rate5m{registry=~"$registry"})',
        },
      ],
      thresholds: [
        [0.1, 'orange'],
        [0.5, 'red'],
      ],
    },
    {
      type: 'stat',
      w: 8,
      title: 'Cached-image share (5m)',
      unit: 'percentunit',
      description:
        'Share of image uses served from the local cache (outcome=local): if-not-present hits and fallbacks after a failed pull.',
      targets: [
        {
          expr: 'sum(faultline:image_pulls:rate5m{outcome="local",registry=~"$registry"}) / sum(faultline:image_pulls:rate5m{registry=~"$registry"})',
        },
      ],
    },
    {
      type: 'timeseries',
      title: 'Pulls per hour by registry and outcome',
      unit: 'short',
      stack: true,
      description: 'Image uses per hour by registry and outcome (success, failure, local). Deduplicated across coordinator and runners.',
      targets: [
        {
          expr: 'sum by (registry, outcome) (faultline:image_pulls:rate5m{registry=~"$registry"}) * 3600',
          legend: '{{registry}} {{outcome}}',
        },
      ],
    },
    {
      type: 'timeseries',
      title: 'Registry outage ratio (infra failures / attempts)',
      unit: 'percentunit',
      min: 0,
      max: 1,
      description:
        'Failures pointing at the registry (registry_unreachable, other) / attempts. RegistryOutage fires above 50% with at least 3 attempts in 5m, for 3m.',
      targets: [
        { expr: 'faultline:image_pull_infra_failure_ratio:rate5m{registry=~"$registry"}', legend: '{{registry}}' },
        { expr: 'vector(0.5)', legend: 'alert threshold' },
      ],
      failures: { class: 'infra', registry: '${__field.labels.registry}' },
    },
    {
      type: 'timeseries',
      title: 'Pull failures per hour by kind',
      unit: 'short',
      description:
        'Failed pulls per hour by ImagePullError kind: registry_unreachable/other are the registry, not_found/auth_failed usually the job author.',
      targets: [
        {
          expr: 'sum by (registry, kind) (faultline:image_pulls:rate5m{outcome="failure",registry=~"$registry"}) * 3600',
          legend: '{{registry}} {{kind}}',
        },
      ],
      failures: { registry: '${__field.labels.registry}' },
    },
    {
      type: 'timeseries',
      title: 'Cached image used, per hour',
      unit: 'short',
      description:
        'Jobs per hour that ran on a locally cached image (outcome=local), by registry and pull policy. A rise during an outage means the fallback is absorbing it.',
      targets: [{ expr: 'faultline:image_pull_local:rate5m{registry=~"$registry"} * 3600', legend: '{{registry}} {{policy}}' }],
    },
    {
      type: 'timeseries',
      title: 'Pulls per hour by policy and outcome',
      unit: 'short',
      description: 'Image uses per hour by pull policy (always, if-not-present, never) and outcome.',
      targets: [
        {
          expr: 'sum by (policy, outcome) (faultline:image_pulls:rate5m{registry=~"$registry"}) * 3600',
          legend: '{{policy}} {{outcome}}',
        },
      ],
    },
    {
      type: 'timeseries',
      title: 'Pull duration p50 / p95',
      unit: 's',
      description: 'Image pull duration quantiles per registry (cached images excluded).',
      targets: [
        {
          expr: 'histogram_quantile(0.5, sum by (le, registry) (rate(faultline_image_pull_duration_seconds_bucket{registry=~"$registry"}[$__rate_interval])))',
          legend: 'p50 {{registry}}',
        },
        {
          expr: 'histogram_quantile(0.95, sum by (le, registry) (rate(faultline_image_pull_duration_seconds_bucket{registry=~"$registry"}[$__rate_interval])))',
          legend: 'p95 {{registry}}',
        },
      ],
    },
  ],
};

const mttr: DashboardSpec = {
  uid: 'faultline-mttr',
  title: 'faultline / MTTR & incidents',
  description: 'Mean time to recovery for operators (infra) and developers (build), and infra incidents.',
  tags: ['mttr', 'incidents'],
  alertAnnotations: [
    { alert: 'IncidentOpenTooLong', color: 'orange', text: '{{cause}} on {{dependency}} {{target}}' },
    { alert: 'MTTRTooHigh', color: 'yellow', text: 'MTTR {{kind}}' },
  ],
  panels: [
    {
      type: 'stat',
      w: 6,
      title: 'MTTR: infra-failed pipelines',
      unit: 's',
      description:
        'Mean time from a pipeline failing for infra reasons to the next green pipeline on the same ref (operators), over the time range (recovery histogram: sum / count).',
      targets: [
        {
          expr: 'sum (increase(faultline_recovery_seconds_sum{kind="pipeline",class="infra"}[$__range])) / sum (increase(faultline_recovery_seconds_count{kind="pipeline",class="infra"}[$__range]))',
        },
      ],
      thresholds: [[3600, 'red']],
    },
    {
      type: 'stat',
      w: 6,
      title: 'MTTR: build-failed pipelines',
      unit: 's',
      description:
        'Mean time from a pipeline failing for build reasons to the next green one (developers), over the time range. Never alerted.',
      targets: [
        {
          expr: 'sum (increase(faultline_recovery_seconds_sum{kind="pipeline",class="build"}[$__range])) / sum (increase(faultline_recovery_seconds_count{kind="pipeline",class="build"}[$__range]))',
        },
      ],
    },
    {
      type: 'stat',
      w: 6,
      title: 'MTTR: incidents',
      unit: 's',
      description: 'Mean time from an infra incident opening to its resolution, over the time range.',
      targets: [
        {
          expr: 'sum (increase(faultline_recovery_seconds_sum{kind="incident"}[$__range])) / sum (increase(faultline_recovery_seconds_count{kind="incident"}[$__range]))',
        },
      ],
      thresholds: [[3600, 'red']],
    },
    {
      type: 'stat',
      w: 6,
      title: 'Open incidents',
      unit: 'short',
      description: 'Infra incidents open now.',
      targets: [{ expr: 'sum(faultline_incident_open) or vector(0)' }],
      thresholds: [[1, 'red']],
    },
    {
      type: 'timeseries',
      title: 'MTTR by kind and class (6h)',
      unit: 's',
      description:
        'Mean recovery time of the trailing 6 h by kind (pipeline, incident) and class; MTTRTooHigh fires when the infra mean of the last day stays above 1h for 30m.',
      targets: [
        {
          expr: 'sum by (kind, class) (increase(faultline_recovery_seconds_sum{}[6h])) / sum by (kind, class) (increase(faultline_recovery_seconds_count{}[6h]))',
          legend: '{{kind}} {{class}}',
        },
      ],
    },
    {
      type: 'table',
      title: 'Open incidents',
      unit: 'short',
      description: 'Each open or acknowledged incident with its cause, dependency kind and target (registry host, git host, runner, ...).',
      targets: [{ expr: 'max by (cause, dependency, target, state) (faultline_incident_open) == 1', instant: true }],
    },
    {
      type: 'timeseries',
      title: 'Incidents opened per hour by cause',
      unit: 'short',
      description: 'Incidents opened in the trailing hour, by cause.',
      targets: [{ expr: 'sum by (cause) (increase(faultline_incidents_total[1h]))', legend: '{{cause}}' }],
    },
    {
      type: 'timeseries',
      title: 'Incident duration p50 / p95 (6h)',
      unit: 's',
      description: 'Duration quantiles of incidents closed in the trailing 6 hours.',
      targets: [
        { expr: 'histogram_quantile(0.5, sum by (le) (rate(faultline_incident_duration_seconds_bucket[6h])))', legend: 'p50' },
        { expr: 'histogram_quantile(0.95, sum by (le) (rate(faultline_incident_duration_seconds_bucket[6h])))', legend: 'p95' },
      ],
    },
    {
      type: 'timeseries',
      w: 24,
      title: 'Open incidents by cause',
      unit: 'short',
      stack: true,
      description: 'Number of open incidents over time, by cause.',
      targets: [{ expr: 'sum by (cause) (faultline_incident_open)', legend: '{{cause}}' }],
    },
  ],
};

const NO_EXECUTOR = (metric: string) => ({ vars: ['executor'], why: `${metric} has no executor label.` });

const runners: DashboardSpec = {
  uid: 'faultline-runners',
  title: 'faultline / Runners fleet',
  description: 'Runner states, heartbeats, queue and per-stage job timings.',
  tags: ['runners'],
  vars: [{ name: 'executor', label: 'Executor', metric: 'faultline_runner_job_stage_duration_seconds_count' }],
  alertAnnotations: [
    { alert: 'RunnerFleetDown', color: 'red', text: 'no runner online' },
    { alert: 'JobsStuckPending', color: 'orange', text: 'jobs stuck pending' },
  ],
  panels: [
    {
      type: 'stat',
      w: 6,
      title: 'Available runners',
      unit: 'short',
      description: 'Runners online and idle.',
      targets: [{ expr: 'sum(faultline_runners{state="available"})' }],
      ignores: NO_EXECUTOR('faultline_runners'),
    },
    {
      type: 'stat',
      w: 6,
      title: 'Busy runners',
      unit: 'short',
      description: 'Runners online and running jobs.',
      targets: [{ expr: 'sum(faultline_runners{state="busy"})' }],
      ignores: NO_EXECUTOR('faultline_runners'),
    },
    {
      type: 'stat',
      w: 6,
      title: 'Offline runners',
      unit: 'short',
      description: 'Registered runners that stopped contacting the coordinator.',
      targets: [{ expr: 'sum(faultline_runners{state="offline"})' }],
      ignores: NO_EXECUTOR('faultline_runners'),
      thresholds: [[1, 'orange']],
    },
    {
      type: 'stat',
      w: 6,
      title: 'Jobs pending',
      unit: 'short',
      description: 'Jobs waiting for a runner.',
      targets: [{ expr: 'sum(faultline_jobs_pending)' }],
      ignores: NO_EXECUTOR('faultline_jobs_pending (a pending job has no runner, so no executor yet)'),
      thresholds: [[10, 'orange']],
    },
    {
      type: 'timeseries',
      title: 'Runners by state',
      unit: 'short',
      stack: true,
      description: 'Runner count by state (available, busy, offline).',
      targets: [{ expr: 'sum by (state) (faultline_runners)', legend: '{{state}}' }],
      ignores: NO_EXECUTOR('faultline_runners'),
    },
    {
      type: 'timeseries',
      title: 'Workers by state (OTel cicd.worker.count)',
      unit: 'short',
      stack: true,
      description: 'The same fleet in the OpenTelemetry CI/CD convention (cicd.worker.count by cicd.worker.state).',
      targets: [{ expr: 'sum by (cicd_worker_state) (cicd_worker_count)', legend: '{{cicd_worker_state}}' }],
      ignores: NO_EXECUTOR('cicd_worker_count'),
    },
    {
      type: 'timeseries',
      title: 'Heartbeat age by runner',
      unit: 's',
      description: 'Seconds since each runner last contacted the coordinator; a rising line is a runner going silent.',
      targets: [{ expr: 'max by (runner) (faultline_runner_heartbeat_age_seconds)', legend: '{{runner}}' }],
      ignores: NO_EXECUTOR('faultline_runner_heartbeat_age_seconds'),
    },
    {
      type: 'timeseries',
      title: 'Jobs running and pending',
      unit: 'short',
      description: "Coordinator's view of running and pending jobs, and each runner's own running count.",
      targets: [
        { expr: 'sum(faultline_jobs_running)', legend: 'running (coordinator)' },
        { expr: 'sum(faultline_jobs_pending)', legend: 'pending (coordinator)' },
        { expr: 'sum by (instance) (faultline_runner_jobs_running)', legend: 'running on {{instance}}' },
      ],
      ignores: NO_EXECUTOR('the job gauges'),
    },
    {
      type: 'timeseries',
      title: 'Queue time p50 / p95 by executor',
      unit: 's',
      description: 'Time jobs waited in pending before a runner took them.',
      targets: [
        {
          expr: 'histogram_quantile(0.5, sum by (le, executor) (rate(faultline_job_queued_seconds_bucket{executor=~"$executor"}[$__rate_interval])))',
          legend: 'p50 {{executor}}',
        },
        {
          expr: 'histogram_quantile(0.95, sum by (le, executor) (rate(faultline_job_queued_seconds_bucket{executor=~"$executor"}[$__rate_interval])))',
          legend: 'p95 {{executor}}',
        },
      ],
    },
    {
      type: 'timeseries',
      title: 'Job stage duration p95 by stage',
      unit: 's',
      description: 'Runner-side duration of job stages (prepare_executor, pull_image, get_sources, step_script, ...).',
      targets: [
        {
          expr: 'histogram_quantile(0.95, sum by (le, stage) (rate(faultline_runner_job_stage_duration_seconds_bucket{executor=~"$executor"}[$__rate_interval])))',
          legend: '{{stage}}',
        },
      ],
    },
  ],
};

const pipelines: DashboardSpec = {
  uid: 'faultline-pipelines',
  title: 'faultline / Pipelines',
  description: 'Pipeline outcomes, failure classes and durations.',
  tags: ['pipelines'],
  panels: [
    {
      type: 'stat',
      w: 8,
      title: 'Pipeline success ratio (1h)',
      unit: 'percentunit',
      description: 'Successful pipelines / pipelines that finished success or failed, last hour.',
      targets: [
        {
          expr: 'sum(rate(faultline_pipelines_finished_total{status="success"}[1h])) / sum(rate(faultline_pipelines_finished_total{status=~"success|failed"}[1h]))',
        },
      ],
    },
    {
      type: 'stat',
      w: 8,
      title: 'Pipelines failed for infra reasons (1h)',
      unit: 'short',
      description: "Pipelines whose failure was classified infra in the last hour (operators' fault).",
      targets: [{ expr: 'sum(increase(faultline_pipelines_finished_total{status="failed",failure_class="infra"}[1h])) or vector(0)' }],
      failures: { class: 'infra', since: '1h' },
      thresholds: [[1, 'orange']],
    },
    {
      type: 'stat',
      w: 8,
      title: 'Pipeline duration p95 (1h)',
      unit: 's',
      description: '95th percentile duration of pipelines finished in the last hour.',
      targets: [{ expr: 'histogram_quantile(0.95, sum by (le) (rate(faultline_pipeline_duration_seconds_bucket[1h])))' }],
    },
    {
      type: 'timeseries',
      title: 'Pipelines finished per hour by status',
      unit: 'short',
      stack: true,
      description: 'Finished pipelines per hour by status.',
      targets: [{ expr: 'sum by (status) (rate(faultline_pipelines_finished_total[$__rate_interval])) * 3600', legend: '{{status}}' }],
    },
    {
      type: 'timeseries',
      title: 'Failed pipelines per hour by failure class',
      unit: 'short',
      stack: true,
      description: 'Failed pipelines per hour by the class of the failure that failed them.',
      targets: [
        {
          expr: 'sum by (failure_class) (rate(faultline_pipelines_finished_total{status="failed"}[$__rate_interval])) * 3600',
          legend: '{{failure_class}}',
        },
      ],
      failures: { class: '${__field.labels.failure_class}' },
    },
    {
      type: 'timeseries',
      title: 'Pipeline duration p50 / p95 by status',
      unit: 's',
      description: 'Pipeline duration quantiles by status.',
      targets: [
        {
          expr: 'histogram_quantile(0.5, sum by (le, status) (rate(faultline_pipeline_duration_seconds_bucket[$__rate_interval])))',
          legend: 'p50 {{status}}',
        },
        {
          expr: 'histogram_quantile(0.95, sum by (le, status) (rate(faultline_pipeline_duration_seconds_bucket[$__rate_interval])))',
          legend: 'p95 {{status}}',
        },
      ],
    },
    {
      type: 'timeseries',
      title: 'Pipeline runs per hour by result (OTel cicd.pipeline.run.duration)',
      unit: 'short',
      description:
        'The OpenTelemetry CI/CD convention view: runs per hour by cicd.pipeline.result (error = failed for infra reasons, failure = build).',
      targets: [
        {
          expr: 'sum by (cicd_pipeline_result) (rate(cicd_pipeline_run_duration_seconds_count[$__rate_interval])) * 3600',
          legend: '{{cicd_pipeline_result}}',
        },
      ],
    },
  ],
};

export const DASHBOARD_SPECS: readonly DashboardSpec[] = [failures, registry, mttr, runners, pipelines];

/** File name → dashboard JSON. */
export function buildDashboards(): Map<string, Json> {
  return new Map(DASHBOARD_SPECS.map((d) => [`${d.uid.replace(/^faultline-/, '')}.json`, dashboard(d)]));
}

export const serialize = (d: Json): string => JSON.stringify(d, null, 2) + '\n';

function main(): void {
  const check = process.argv.includes('--check');
  mkdirSync(DASHBOARD_DIR, { recursive: true });
  let stale = 0;
  for (const [file, d] of buildDashboards()) {
    const path = join(DASHBOARD_DIR, file);
    const text = serialize(d);
    if (check) {
      let current = '';
      try {
        current = readFileSync(path, 'utf8');
      } catch {
        /* missing counts as stale */
      }
      if (current !== text) {
        console.error(`stale: dashboards/${file} (run: node --import tsx scripts/gen-dashboards.ts)`);
        stale++;
      }
    } else {
      writeFileSync(path, text);
      console.log(`wrote dashboards/${file}`);
    }
  }
  if (stale) process.exit(1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
