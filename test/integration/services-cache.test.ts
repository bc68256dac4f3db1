/**
 * services: and cache: end to end: one coordinator process, runner PROCESSES from a
 * config.toml — two shell runners sharing one host cache dir, and a docker runner on
 * podman's Docker API with a real docker-registry serving a busybox image.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { JobJson, PipelineJson } from '../../src/protocol/user-api.js';
import { freePort, startContainerInfra, type ContainerInfra } from '../helpers/container-infra.js';
import { jobsByName, startCoordinator, startRunnerProcess, userApi, type CoordinatorProc, type Proc } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';
import { hasTool, requireTools } from '../helpers/tools.js';

const toml = (s: string) => JSON.stringify(s);

describe('services and cache through coordinator + runner processes', () => {
  const dir = tempDir('faultline-svc-cache-');
  const cacheDir = join(dir.path, 'cache');
  let coord: CoordinatorProc;
  let api: ReturnType<typeof userApi>;
  let infra: ContainerInfra | undefined;
  const runners: Proc[] = [];

  const section = (name: string, executor: string, tags: string[], body = '') =>
    [
      '[[runners]]',
      `  name = ${toml(name)}`,
      `  url = ${toml(coord.url)}`,
      `  registration_token = ${toml(coord.registrationToken)}`,
      `  executor = ${toml(executor)}`,
      `  tags = ${JSON.stringify(tags)}`,
      '  run_untagged = false',
      `  builds_dir = ${toml(join(dir.path, 'builds', name))}`,
      `  cache_dir = ${toml(cacheDir)}`,
      body,
      '',
    ].join('\n');

  async function startRunners(file: string, sections: string[], env: Record<string, string> = {}) {
    const path = join(dir.path, file);
    writeFileSync(path, `concurrent = 4\ncheck_interval = 0.2\nshutdown_timeout = 5\n\n${sections.join('\n')}`);
    runners.push(await startRunnerProcess({ config: path, env }));
  }

  async function run(yaml: string, timeoutMs = 120_000): Promise<{ p: PipelineJson; jobs: Record<string, JobJson> }> {
    const p = await api.waitPipeline((await api.createPipeline(yaml)).id, undefined, timeoutMs);
    return { p, jobs: jobsByName(p) };
  }

  before(async () => {
    coord = await startCoordinator({ dataDir: join(dir.path, 'data') });
    api = userApi(coord.url, coord.apiToken);
    await startRunners('shell.toml', [section('shell-a', 'shell', ['shell-a']), section('shell-b', 'shell', ['shell-b'])]);
    if (['podman', 'docker-registry', 'runc', 'skopeo'].every(hasTool)) {
      infra = await startContainerInfra();
      await startRunners(
        'docker.toml',
        [
          section(
            'docker',
            'docker',
            ['docker'],
            [
              '  [runners.docker]',
              `    host = ${toml(infra.dockerHost)}`,
              '    pull_policy = ["if-not-present"]',
              '    pull_retry = { attempts = 1, backoffMs = 0 }',
              '    wait_for_services_timeout = 4',
            ].join('\n'),
          ),
        ],
        infra.env,
      );
    }
  });

  after(async () => {
    await Promise.all(runners.map((r) => r.kill()));
    await coord?.kill();
    await infra?.dispose();
    dir.dispose();
  });

  const traceOf = async (j: JobJson | undefined) => {
    assert.ok(j, 'job exists');
    return api.trace(j.id);
  };

  test('docker executor on podman: a service reachable by its aliases, a dead one warned with its logs, all removed after', async (t) => {
    if (!requireTools(t, 'podman', 'docker-registry', 'runc', 'skopeo')) return;
    assert.ok(infra);
    const image = infra.image;
    const { jobs } = await run(`
web:
  tags: [docker]
  image: ${image}
  services:
    - name: ${image}
      alias: web, www
      entrypoint: ["/bin/busybox", "sh", "-c"]
      command: ["mkdir -p /srv && echo \\"hello-$GREETING\\" > /srv/index.html && exec /bin/busybox httpd -f -p 8080 -h /srv"]
      variables: {GREETING: from-service, HEALTHCHECK_TCP_PORT: "8080"}
    - name: ${image}
      alias: dead
      entrypoint: ["/bin/busybox", "sh", "-c"]
      command: ["echo dead-service-says-goodbye; exit 7"]
      variables: {HEALTHCHECK_TCP_PORT: "9"}
  script:
    - /bin/busybox wget -qO- http://web:8080/index.html
    - /bin/busybox wget -qO- http://www:8080/index.html
entry:
  tags: [docker]
  variables: {CI_DEBUG_SERVICES: "true"}
  services:
    - name: ${image}
      alias: chatty
      entrypoint: ["/bin/busybox", "sh", "-c", "echo chatty-service-log-line; exec sleep 60"]
  image: {name: ${image}, entrypoint: ["/bin/busybox", "env", "FROM_ENTRYPOINT=yes"]}
  script: [echo "entrypoint-saw-$FROM_ENTRYPOINT"]
`);
    const entry = await traceOf(jobs['entry']);
    assert.equal(jobs['entry']!.status, 'success', entry);
    assert.ok(entry.includes('entrypoint-saw-yes'), `image: entrypoint ran around the script:\n${entry}`);
    assert.match(
      entry,
      /Service faultline-job-\d+-svc-0-\S+ \(.*\) logs:\nchatty-service-log-line/,
      `CI_DEBUG_SERVICES keeps the logs:\n${entry}`,
    );
    const trace = await traceOf(jobs['web']);
    const ctx = `${JSON.stringify(jobs['web']!.failure)}\n${trace}`;
    assert.equal(jobs['web']!.status, 'success', ctx);
    assert.equal(trace.split('hello-from-service').length - 1, 2 + 0, `both aliases answer:\n${trace}`);
    assert.match(trace, /Starting service .*busybox:latest \(alias web, www\)/);
    assert.match(trace, /\*\*\* WARNING: Service faultline-job-\d+-svc-1-\S+ probably didn't start properly\./);
    assert.match(trace, /exited with code 7/);
    assert.ok(trace.includes('dead-service-says-goodbye'), `the dead service's logs are in the trace:\n${trace}`);
    // removed after: no container or network of this job is left
    const id = jobs['web']!.id;
    const ps = infra.podman('ps', '-a', '--filter', `label=com.faultline.job.id=${id}`, '--format', '{{.Names}}');
    assert.equal(ps.stdout.trim(), '', 'service and job containers removed');
    const nets = infra.podman('network', 'ls', '--format', '{{.Name}}');
    assert.ok(!nets.stdout.includes(`faultline-job-${id}-`), `job network removed: ${nets.stdout}`);
  });

  test('a service image that cannot be pulled: infra, at prepare_executor, naming the service; the script never runs', async (t) => {
    if (!requireTools(t, 'podman', 'docker-registry', 'runc', 'skopeo')) return;
    assert.ok(infra);
    const closed = `127.0.0.1:${await freePort()}`;
    const { jobs } = await run(`
db:
  tags: [docker]
  image: ${infra.image}
  services:
    - name: ${closed}/postgres:16
      alias: db
  script: [echo SCRIPT-RAN]
`);
    const j = jobs['db']!;
    const trace = await traceOf(j);
    const ctx = `${JSON.stringify(j.failure)}\n${trace}`;
    assert.equal(j.status, 'failed', ctx);
    assert.equal(j.failure?.stage, 'prepare_executor', ctx);
    assert.equal(j.failure?.class, 'infra', ctx);
    assert.equal(j.failure?.reason, 'image_pull_failure', ctx);
    assert.match(j.failure?.message ?? '', new RegExp(`service ${closed}/postgres:16 \\(alias db\\) could not be pulled`), ctx);
    assert.ok(!trace.includes('SCRIPT-RAN\n'), ctx);
  });

  test('services: on the shell executor is refused before it runs, as the runner’s gap, not the build’s', async () => {
    const { jobs } = await run(`
psql:
  tags: [shell-a]
  image: postgres:16
  services: [postgres:16]
  script: [echo SCRIPT-RAN]
`);
    const j = jobs['psql']!;
    const trace = await traceOf(j);
    const ctx = `${JSON.stringify(j.failure)}\n${trace}`;
    assert.equal(j.status, 'failed', ctx);
    assert.equal(j.failure?.reason, 'runner_unsupported', ctx);
    assert.equal(j.failure?.stage, 'prepare_executor', ctx);
    assert.notEqual(j.failure?.class, 'build', ctx);
    assert.match(j.failure?.message ?? '', /services: \(postgres:16\) but this runner uses the shell executor/, ctx);
    assert.ok(!trace.includes('SCRIPT-RAN\n'), `the script never ran:\n${trace}`);
  });

  test('cache: shared by two runners across pipelines; fallback_keys; policy pull never uploads; when: always', async () => {
    // On a failure, say why: the job's verdict and its whole trace.
    const ok = async (r: { jobs: Record<string, JobJson> }, name: string) => {
      const j = r.jobs[name];
      if (j?.status !== 'success') assert.fail(`${name}: ${j?.status} ${JSON.stringify(j?.failure)}\n${j ? await traceOf(j) : ''}`);
    };
    const one = await run(`
fill:
  tags: [shell-a]
  image: busybox
  cache: {key: deps-$CI_JOB_STAGE, paths: [vendor/]}
  script:
    - test ! -e vendor/dep.txt
    - mkdir -p vendor/sub && echo v1 > vendor/dep.txt && echo deep > vendor/sub/x.txt
`);
    await ok(one, 'fill');
    const fillTrace = await traceOf(one.jobs['fill']);
    assert.match(fillTrace, /WARNING: image: busybox is ignored: the shell executor/);
    assert.equal(fillTrace.split('image: busybox is ignored').length - 1, 1, 'warned once');
    for (const l of ['Checking cache for deps-test...', 'Saving cache for successful job', 'Creating cache deps-test...', 'Created cache'])
      assert.ok(fillTrace.includes(l), `lacks ${l}:\n${fillTrace}`);

    // another runner on the same host, a new pipeline: the cache is there
    const two = await run(`
use:
  tags: [shell-b]
  cache: {key: deps-test, paths: [vendor/], policy: pull}
  script:
    - test "$(cat vendor/dep.txt)" = v1 && test "$(cat vendor/sub/x.txt)" = deep
    - echo v2 > vendor/dep.txt
fallback:
  tags: [shell-a]
  cache: {key: no-such-key, fallback_keys: [deps-test], paths: [vendor/]}
  script: [test "$(cat vendor/dep.txt)" = v1]
`);
    await ok(two, 'use');
    await ok(two, 'fallback');
    const useTrace = await traceOf(two.jobs['use']);
    assert.ok(useTrace.includes('Successfully extracted cache'), useTrace);
    assert.ok(useTrace.includes('Not uploading cache deps-test due to policy'), useTrace);
    assert.ok(!useTrace.includes('Creating cache'), useTrace);
    const fbTrace = await traceOf(two.jobs['fallback']);
    assert.match(
      fbTrace,
      /Checking cache for no-such-key\.\.\.[\s\S]*Checking cache for deps-test\.\.\.[\s\S]*Successfully extracted cache/,
    );

    // policy pull left the cache as it was; when: always saves after a failure
    const three = await run(`
check:
  tags: [shell-b]
  cache: {key: deps-test, paths: [vendor/], policy: pull}
  script: [test "$(cat vendor/dep.txt)" = v1]
lockfile:
  tags: [shell-a]
  cache:
    key: {files: [lock.txt], prefix: lk}
    paths: [vendor/]
    when: always
  script:
    - echo a > lock.txt
    - test ! -e vendor/dep.txt
    - mkdir vendor && echo x > vendor/dep.txt
    - exit 4
`);
    await ok(three, 'check');
    assert.equal(three.jobs['lockfile']?.status, 'failed');
    const lkTrace = await traceOf(three.jobs['lockfile']);
    assert.ok(lkTrace.includes('Saving cache for failed job'), `when: always saves after a failure:\n${lkTrace}`);
    // the key was computed from the checkout before the script (lock.txt absent: "default")
    assert.ok(lkTrace.includes('Creating cache lk-default...'), lkTrace);
  });
});
