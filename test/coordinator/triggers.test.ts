/**
 * trigger: jobs through the coordinator's HTTP API (real coordinator, real git repository, a fake
 * GitLab REST API on loopback — test/fakes/gitlab-api.ts serves files and templates the way
 * GitLab's repository files and templates APIs do). Written from GitLab's downstream pipelines
 * documentation (docs.gitlab.com/ee/ci/pipelines/downstream_pipelines.html: "canceling the parent
 * pipeline cancels its child pipelines"; `trigger: include:` with `project`/`file`/`ref` and
 * `template`, docs.gitlab.com/ee/ci/yaml/#triggerinclude).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import type { PipelineJson } from '../../src/protocol/user-api.js';
import { startFakeGitLab, type FakeGitLab } from '../fakes/gitlab-api.js';
import { tempDir } from '../helpers/tmp.js';
import { byName, forEachCoordinatorEngine, type Harness } from './helpers.js';

const TOKEN = 'glpat-triggers';

function repo(dir: string, files: Record<string, string>): string {
  mkdirSync(dir, { recursive: true });
  for (const [p, t] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), t);
  }
  const git = (...a: string[]) => execFileSync('git', a, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'c');
  return git('rev-parse', 'HEAD');
}

/** The child pipeline a trigger job created, once it exists. */
async function childOf(h: Harness, pipelineId: number, trigger: string): Promise<PipelineJson> {
  const id = await h.waitFor(async () => byName(await h.pipeline(pipelineId))[trigger]?.downstream_pipeline_id, 30_000);
  return h.pipeline(id);
}

let gl: FakeGitLab;
before(async () => {
  gl = await startFakeGitLab({
    token: TOKEN,
    projects: {
      'platform/pipelines': {
        main: { 'deploy/child.yml': 'deploy-main:\n  script: echo main\n' },
        'v2.1': {
          'deploy/child.yml': 'include: deploy/more.yml\ndeploy-v2:\n  script: echo v2\n',
          'deploy/more.yml': 'smoke-v2:\n  script: echo smoke\n',
        },
      },
    },
    templates: { 'Jobs/Security-Child': 'scan:\n  script: echo scan\n' },
  });
});
after(() => gl.close());

forEachCoordinatorEngine('trigger jobs and child pipelines', (harness) => {
  test('cancel of a pipeline whose trigger job is running cancels the child pipeline and its jobs', async () => {
    const d = tempDir();
    const h = await harness();
    try {
      const ci = 'deploy:\n  trigger:\n    include: child.yml\n    strategy: depend\nunit:\n  script: sleep 100\n';
      const sha = repo(d.path, { '.gitlab-ci.yml': ci, 'child.yml': 'long:\n  script: sleep 100\nother:\n  script: sleep 100\n' });
      const p = await h.createPipeline(ci, { repository: { url: d.path, sha } });
      const child = await childOf(h, p.id, 'deploy');
      assert.equal(byName(await h.pipeline(p.id)).deploy!.status, 'running');
      assert.deepEqual(Object.keys(byName(child)).sort(), ['long', 'other']);
      assert.notEqual(child.status, 'canceled');

      const r = await h.api('POST', `/api/v1/pipelines/${p.id}/cancel`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const done = await h.waitFor(async () => {
        const c = await h.pipeline(child.id);
        return c.status === 'canceled' ? c : null;
      }, 30_000);
      for (const j of Object.values(byName(done))) assert.equal(j.status, 'canceled', j.name);
      const parent = await h.waitFor(async () => {
        const x = await h.pipeline(p.id);
        return x.status === 'canceled' ? x : null;
      }, 30_000);
      assert.equal(byName(parent).deploy!.status, 'canceled');
    } finally {
      await h.close();
      d.dispose();
    }
  });

  test('trigger: include: project/file/ref and template resolve through the fake GitLab API (token sent, nested includes in that project)', async () => {
    const h = await harness({ gitlab: { url: gl.url, token: TOKEN } });
    try {
      const ci = [
        'pinned:',
        '  trigger:',
        '    include:',
        '      - project: platform/pipelines',
        '        ref: v2.1',
        '        file: deploy/child.yml',
        'latest:',
        '  trigger:',
        '    include:',
        '      - project: platform/pipelines',
        '        file: deploy/child.yml',
        'security:',
        '  trigger:',
        '    include:',
        '      - template: Jobs/Security-Child.gitlab-ci.yml',
        'missing:',
        '  trigger:',
        '    include:',
        '      - project: platform/pipelines',
        '        file: deploy/nope.yml',
        '',
      ].join('\n');
      const p = await h.createPipeline(ci);
      assert.deepEqual(Object.keys(byName(await childOf(h, p.id, 'pinned'))).sort(), ['deploy-v2', 'smoke-v2']);
      assert.deepEqual(Object.keys(byName(await childOf(h, p.id, 'latest'))), ['deploy-main']);
      assert.deepEqual(Object.keys(byName(await childOf(h, p.id, 'security'))), ['scan']);
      const reqs = gl.requests.join('\n');
      assert.match(
        reqs,
        /GET \/api\/v4\/projects\/platform%2Fpipelines\/repository\/files\/deploy%2Fchild\.yml\/raw\?ref=v2\.1 token=glpat-triggers/,
      );
      assert.match(
        reqs,
        /GET \/api\/v4\/projects\/platform%2Fpipelines\/repository\/files\/deploy%2Fmore\.yml\/raw\?ref=v2\.1 token=glpat-triggers/,
      );
      assert.match(reqs, /GET \/api\/v4\/templates\/gitlab_ci_ymls\/Jobs%2FSecurity-Child token=glpat-triggers/);
      // A file the project does not have: the trigger job fails, the developers' to fix, naming the file.
      const missing = await h.waitFor(async () => {
        const j = byName(await h.pipeline(p.id)).missing!;
        return j.status === 'failed' && j.failure ? j : null;
      }, 30_000);
      assert.equal(missing.failure!.reason, 'downstream_pipeline_creation_failed');
      assert.equal(missing.failure!.class, 'build');
      assert.match(missing.failure!.summary, /deploy\/nope\.yml/);
    } finally {
      await h.close();
    }
  });
});
