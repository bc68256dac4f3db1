import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parse } from 'yaml';
import { requireTools } from '../helpers/tools.js';
import { tempDir } from '../helpers/tmp.js';
import { REPO_ROOT } from './dashboard-queries.js';

const read = (p: string) => readFileSync(join(REPO_ROOT, p), 'utf8');
const yaml = (p: string) => parse(read(p), { merge: true });
const compose = yaml('docker-compose.yml');
const services: Record<string, any> = compose.services;

const REQUIRED = ['coordinator', 'runner-1', 'runner-2', 'prometheus', 'alertmanager', 'grafana', 'otel-collector', 'jaeger'];

/** Bind mounts as {host, target}; named volumes are skipped. */
function bindMounts(svc: any): Array<{ host: string; target: string }> {
  return (svc.volumes ?? [])
    .map((v: string) => v.split(':'))
    .filter(([host]: string[]) => host.startsWith('.') || host.startsWith('/'))
    .map(([host, target]: string[]) => ({ host, target }));
}

/** Where a container path comes from in the repo, through the service's bind mounts. */
function hostPathOf(svc: any, containerPath: string): string | null {
  for (const { host, target } of bindMounts(svc)) {
    if (containerPath === target) return host;
    if (containerPath.startsWith(target + '/')) return posix.join(host, containerPath.slice(target.length + 1));
  }
  return null;
}

describe('docker-compose.yml and deploy/', () => {
  test('has every service of the stack', () => {
    for (const s of REQUIRED) assert.ok(services[s], `missing service ${s}`);
  });

  test('ports are host:container numbers and no host port is used twice', () => {
    const hostPorts: string[] = [];
    for (const [name, svc] of Object.entries(services)) {
      for (const p of svc.ports ?? []) {
        assert.match(String(p), /^\d{2,5}:\d{2,5}$/, `${name}: port ${p}`);
        hostPorts.push(String(p).split(':')[0]);
      }
    }
    assert.equal(new Set(hostPorts).size, hostPorts.length, `duplicate host ports: ${hostPorts}`);
    for (const [svc, port] of [
      ['coordinator', '8080'],
      ['prometheus', '9090'],
      ['alertmanager', '9093'],
      ['grafana', '3000'],
      ['jaeger', '16686'],
      ['otel-collector', '4318'],
    ]) {
      assert.ok(
        (services[svc].ports ?? []).some((p: string) => String(p).endsWith(`:${port}`)),
        `${svc} must publish ${port}`,
      );
    }
  });

  test('every bind-mounted host path exists; named volumes are declared; depends_on names services', () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const { host } of bindMounts(svc)) assert.ok(existsSync(join(REPO_ROOT, host)), `${name}: ${host} does not exist`);
      for (const v of svc.volumes ?? []) {
        const src = String(v).split(':')[0];
        if (!src.startsWith('.') && !src.startsWith('/')) assert.ok(src in (compose.volumes ?? {}), `${name}: volume ${src} not declared`);
      }
      const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
      for (const d of deps) assert.ok(services[d], `${name}: depends_on unknown service ${d}`);
      if (svc.build)
        assert.ok(
          existsSync(join(REPO_ROOT, typeof svc.build === 'string' ? svc.build : svc.build.context, 'Dockerfile')),
          `${name}: no Dockerfile`,
        );
    }
  });

  test('config files named on command lines are provisioned from the repo', () => {
    const checked: string[] = [];
    for (const [name, svc] of Object.entries(services)) {
      for (const arg of svc.command ?? []) {
        const m = /^--config(?:\.file)?=(.+)$/.exec(String(arg));
        if (!m) continue;
        const host = hostPathOf(svc, m[1]);
        assert.ok(host, `${name}: ${m[1]} is not bind-mounted`);
        assert.ok(existsSync(join(REPO_ROOT, host)), `${name}: ${host} missing`);
        checked.push(host);
      }
    }
    assert.deepEqual(checked.sort(), ['./deploy/alertmanager.yml', './deploy/otel-collector.yml', './deploy/prometheus.yml']);
    // Prometheus' rule_files, resolved inside the container, land in the mounted rules.
    const prom = services.prometheus;
    for (const rf of yaml('deploy/prometheus.yml').rule_files as string[]) {
      const inContainer = posix.join('/etc/prometheus/deploy', rf);
      const host = hostPathOf(prom, posix.dirname(inContainer));
      assert.equal(host, './rules/alerts', `rule_files ${rf} resolves to ${inContainer}, not a mounted rules dir`);
    }
    // Grafana's provisioning files exist where Grafana looks.
    const g = services.grafana;
    assert.equal(
      hostPathOf(g, '/etc/grafana/provisioning/datasources/prometheus.yml'),
      'deploy/grafana/provisioning/datasources/prometheus.yml',
    );
    assert.equal(
      hostPathOf(g, '/etc/grafana/provisioning/dashboards/faultline.yml'),
      'deploy/grafana/provisioning/dashboards/faultline.yml',
    );
    const ds = yaml('deploy/grafana/provisioning/datasources/prometheus.yml').datasources[0];
    assert.equal(ds.type, 'prometheus');
    assert.equal(new URL(ds.url).hostname, 'prometheus');
  });

  test('scrape and alerting targets are compose services on the right ports', () => {
    const prom = yaml('deploy/prometheus.yml');
    const targets = (job: string): string[] =>
      prom.scrape_configs.find((s: any) => s.job_name === job).static_configs.flatMap((c: any) => c.targets);
    assert.deepEqual(targets('faultline-coordinator'), ['coordinator:8080']);
    assert.deepEqual(
      targets('faultline-runner')
        .map((t) => t.split(':')[0])
        .sort(),
      ['runner-1', 'runner-2'],
    );
    for (const t of targets('faultline-runner'))
      assert.ok((services[t.split(':')[0]].expose ?? []).includes(t.split(':')[1]), `${t} not exposed`);
    assert.deepEqual(prom.alerting.alertmanagers[0].static_configs[0].targets, ['alertmanager:9093']);
  });

  test('alertmanager routes severity=page to the operators webhook', () => {
    const am = yaml('deploy/alertmanager.yml');
    const page = am.route.routes.find((r: any) => (r.matchers ?? []).includes('severity="page"'));
    assert.ok(page, 'no severity="page" route');
    const recv = am.receivers.find((r: any) => r.name === page.receiver);
    assert.equal(recv.name, 'operators');
    assert.ok(recv.webhook_configs?.[0]?.url, 'operators receiver needs a webhook');
  });

  test('the otel collector receives OTLP/HTTP and exports traces to jaeger over OTLP', () => {
    const c = yaml('deploy/otel-collector.yml');
    assert.match(c.receivers.otlp.protocols.http.endpoint, /:4318$/);
    const p = c.service.pipelines.traces;
    assert.deepEqual(p.receivers, ['otlp']);
    const exp = p.exporters.find((e: string) => e.startsWith('otlp'));
    assert.ok(exp && c.exporters[exp], 'an otlp exporter in the traces pipeline');
    const host = c.exporters[exp].endpoint.split(':')[0];
    assert.ok(services[host], `exporter endpoint ${host} is not a compose service`);
    for (const s of ['coordinator', 'runner-1', 'runner-2']) {
      assert.equal(services[s].environment.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://otel-collector:4318', `${s}: OTLP endpoint`);
    }
  });

  test('Dockerfile: node:20-bookworm-slim, npm ci, bin/faultline.js entry, OTLP endpoint to the collector', () => {
    const df = read('Dockerfile');
    assert.match(df, /^FROM node:20-bookworm-slim\b/m);
    assert.match(df, /RUN npm ci\b/);
    assert.match(df, /ENTRYPOINT \["node", "bin\/faultline\.js"\]/);
    assert.match(df, /OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/otel-collector:4318/);
    for (const m of df.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of m[1].split(/\s+/)) assert.ok(existsSync(join(REPO_ROOT, src)), `COPY source ${src} missing`);
    }
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim());
    for (const needed of ['src', 'bin', 'rules', 'package.json', 'package-lock.json'])
      assert.ok(!ignored.includes(needed), `.dockerignore drops ${needed}`);
    assert.ok(ignored.includes('node_modules'), '.dockerignore must drop node_modules');
    // Compose commands use CLI commands that exist.
    assert.equal(services.coordinator.command[0], 'coordinator');
    assert.equal(services['runner-1'].command[0], 'runner');
    assert.ok(services['runner-1'].command.includes('--url'));
  });

  test('docker-compose config -q accepts the file and rejects a broken copy', (t) => {
    if (!requireTools(t, 'docker-compose')) return;
    const ok = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    const tmp = tempDir();
    t.after(tmp.dispose);
    const broken = join(tmp.path, 'docker-compose.yml');
    writeFileSync(broken, read('docker-compose.yml').replace('- "9090:9090"', '- {published: nope}'));
    const bad = spawnSync('docker-compose', ['-f', broken, 'config', '-q'], { cwd: tmp.path, encoding: 'utf8' });
    assert.notEqual(bad.status, 0, 'a broken compose file must be rejected');
  });

  test('promtool check config accepts both Prometheus configs (and their rule files)', (t) => {
    if (!requireTools(t, 'promtool')) return;
    for (const f of ['deploy/prometheus.yml', 'deploy/prometheus.local.yml']) {
      const r = spawnSync('promtool', ['check', 'config', f], { cwd: REPO_ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, `${f}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /5 rule files found/); // rules/alerts/*.rules.yml
    }
  });

  test('amtool check-config accepts deploy/alertmanager.yml and rejects a route to a missing receiver', (t) => {
    if (!requireTools(t, 'amtool')) return;
    const r = spawnSync('amtool', ['check-config', 'deploy/alertmanager.yml'], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const tmp = tempDir();
    t.after(tmp.dispose);
    const f = join(tmp.path, 'am.yml');
    writeFileSync(f, read('deploy/alertmanager.yml').replace('receiver: operators\n', 'receiver: nobody\n'));
    assert.notEqual(spawnSync('amtool', ['check-config', f]).status, 0);
  });
});

describe('docker-compose.yml: the postgres profile', () => {
  const PG = ['postgres', 'coordinator-a', 'coordinator-b', 'proxy', 'runner-pg-1', 'runner-pg-2'];

  test('PostgreSQL, two coordinators on it, a proxy with /healthz checks in front, runners on the proxy', () => {
    for (const s of PG) assert.deepEqual(services[s]?.profiles, ['postgres'], `${s} is in the postgres profile only`);
    for (const s of REQUIRED) assert.equal(services[s].profiles, undefined, `${s} stays in the default stack`);
    for (const c of ['coordinator-a', 'coordinator-b']) {
      assert.equal(services[c].command[0], 'coordinator');
      assert.match(services[c].environment.FAULTLINE_DATABASE_URL, /^postgres:\/\/faultline:.*@postgres:5432\/faultline$/);
      assert.ok(services[c].environment.FAULTLINE_API_TOKEN, `${c} gets the shared API token from the environment`);
      assert.equal(services[c].depends_on.postgres.condition, 'service_healthy');
      assert.match(services[c].healthcheck.test.join(' '), /\/healthz/);
    }
    assert.notDeepEqual(
      services['coordinator-a'].volumes,
      services['coordinator-b'].volumes,
      'each coordinator has its own data dir (it is locked)',
    );
    const cfgPath = hostPathOf(services.proxy, '/usr/local/etc/haproxy/haproxy.cfg');
    assert.equal(cfgPath, './deploy/haproxy.cfg');
    const cfg = read(cfgPath!);
    assert.match(cfg, /option httpchk GET \/healthz/);
    for (const c of ['coordinator-a', 'coordinator-b']) assert.match(cfg, new RegExp(`server ${c} ${c}:8080`));
    assert.match(cfg, /retry-on conn-failure\n/, 'only requests that never reached a coordinator are retried elsewhere');
    for (const r of ['runner-pg-1', 'runner-pg-2'])
      assert.equal(services[r].command[services[r].command.indexOf('--url') + 1], 'http://proxy:8080');
  });

  test('docker-compose --profile postgres config -q accepts it', (t) => {
    if (!requireTools(t, 'docker-compose')) return;
    const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', '--profile', 'postgres', 'config', '--services'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    for (const s of PG) assert.ok(r.stdout.split('\n').includes(s), `${s} in ${r.stdout}`);
  });
});
