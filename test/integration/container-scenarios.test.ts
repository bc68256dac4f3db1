/**
 * Classification end to end for the container/infra scenarios, through the real system:
 * one coordinator process and runner PROCESSES (`faultline runner --config config.toml`)
 * over HTTP, one runner per executor with its own tags:
 *
 *   docker         podman's Docker API + a real docker-registry (stopped and started once)
 *   docker-broken  a docker runner whose engine socket does not exist
 *   kubernetes     the fake Kubernetes API server (test/fakes/kube-api.ts)
 *   custom         the example driver in examples/custom-executor
 *
 * For every job: status, failure reason/stage/class/cause, whether a rule (not the
 * fallback) decided, and the trace lines a user needs to see why.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadRunnerConfig } from '../../src/runner/config.js';
import type { JobJson, PipelineJson } from '../../src/protocol/user-api.js';
import { startFakeKubeApi, type FakeKubeApi } from '../fakes/kube-api.js';
import { startContainerInfra, type ContainerInfra } from '../helpers/container-infra.js';
import { jobsByName, startCoordinator, startRunnerProcess, userApi, type CoordinatorProc, type Proc } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';
import { hasTool, requireTools } from '../helpers/tools.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const DRIVER = join(ROOT, 'examples/custom-executor');
/** An image the fake cluster's registry serves. */
const KUBE_IMAGE = 'registry.internal:5000/tools/busybox:1.36';

type Expect = {
  status: JobJson['status'];
  reason?: string;
  stage?: string;
  cls?: string;
  cause?: string;
  /** true: a rule must have matched; false: the fallback decided. */
  rule?: boolean;
  exit?: number | null;
  trace?: Array<string | RegExp>;
};

/** Asserts one job's outcome and trace; returns the trace. */
async function expectJob(api: ReturnType<typeof userApi>, j: JobJson | undefined, e: Expect): Promise<string> {
  assert.ok(j, 'job exists');
  const trace = await api.trace(j.id);
  const ctx = `${j.name}: ${JSON.stringify(j.failure)}\n--- trace ---\n${trace}`;
  assert.equal(j.status, e.status, `status of ${ctx}`);
  if (e.status === 'success') assert.equal(j.failure, null, ctx);
  else {
    const f = j.failure;
    assert.ok(f, `classified: ${ctx}`);
    if (e.reason) assert.equal(f.reason, e.reason, `reason of ${ctx}`);
    if (e.stage) assert.equal(f.stage, e.stage, `stage of ${ctx}`);
    if (e.cls) assert.equal(f.class, e.cls, `class of ${ctx}`);
    if (e.cause) assert.equal(f.cause, e.cause, `cause of ${ctx}`);
    if (e.rule !== undefined) {
      assert.equal(f.fallback, !e.rule, `fallback of ${ctx}`);
      if (e.rule) assert.ok(f.rule?.id, `rule id of ${ctx}`);
    }
    if (e.exit !== undefined) assert.equal(f.exit_code, e.exit, `exit code of ${ctx}`);
  }
  for (const want of e.trace ?? []) {
    if (typeof want === 'string') assert.ok(trace.includes(want), `trace of ${j.name} lacks ${JSON.stringify(want)}:\n${trace}`);
    else assert.match(trace, want, `trace of ${j.name}`);
  }
  return trace;
}

/** Submits a pipeline and waits until it is finished and its failures classified. */
async function run(
  api: ReturnType<typeof userApi>,
  yaml: string,
  timeoutMs = 90_000,
): Promise<{ p: PipelineJson; jobs: Record<string, JobJson> }> {
  const p = await api.waitPipeline((await api.createPipeline(yaml)).id, undefined, timeoutMs);
  return { p, jobs: jobsByName(p) };
}

const toml = (s: string) => JSON.stringify(s); // a TOML basic string is a JSON string for our values

describe('container and infra scenarios: classification through coordinator + runner processes', () => {
  const dir = tempDir('faultline-containers-');
  let coord: CoordinatorProc;
  let api: ReturnType<typeof userApi>;
  let infra: ContainerInfra | undefined;
  let kube: FakeKubeApi;
  const runners: Proc[] = [];

  /** Writes a config.toml for `sections` and starts `faultline runner --config` on it. */
  async function startRunners(file: string, sections: string[], env: Record<string, string> = {}): Promise<void> {
    const path = join(dir.path, file);
    writeFileSync(path, `concurrent = 4\ncheck_interval = 0.2\nshutdown_timeout = 5\n\n${sections.join('\n')}`);
    // the file must be what the CLI accepts: parse it here first for a clear error
    assert.equal(loadRunnerConfig(path).length, sections.length);
    runners.push(await startRunnerProcess({ config: path, env }));
  }
  const section = (name: string, executor: string, tags: string[], body: string) =>
    [
      '[[runners]]',
      `  name = ${toml(name)}`,
      `  url = ${toml(coord.url)}`,
      `  registration_token = ${toml(coord.registrationToken)}`,
      `  executor = ${toml(executor)}`,
      `  tags = ${JSON.stringify(tags)}`,
      '  run_untagged = false',
      `  builds_dir = ${toml(join(dir.path, 'builds', name))}`,
      body,
      '',
    ].join('\n');

  before(async () => {
    coord = await startCoordinator({ dataDir: join(dir.path, 'data') });
    api = userApi(coord.url, coord.apiToken);

    kube = await startFakeKubeApi({ registryImages: new Set([KUBE_IMAGE]) });
    await startRunners('kubernetes.toml', [
      section(
        'k8s',
        'kubernetes',
        ['kubernetes'],
        [
          '  [runners.kubernetes]',
          `    host = ${toml(kube.url)}`,
          '    namespace = "ci"',
          '    poll_timeout = 2',
          '    pull_policy = "always"',
          '    pull_retry = { attempts = 1, backoffMs = 0 }',
        ].join('\n'),
      ),
    ]);

    const machines = join(dir.path, 'machines');
    mkdirSync(machines);
    await startRunners(
      'custom.toml',
      [
        section(
          'custom',
          'custom',
          ['custom'],
          [
            '  [runners.custom]',
            `    config_exec = ${toml(join(DRIVER, 'config.sh'))}`,
            `    prepare_exec = ${toml(join(DRIVER, 'prepare.sh'))}`,
            '    prepare_exec_timeout = 60',
            `    run_exec = ${toml(join(DRIVER, 'run.sh'))}`,
            `    cleanup_exec = ${toml(join(DRIVER, 'cleanup.sh'))}`,
            '    cleanup_exec_timeout = 60',
          ].join('\n'),
        ),
      ],
      { FAULTLINE_MACHINES_DIR: machines },
    );

    // Container infrastructure only when the tools are here (the docker test skips/fails otherwise).
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
              '    pull_policy = ["always"]',
              '    allowed_pull_policies = ["always", "if-not-present"]',
              '    pull_retry = { attempts = 2, backoffMs = 100 }',
            ].join('\n'),
          ),
          // same engine settings, but the engine's socket is gone
          section(
            'docker-broken',
            'docker',
            ['docker-broken'],
            ['  [runners.docker]', `    host = ${toml(`unix://${join(dir.path, 'gone', 'podman.sock')}`)}`].join('\n'),
          ),
        ],
        infra.env,
      );
    }
  });

  after(async () => {
    await Promise.all(runners.map((r) => r.kill()));
    await coord?.kill();
    await kube?.close();
    await infra?.dispose();
    dir.dispose();
  });

  test('docker executor (podman + real registry): pass, exit 3, registry down, pull-policy fallback, mistyped tag, engine gone', async (t) => {
    if (!requireTools(t, 'podman', 'docker-registry', 'runc', 'skopeo')) return;
    assert.ok(infra, 'container infrastructure started');
    const image = infra.image;
    const registry = infra.registry;

    // 1. Registry up: a job that passes, one that fails with exit 3, and one on the runner
    //    whose engine socket is gone. Build + infra failures in one pipeline → class build.
    const one = await run(
      api,
      `
pass:
  tags: [docker]
  image: ${image}
  script:
    - echo "hello from $(cat /etc/passwd | head -c 4)"
exit3:
  tags: [docker]
  image: ${image}
  script:
    - echo "about to fail"
    - exit 3
engine-gone:
  tags: [docker-broken]
  image: ${image}
  script: [echo never]
`,
    );
    await expectJob(api, one.jobs['pass'], {
      status: 'success',
      trace: [
        `Using Docker executor with image ${image} ...`,
        'Using effective pull policy of [always] for container build',
        'Attempt #1: Trying "always" pull policy',
        `Pulling docker image ${image} ...`,
        'hello from root',
      ],
    });
    await expectJob(api, one.jobs['exit3'], {
      status: 'failed',
      reason: 'script_failure',
      stage: 'step_script',
      cls: 'build',
      exit: 3,
      trace: ['about to fail', /exit code 3/],
    });
    await expectJob(api, one.jobs['engine-gone'], {
      status: 'failed',
      reason: 'runner_system_failure',
      stage: 'prepare_executor',
      cls: 'infra',
      cause: 'docker_daemon_unreachable',
      rule: true,
      trace: [/Cannot connect to the Docker daemon at unix:\/\/.*gone\/podman\.sock/],
    });
    assert.equal(one.p.status, 'failed');
    assert.equal(one.p.failure_class, 'build', 'a build failure next to an infra one makes the pipeline build');

    // 2. Registry STOPPED. `always` alone fails (operators'); [always, if-not-present]
    //    falls back to the image the first pipeline left on the host.
    await infra.stopRegistry();
    let two: Awaited<ReturnType<typeof run>>;
    try {
      two = await run(
        api,
        `
always:
  tags: [docker]
  image: {name: ${image}, pull_policy: always}
  script: [echo unreachable]
fallback:
  tags: [docker]
  image: {name: ${image}, pull_policy: [always, if-not-present]}
  script: [echo "ran on the cached image"]
`,
      );
    } finally {
      await infra.startRegistry();
    }
    const alwaysTrace = await expectJob(api, two.jobs['always'], {
      status: 'failed',
      reason: 'image_pull_failure',
      stage: 'pull_image',
      cls: 'infra',
      cause: 'registry_unreachable',
      rule: true,
      trace: [
        'Using effective pull policy of [always] for container build',
        'Attempt #1: Trying "always" pull policy',
        /WARNING: Transient error pulling image .* \(try 1\/2\)/,
        /WARNING: Failed to pull image with policy "always": .*connection refused/,
      ],
    });
    assert.doesNotMatch(alwaysTrace, /Attempt #2/, 'a single policy has no fallback');
    const f = two.jobs['always']!.failure!;
    assert.equal(f.registry, registry);
    assert.equal(f.image, image);
    assert.equal(f.kind, 'registry_unreachable');
    await expectJob(api, two.jobs['fallback'], {
      status: 'success',
      trace: [
        'Using effective pull policy of [always if-not-present] for container build',
        'Attempt #1: Trying "always" pull policy',
        'Attempt #2: Trying "if-not-present" pull policy',
        'Using locally found image version due to "if-not-present" pull policy',
        'ran on the cached image',
      ],
    });
    assert.equal(two.p.failure_class, 'infra', 'the only failure is infra: the pipeline is infra');

    // 3. Registry back: a mistyped tag is the developer's (the product's key edge case).
    const three = await run(
      api,
      `
typo:
  tags: [docker]
  image: ${registry}/busybox:nope
  script: [echo never]
`,
    );
    const typoTrace = await expectJob(api, three.jobs['typo'], {
      status: 'failed',
      reason: 'runner_configuration_error',
      stage: 'pull_image',
      cls: 'build',
      cause: 'image_not_found',
      rule: true,
      trace: [
        `Pulling docker image ${registry}/busybox:nope ...`,
        /WARNING: Failed to pull image with policy "always": .*(manifest unknown|not found)/i,
      ],
    });
    assert.doesNotMatch(typoTrace, /Transient error/, 'a missing tag is not retried');
    assert.equal(three.jobs['typo']!.failure!.registry, registry);
    assert.equal(three.p.failure_class, 'build');
  });

  test('custom executor (examples/custom-executor driver): pass, script exit 1, machine creation failed', async () => {
    const { p, jobs } = await run(
      api,
      `
pass:
  tags: [custom]
  script: [echo "on the machine in $PWD"]
fail:
  tags: [custom]
  script: [echo "tests went red", exit 1]
no-machine:
  tags: [custom]
  variables: {MACHINE_CREATION_FAIL: "1"}
  script: [echo never]
`,
    );
    await expectJob(api, jobs['pass'], {
      status: 'success',
      trace: [
        'Using Custom executor with driver tempdir-machine v1.0.0',
        'Machine ready',
        /on the machine in .*faultline-machine-\d+\/builds/,
      ],
    });
    await expectJob(api, jobs['fail'], {
      status: 'failed',
      reason: 'script_failure',
      stage: 'step_script',
      cls: 'build',
      exit: 1,
      trace: ['tests went red'],
    });
    await expectJob(api, jobs['no-machine'], {
      status: 'failed',
      reason: 'runner_system_failure',
      stage: 'prepare_executor',
      cls: 'infra',
      cause: 'machine_creation_failed',
      rule: true,
      trace: ['ERROR: Machine creation failed'],
    });
    assert.match(jobs['no-machine']!.failure!.message ?? '', /Machine creation failed/);
    assert.doesNotMatch(await api.trace(jobs['no-machine']!.id), /^never$/m, 'the script never ran');
    assert.equal(p.failure_class, 'build');
  });

  test('kubernetes executor: pod runs, pod never ready, ErrImagePull (fake Kubernetes API)', async () => {
    const job = (name: string) => `${name}:\n  tags: [kubernetes]\n  image: ${KUBE_IMAGE}\n  script: [echo "pod says hi"]\n`;

    const ok = await run(api, job('pod-runs'));
    await expectJob(api, ok.jobs['pod-runs'], {
      status: 'success',
      trace: [
        `Using Kubernetes executor with image ${KUBE_IMAGE} ...`,
        'Using Kubernetes namespace: ci',
        /Waiting for pod ci\/runner-job-\d+-step-script-\w+ to be running/,
        'pod says hi',
      ],
    });

    // The node never gets the containers ready: poll_timeout (2s) passes.
    kube.node.stuckCreating = true;
    let stuck: Awaited<ReturnType<typeof run>>;
    try {
      stuck = await run(api, job('never-ready'));
    } finally {
      kube.node.stuckCreating = false;
    }
    await expectJob(api, stuck.jobs['never-ready'], {
      status: 'failed',
      reason: 'runner_system_failure',
      stage: 'prepare_executor',
      cls: 'infra',
      cause: 'pod_not_ready',
      rule: true,
    });
    assert.match(stuck.jobs['never-ready']!.failure!.message ?? '', /timed out waiting for pod to start: ContainersNotReady/);
    assert.equal(stuck.p.failure_class, 'infra');

    // The cluster's registry refuses connections: ErrImagePull → ImagePullBackOff.
    kube.node.registryDown = true;
    let down: Awaited<ReturnType<typeof run>>;
    try {
      down = await run(api, job('pull-fails'));
    } finally {
      kube.node.registryDown = false;
    }
    const downTrace = await expectJob(api, down.jobs['pull-fails'], {
      status: 'failed',
      reason: 'image_pull_failure',
      stage: 'pull_image',
      cls: 'infra',
      cause: 'registry_unreachable',
      rule: true,
      trace: [
        'Using effective pull policy of [always] for container build',
        /Failed to pull image "registry\.internal:5000\/tools\/busybox:1\.36" for container "build" with policy "always": ErrImagePull: .*connection refused/,
      ],
    });
    assert.doesNotMatch(downTrace, /Attempt #2/);
    assert.equal(down.jobs['pull-fails']!.failure!.registry, 'registry.internal:5000');
    assert.equal(down.p.failure_class, 'infra');
    assert.deepEqual(kube.livePods(), [], 'every pod of the jobs was deleted');
  });

  test('examples/config.toml parses: shell, docker (always → if-not-present), kubernetes, custom', () => {
    const specs = loadRunnerConfig(join(ROOT, 'examples/config.toml'));
    assert.deepEqual(
      specs.map((s) => s.executor),
      ['shell', 'docker', 'kubernetes', 'custom'],
    );
    const docker = specs.find((s) => s.executor === 'docker')!;
    assert.deepEqual((docker.executorConfig as { pull_policy: string[] }).pull_policy, ['always', 'if-not-present']);
    for (const s of specs) {
      assert.ok((s.tags ?? []).length > 0, `${s.name} has tags`);
      assert.ok((s.concurrency ?? 0) >= 1, `${s.name} concurrency`);
    }
  });
});
