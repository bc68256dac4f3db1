/**
 * A registry outage through the whole system: a real docker-registry and podman (via
 * test/helpers/container-infra.ts), a real runner with the docker executor, a real
 * coordinator. Shared by the incident/MTTR test and the dashboard-query proof.
 *
 *   1. registry DOWN, job with pull_policy always → image_pull_failure, classified
 *      infra/registry_unreachable → incident (registry_unreachable, 127.0.0.1:<port>) opens
 *   2. registry UP, next job pulls successfully → the incident resolves; the same
 *      pipeline has a build failure (test output, exit 1) → the ref stays broken
 *   3. a green pipeline → the ref recovers (pipeline MTTR)
 */
import assert from 'node:assert/strict';
import type { ContainerInfra } from '../helpers/container-infra.js';
import type { userApi } from '../helpers/system.js';
import type { PipelineJson } from '../../src/protocol/user-api.js';

export type Api = ReturnType<typeof userApi>;

export const dockerRunnerConfig = (infra: ContainerInfra) => ({
  host: infra.dockerHost,
  allowed_pull_policies: ['always', 'if-not-present', 'never'],
  // Two tries per policy, quickly: each try is one pull_image span and one pull record.
  pull_retry: { attempts: 2, backoffMs: 50 },
});

const imageJob = (infra: ContainerInfra, name: string, script: string[]) =>
  `${name}:\n  image:\n    name: ${infra.image}\n    pull_policy: always\n  script:\n${script.map((l) => `    - ${JSON.stringify(l)}\n`).join('')}`;

export interface RegistryScenario {
  outage: PipelineJson;
  recovered: PipelineJson;
  green: PipelineJson;
  /** Time the registry was down, between the failed pull and the restart. */
  downMs: number;
}

export interface ScenarioHooks {
  /** Runs while the registry is down and the incident is open (assertions, waiting for scrapes). */
  whileDown?(): Promise<void>;
  /** Failing pipelines during the outage (default 1), `pauseMs` apart (so scrapes see counters grow). */
  outageRuns?: number;
  pauseMs?: number;
}

export async function runRegistryScenario(
  api: Api,
  infra: ContainerInfra,
  idle: () => Promise<void>,
  hooks: ScenarioHooks = {},
  project = 'acme/registry',
): Promise<RegistryScenario> {
  const run = async (yaml: string) => {
    const p = await api.createPipeline(yaml, { ref: 'main', project });
    const done = await api.waitPipeline(p.id, undefined, 120_000);
    await idle();
    return done;
  };
  await infra.stopRegistry();
  const downAt = Date.now();
  const outage = await run(imageJob(infra, 'pull', ['echo pulled']));
  for (let i = 1; i < (hooks.outageRuns ?? 1); i++) {
    await new Promise((r) => setTimeout(r, hooks.pauseMs ?? 0));
    assert.equal((await run(imageJob(infra, 'pull', ['echo pulled']))).failure_class, 'infra');
  }
  assert.equal(outage.status, 'failed');
  const f = outage.jobs![0]!.failure!;
  assert.deepEqual(
    [f.reason, f.class, f.cause, f.registry],
    ['image_pull_failure', 'infra', 'registry_unreachable', infra.registry],
    JSON.stringify(f),
  );
  await hooks.whileDown?.();
  await infra.startRegistry();
  const downMs = Date.now() - downAt;

  const recovered = await run(
    imageJob(infra, 'pull', ['echo pulled']) +
      imageJob(infra, 'unit', ["echo 'FAIL src/sum.test.js'", "echo 'Tests:       1 failed, 3 passed, 4 total'", 'exit 1']),
  );
  assert.equal(recovered.status, 'failed');
  assert.equal(recovered.failure_class, 'build');
  const green = await run(imageJob(infra, 'pull', ['echo pulled']));
  assert.equal(green.status, 'success');
  return { outage, recovered, green, downMs };
}
