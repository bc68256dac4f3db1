/**
 * The dashboard-query proof: a REAL Prometheus scrapes a real coordinator and a real
 * runner (docker executor on podman, real docker-registry) every second and evaluates
 * rules/alerts/*.rules.yml every second; after a scenario with build failures, infra
 * failures (a registry outage, a full disk), fallback classifications, cached-image
 * pulls and a runner partitioned from the coordinator, EVERY query of every dashboard
 * (test/observability/dashboard-queries.ts) must return at least one series.
 *
 * Test-only adjustments, each needed to fit hours of alerting into seconds:
 *  - the rules are loaded from a temp copy whose `for:` durations are 0s (expressions
 *    unchanged), so alerts fire within the test;
 *  - MTTRTooHigh needs a recovery slower than one hour: the data dir is seeded with one
 *    incident opened 5 h ago (executor host docker) through IncidentStore before the
 *    coordinator starts, as if it had been running for a day; the scenario resolves it.
 * Exclusion (listed in EXCLUDED): JobsStuckPending's annotation — the alert requires that
 * no job started for 15 minutes, which contradicts this scenario (jobs start in the last
 * minute, which the queue-time panels need). Its query must still run without error and
 * its rule must be loaded and healthy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createCoordinator, type Coordinator } from '../../src/coordinator/index.js';
import { Store } from '../../src/coordinator/store/index.js';
import { IncidentStore } from '../../src/coordinator/store/incidents.js';
import { silentLogger } from '../../src/runner/logger.js';
import { startRunner, type RunnerHandle } from '../../src/runner/index.js';
import { startContainerInfra, type ContainerInfra } from '../helpers/container-infra.js';
import { freePort, userApi } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { dashboardQueries, REPO_ROOT } from '../observability/dashboard-queries.js';
import { scrape, sum } from '../telemetry/prom-text.js';
import { dockerRunnerConfig, runRegistryScenario } from '../telemetry/registry-scenario.js';

const EXCLUDED: Record<string, string> = {
  'ALERTS{alertname="JobsStuckPending",alertstate="firing"}':
    'fires only when no job started for 15 minutes; the scenario starts jobs in the last minute (queue-time panels need them)',
};
const MUST_FIRE = ['InfraFailureRatioHigh', 'IncidentOpenTooLong', 'MTTRTooHigh', 'RegistryOutage', 'RunnerFleetDown'];
const PAUSE_MS = 1500; // > scrape interval, so Prometheus sees counters grow (rate() needs two samples)

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP proxy we can cut: the runner reaches the coordinator through it (a network partition). */
async function tcpProxy(targetPort: number): Promise<{ port: number; cut: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)));
  return {
    port,
    cut: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
      }),
  };
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(250);
  }
}

interface PromResult {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

describe('dashboard queries against a real Prometheus (coordinator + docker runner, registry outage)', () => {
  const tmp = tempDir('faultline-dash-');
  let infra: ContainerInfra | undefined;
  let c: Coordinator | undefined;
  let runner: RunnerHandle | undefined;
  let prom: ChildProcess | undefined;
  let promOut = '';
  let promUrl = '';

  const query = async (expr: string): Promise<PromResult> => {
    const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await r.json()) as PromResult;
  };

  before(async (t) => {
    if (!requireTools(t as never, 'prometheus', 'podman', 'docker-registry', 'runc', 'busybox')) return;
    infra = await startContainerInfra();

    // History: an executor-host incident open for 5 h (MTTRTooHigh needs a recovery > 1 h); the
    // scenario's first successful docker job resolves it, and the histogram observes 5 h.
    const dataDir = join(tmp.path, 'data');
    const seed = await Store.openSqlite(dataDir);
    const hist = new IncidentStore(seed.sql);
    const h = Date.now() - 5 * 3_600_000;
    const incident = await hist.recordFailure(
      { cause: 'runner_system_failure', target: 'docker', dependency_kind: 'executor_host', runner_id: null },
      0,
      h,
    );
    await hist.markOpen(incident.id, h);
    await seed.close();

    c = await createCoordinator({ dataDir, longPollMs: 500, heartbeatTimeoutMs: 2000, incidents: { failures: 1 } });
    const proxy = await tcpProxy(Number(new URL(c.url).port));
    runner = await startRunner({
      url: `http://127.0.0.1:${proxy.port}`,
      registrationToken: c.registrationToken,
      name: 'dash-runner',
      executor: 'docker',
      executorConfig: dockerRunnerConfig(infra),
      concurrency: 3,
      heartbeatMs: 300,
      buildsDir: join(tmp.path, 'builds'),
      logger: silentLogger,
      metricsPort: 0,
    });

    // Prometheus: 1 s scrapes of both, the repo's rules (for: → 0s) every second.
    const rulesDir = join(tmp.path, 'rules');
    mkdirSync(rulesDir);
    const ruleFiles = readdirSync(join(REPO_ROOT, 'rules/alerts')).filter((f) => f.endsWith('.rules.yml'));
    assert.ok(ruleFiles.length >= 4, 'rule files present');
    for (const f of ruleFiles)
      writeFileSync(join(rulesDir, f), readFileSync(join(REPO_ROOT, 'rules/alerts', f), 'utf8').replace(/^(\s+)for: \S+$/gm, '$1for: 0s'));
    const hostPort = (u: string) => new URL(u).host;
    writeFileSync(
      join(tmp.path, 'prometheus.yml'),
      [
        'global: {scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 900ms}',
        `rule_files: ['${rulesDir}/*.rules.yml']`,
        'scrape_configs:',
        `  - {job_name: faultline-coordinator, static_configs: [{targets: ['${hostPort(c.url)}']}]}`,
        `  - {job_name: faultline-runner, static_configs: [{targets: ['${hostPort(runner.metricsUrl!)}']}]}`,
        '',
      ].join('\n'),
    );
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    prom = spawn(
      'prometheus',
      [
        `--config.file=${join(tmp.path, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(tmp.path, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prom.stdout!.on('data', (d) => (promOut += d));
    prom.stderr!.on('data', (d) => (promOut += d));
    await until('both targets up', async () => {
      const r = await query('sum(up)');
      return r.data?.result[0]?.value[1] === '2';
    });

    // ── the scenario ──
    const api = userApi(c.url, c.apiToken);
    const run = async (yaml: string, ref = 'main', project = 'acme/app') => {
      const p = await api.createPipeline(yaml, { ref, project });
      const done = await api.waitPipeline(p.id, undefined, 120_000);
      await c!.idle();
      await sleep(PAUSE_MS);
      return done;
    };
    const img = (policy: string) => `  image:\n    name: ${infra!.image}\n    pull_policy: ${policy}\n`;
    // Successes (first pull, then the cached image: outcome local) and an unmatched failure (fallback classification).
    const mixed = `ok1:\n${img('if-not-present')}  script: [echo one]\nok2:\n${img('if-not-present')}  script: [echo two]\nplain:\n${img('if-not-present')}  script: [exit 3]\n`;
    for (let i = 0; i < 2; i++) assert.equal((await run(mixed, 'dev')).status, 'failed');
    // The dev ref recovers from its build failures (the build MTTR panel).
    const devGreen = `ok:\n${img('if-not-present')}  script: [echo ok]\n`;
    assert.equal((await run(devGreen, 'dev')).status, 'success');
    // Registry outage: 4 failing pipelines while down, then recovery with a build failure, then green.
    await runRegistryScenario(api, infra, () => c!.idle(), { outageRuns: 4, pauseMs: PAUSE_MS });
    // More green jobs on the cached image.
    const green = `a:\n${img('if-not-present')}  script: [echo a]\nb:\n${img('if-not-present')}  script: [echo b]\nc:\n${img('if-not-present')}  script: [echo c]\n`;
    for (let i = 0; i < 2; i++) assert.equal((await run(green)).status, 'success');
    // A full disk on the runner: a runner-scoped incident that stays open.
    const disk = `disk:\n${img('if-not-present')}  script:\n    - "echo 'tar: ./x: Cannot write: No space left on device'"\n    - exit 1\n`;
    for (let i = 0; i < 2; i++) assert.equal((await run(disk, 'release')).failure_class, 'infra');
    // Partition the runner: the coordinator marks it offline while a job waits.
    await proxy.cut();
    await until(
      'runner offline on the coordinator',
      async () => sum(await scrape(`${c!.url}/metrics`), 'faultline_runners', { state: 'offline' }) === 1,
      15_000,
    );
    await api.createPipeline(`waits:\n  script: [echo never]\n`, { ref: 'main', project: 'acme/stuck' });
    await until(
      'alerts firing',
      async () => {
        const r = await query('ALERTS{alertstate="firing"}');
        const firing = new Set(r.data?.result.map((x) => x.metric.alertname));
        return MUST_FIRE.every((a) => firing.has(a));
      },
      30_000,
    ).catch(async (e) => {
      const r = await query('ALERTS');
      throw new Error(`${(e as Error).message}; ALERTS now: ${JSON.stringify(r.data?.result.map((x) => x.metric))}`);
    });
  });

  after(async () => {
    prom?.kill('SIGTERM');
    await runner?.stop({ timeoutMs: 2000 });
    await c?.close();
    await infra?.dispose();
    tmp.dispose();
  });

  test('every dashboard query returns data (exclusions listed with a reason)', async (t) => {
    if (!prom) return t.skip('tools missing');
    const queries = dashboardQueries();
    assert.ok(queries.length >= 40, `dashboards have ${queries.length} queries`);
    const problems: string[] = [];
    for (const q of queries) {
      const r = await query(q.expr);
      const where = `${q.dashboard} / ${q.panel}: ${q.expr}`;
      if (r.status !== 'success') problems.push(`${where} → error ${r.error}`);
      else if (r.data!.result.length === 0 && !(q.expr in EXCLUDED)) problems.push(`${where} → no series`);
    }
    assert.deepEqual(problems, [], `queries without data:\n${problems.join('\n')}\n--- prometheus log tail:\n${promOut.slice(-2000)}`);
    for (const expr of Object.keys(EXCLUDED))
      assert.ok(
        queries.some((q) => q.expr === expr),
        `exclusion ${expr} is still a dashboard query`,
      );
  });

  test('the excluded alert is loaded and healthy', async (t) => {
    if (!prom) return t.skip('tools missing');
    const r = (await (await fetch(`${promUrl}/api/v1/rules?type=alert`)).json()) as {
      data: { groups: Array<{ rules: Array<{ name: string; health: string }> }> };
    };
    const rules = r.data.groups.flatMap((g) => g.rules);
    const stuck = rules.find((x) => x.name === 'JobsStuckPending');
    assert.equal(stuck?.health, 'ok');
    assert.ok(
      rules.every((x) => x.health === 'ok'),
      JSON.stringify(rules.filter((x) => x.health !== 'ok')),
    );
  });

  test('scenario facts as Prometheus sees them', async (t) => {
    if (!prom || !infra) return t.skip('tools missing');
    const v = async (e: string) => Number((await query(e)).data!.result[0]?.value[1]);
    assert.equal(await v(`max(faultline_incident_open{cause="disk_full",target="dash-runner"})`), 1);
    // A resolved incident leaves no series; its recovery time is in the histogram.
    assert.equal(await v(`count(faultline_incident_open{cause="registry_unreachable",target="${infra.registry}"}) or vector(0)`), 0);
    assert.ok((await v('sum(faultline_recovery_seconds_count{kind="incident"})')) >= 1);
    assert.ok((await v('faultline:job_infra_failure_ratio:rate5m')) > 0.144);
    assert.equal(await v('sum(faultline_jobs_pending)'), 1);
  });
});
