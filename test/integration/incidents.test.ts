/**
 * Incidents that track a dependency (issue 12), over real parts: an in-process coordinator
 * and an in-process shell runner talking real HTTP, a real SQLite file, and a real git host
 * (`git daemon` on loopback) that is down, then up, then down again.
 *  - 8 get_sources failures of one git host across pipelines of several projects, with an
 *    unrelated green job between them → ONE open incident on (git_host, 127.0.0.1:<port>);
 *  - a job that fetches from that host resolves it (evidence), nothing else does;
 *  - a person acknowledges and resolves (with a note) the next outage's incident;
 *  - a runner's incident resolves when the runner is removed (the `runner_removed` event,
 *    emitted here as DELETE /api/v1/runners/:id does — that route is h-metrics');
 *  - an error line no rule knows, failing 5 jobs of 2 projects, is flagged as widespread.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createCoordinator, type Coordinator } from '../../src/coordinator/index.js';
import type { IncidentDetailJson, IncidentJson } from '../../src/coordinator/services/incidents.js';
import type { WidespreadLineJson } from '../../src/coordinator/services/widespread.js';
import type { PipelineJson } from '../../src/protocol/user-api.js';
import { silentLogger } from '../../src/runner/logger.js';
import { startRunner, type RunnerHandle } from '../../src/runner/index.js';
import { parseRuleFile } from '../../src/classify/loader.js';
import { freePort, spawnFaultline, userApi } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';
import { scrape, sum } from '../telemetry/prom-text.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const git = (cwd: string, ...args: string[]) => {
  const r = spawnSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' },
  });
  assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};

describe('incidents keyed by dependency (real runner, real git host)', () => {
  const tmp = tempDir();
  let c: Coordinator;
  let runner: RunnerHandle;
  let api: ReturnType<typeof userApi>;
  let port: number;
  let repoUrl: string;
  let daemon: ChildProcess | null = null;
  const base = join(tmp.path, 'srv');

  const startDaemon = async () => {
    daemon = spawn('git', ['daemon', '--reuseaddr', '--export-all', `--base-path=${base}`, '--listen=127.0.0.1', `--port=${port}`, base], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // Ready when a real fetch of the advertised refs works.
    for (let i = 0; i < 100; i++) {
      if (spawnSync('git', ['ls-remote', repoUrl], { encoding: 'utf8' }).status === 0) return;
      await sleep(100);
    }
    throw new Error('git daemon did not come up');
  };
  const stopDaemon = async () => {
    if (!daemon) return;
    const d = daemon;
    daemon = null;
    const exited = new Promise((r) => d.once('exit', r));
    d.kill('SIGTERM');
    await exited;
  };

  const run = async (yaml: string, o: { project?: string; ref?: string; repo?: boolean } = {}): Promise<PipelineJson> => {
    const p = await api.createPipeline(yaml, {
      project: o.project ?? 'acme/app',
      ref: o.ref ?? 'main',
      ...(o.repo === false ? {} : { repository: { url: repoUrl } }),
    });
    const done = await api.waitPipeline(p.id, undefined, 60_000);
    await c.idle();
    return done;
  };
  const incidents = async (q = '') => (await api.call<{ incidents: IncidentJson[] }>('GET', `/api/v1/incidents${q}`)).body.incidents;
  const FETCHING = `build:\n  script: [echo built]\n`;

  before(async () => {
    port = await freePort();
    mkdirSync(base, { recursive: true });
    const work = join(tmp.path, 'work');
    mkdirSync(work);
    git(work, 'init', '-q', '-b', 'main');
    writeFileSync(join(work, 'README'), 'hello\n');
    git(work, 'add', 'README');
    git(work, 'commit', '-q', '-m', 'first');
    git(tmp.path, 'clone', '-q', '--bare', work, join(base, 'app.git'));
    repoUrl = `git://127.0.0.1:${port}/app.git`;

    c = await createCoordinator({ dataDir: `${tmp.path}/data`, longPollMs: 500 });
    api = userApi(c.url, c.apiToken);
    runner = await startRunner({
      url: c.url,
      registrationToken: c.registrationToken,
      name: 'incident-runner',
      executor: 'shell',
      concurrency: 2,
      heartbeatMs: 300,
      buildsDir: `${tmp.path}/builds`,
      logger: silentLogger,
    });
  });
  after(async () => {
    await stopDaemon();
    await runner?.stop({ timeoutMs: 5000 });
    await c?.close();
    tmp.dispose();
  });

  let outage: IncidentJson;

  test('8 failures of one git host across pipelines, an unrelated success between them → one open incident', async () => {
    const failedJobs: number[] = [];
    for (let i = 0; i < 8; i++) {
      const p = await run(FETCHING, { project: `acme/svc-${i % 3}`, ref: i % 2 ? 'main' : 'dev' });
      assert.equal(p.status, 'failed');
      const f = p.jobs![0]!.failure!;
      assert.equal(f.class, 'infra', JSON.stringify(f));
      assert.equal(f.stage, 'get_sources');
      failedJobs.push(p.jobs![0]!.id);
      if (i === 1) {
        // Two failures: still a failure, not an incident.
        assert.deepEqual(await incidents(), []);
        const pending = await incidents('?state=pending');
        assert.deepEqual(
          pending.map((x) => [x.state, x.failure_count, x.opened_at]),
          [['pending', 2, null]],
        );
      }
      if (i === 3) {
        // An unrelated job (no repository, touches no git host) succeeds: no evidence.
        assert.equal((await run(`ok:\n  script: [echo unrelated]\n`, { repo: false })).status, 'success');
      }
    }
    const open = await incidents('?state=open');
    assert.equal(open.length, 1, JSON.stringify(open));
    outage = open[0]!;
    assert.deepEqual(outage.dependency, { kind: 'git_host', name: `127.0.0.1:${port}` });
    assert.equal(outage.failure_count, 8);
    assert.equal(outage.state, 'open');
    assert.ok(outage.opened_at && outage.opened_at >= outage.first_failure_at, 'opened at the third failure, not the first');
    const d = (await api.call<IncidentDetailJson>('GET', `/api/v1/incidents/${outage.id}`)).body;
    assert.deepEqual(
      d.jobs.map((j) => j.id),
      failedJobs,
    );
    const m = await scrape(`${c.url}/metrics`);
    assert.equal(sum(m, 'faultline_incident_open', { cause: outage.cause, dependency: 'git_host', state: 'open' }), 1);
    assert.equal(sum(m, 'faultline_incidents_total', { cause: outage.cause }), 1);
  });

  test('a job fetching from that git host resolves it', async () => {
    await startDaemon();
    const p = await run(FETCHING, { project: 'acme/svc-0' });
    assert.equal(p.status, 'success', JSON.stringify(p.jobs?.[0]?.failure));
    const d = (await api.call<IncidentDetailJson>('GET', `/api/v1/incidents/${outage.id}`)).body;
    assert.equal(d.state, 'resolved');
    assert.equal(d.resolved_by, 'evidence');
    assert.ok(
      d.resolving_event?.kind === 'sources_fetched' && d.resolving_event.job_id === p.jobs![0]!.id,
      JSON.stringify(d.resolving_event),
    );
    assert.deepEqual(await incidents('?state=open'), []);
    const m = await scrape(`${c.url}/metrics`);
    assert.equal(sum(m, 'faultline_incident_open', { dependency: 'git_host' }), 0, 'no series once resolved');
    assert.equal(sum(m, 'faultline_recovery_seconds_count', { kind: 'incident', class: 'infra', cause: outage.cause }), 1);
  });

  test('ack and manual resolve with a note', async () => {
    await stopDaemon();
    for (let i = 0; i < 3; i++) assert.equal((await run(FETCHING, { project: `acme/svc-${i}` })).status, 'failed');
    const [inc] = await incidents('?state=open');
    assert.ok(inc && inc.id !== outage.id);

    const ack = await api.call<IncidentJson>('POST', `/api/v1/incidents/${inc.id}/ack`, { note: 'looking at the git host' });
    assert.equal(ack.status, 200, JSON.stringify(ack.body));
    assert.equal(ack.body.state, 'acknowledged');
    assert.ok(ack.body.acknowledged_at);
    let m = await scrape(`${c.url}/metrics`);
    assert.equal(sum(m, 'faultline_incident_open', { dependency: 'git_host', state: 'acknowledged' }), 1);
    assert.equal(sum(m, 'faultline_incident_open', { dependency: 'git_host', state: 'open' }), 0);
    assert.equal((await api.call('POST', `/api/v1/incidents/${inc.id}/ack`, {})).status, 409, 'already acknowledged');

    const noNote = await api.call<{ error: string }>('POST', `/api/v1/incidents/${inc.id}/resolve`, {});
    assert.equal(noNote.status, 400);
    assert.match(noNote.body.error, /note/);
    const res = await api.call<IncidentJson>('POST', `/api/v1/incidents/${inc.id}/resolve`, { note: 'git host moved; DNS updated' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual([res.body.state, res.body.resolved_by, res.body.note], ['resolved', 'person', 'git host moved; DNS updated']);
    assert.equal((await api.call('POST', `/api/v1/incidents/${inc.id}/resolve`, { note: 'again' })).status, 409);
    assert.equal((await api.call('POST', '/api/v1/incidents/999999/ack', {})).status, 404);
    m = await scrape(`${c.url}/metrics`);
    assert.equal(sum(m, 'faultline_incident_open', { dependency: 'git_host' }), 0);
  });

  test('an error line no rule knows, failing 5 jobs of 2 projects, is flagged as widespread', async () => {
    const line = (n: number, path: string) => `zorp-agent: lease ${n} on ${path} failed before handshake (id 9f${n}c3a7b1d)`;
    const job = (n: number, path: string) => `unit:\n  script:\n    - 'echo "${line(n, path)}"'\n    - exit 3\n`;
    const before = (await api.call<{ lines: WidespreadLineJson[] }>('GET', '/api/v1/incidents/widespread')).body.lines;
    assert.deepEqual(before, []);
    const jobs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const p = await run(job(1000 + i * 37, `/var/lib/zorp/s${i}/lease.db`), { project: i % 2 ? 'acme/web' : 'acme/api', repo: false });
      const f = p.jobs![0]!.failure!;
      assert.equal(f.fallback, true, `no rule knows this line: ${JSON.stringify(f)}`);
      jobs.push(p.jobs![0]!.id);
      if (i === 3)
        assert.deepEqual(
          (await api.call<{ lines: WidespreadLineJson[] }>('GET', '/api/v1/incidents/widespread')).body.lines,
          [],
          '4 jobs: not yet',
        );
    }
    const lines = (await api.call<{ lines: WidespreadLineJson[] }>('GET', '/api/v1/incidents/widespread')).body.lines;
    assert.equal(lines.length, 1, JSON.stringify(lines));
    const w = lines[0]!;
    assert.equal(w.job_count, 5);
    assert.equal(w.project_count, 2);
    assert.deepEqual(w.job_ids, jobs);
    assert.match(w.example_line, /zorp-agent: lease \d+ on \S+ failed before handshake/);
    assert.ok(w.first_at <= w.last_at);

    // `faultline rules test --from-widespread 1` prints a rule skeleton that parses and matches the line.
    const cli = spawnFaultline(['rules', 'test', '--data', `${tmp.path}/data`, '--since', '1h', '--from-widespread', '1']);
    assert.equal(await cli.exited, 0, cli.output());
    const yaml = cli.output().split('\n# save it')[0]!;
    const parsed = parseRuleFile(yaml, 'skeleton.yml');
    assert.ok(parsed.ok, JSON.stringify(parsed));
    const rule = parsed.ok ? parsed.rules[0]!.def : null;
    const pattern = new RegExp((rule!.match as { log_any: string[] }).log_any[0]!);
    // It matches the line as another job prints it (other numbers, path, id), not just the example.
    assert.match(line(4242, '/srv/other/x.db'), pattern);
    assert.doesNotMatch('zorp-agent: lease 1 on /a/b renewed', pattern);
    const bad = spawnFaultline(['rules', 'test', '--data', `${tmp.path}/data`, '--from-widespread', '2']);
    assert.equal(await bad.exited, 2);
    assert.match(bad.output(), /no widespread line "2" \(1 in the window/);
  });

  // Last: it removes the runner the other tests use.
  test("a removed runner's incident resolves with reason runner_removed", async () => {
    const disk = `disk:\n  script:\n    - "echo 'tar: ./node_modules/x: Cannot write: No space left on device'"\n    - exit 1\n`;
    for (let i = 0; i < 3; i++) assert.equal((await run(disk, { repo: false })).failure_class, 'infra');
    const [inc] = await incidents('?state=open');
    assert.ok(inc, 'a runner incident is open');
    assert.equal(inc.dependency.kind, 'runner');
    assert.equal(inc.dependency.name, 'incident-runner');
    const runnerId = c.store.db.prepare('SELECT id FROM runners WHERE name = ?').get('incident-runner') as { id: number };
    assert.equal((await api.call('DELETE', `/api/v1/runners/${runnerId.id}`)).status, 204);
    const d = (await api.call<IncidentDetailJson>('GET', `/api/v1/incidents/${inc.id}`)).body;
    assert.deepEqual([d.state, d.resolved_by], ['resolved', 'runner_removed']);
    assert.deepEqual(await incidents('?state=open'), []);
  });
});
