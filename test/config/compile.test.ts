import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compilePipeline } from '../../src/config/index.js';
import type { JobSpec, PipelineModel } from '../../src/pipeline/model.js';

const realistic = readFileSync(new URL('./fixtures/realistic.gitlab-ci.yml', import.meta.url), 'utf8');

function compileOk(yaml: string, predefined: Record<string, string> = {}, variables: Record<string, string> = {}): PipelineModel {
  const r = compilePipeline(yaml, { predefined, variables });
  if (!r.ok) assert.fail(`expected ok, got errors:\n${r.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n')}`);
  return r.model;
}

function job(m: PipelineModel, name: string): JobSpec {
  const j = m.jobs.find((x) => x.name === name);
  assert.ok(j, `job ${name} missing; have ${m.jobs.map((x) => x.name).join(', ')}`);
  return j;
}

const NODE_IMAGE = { name: 'node:20-bookworm', pull_policy: [] };
const NPM_BEFORE = ['npm ci --cache .npm --prefer-offline', 'echo "node $(node --version)"'];
const DEFAULT_RETRY = { max: 2, when: ['runner_system_failure', 'stuck_or_timeout_failure'] };
const GLOBALS_MAIN = { NODE_VERSION: '20', DOCKER_DRIVER: 'overlay2', LOG_LEVEL: 'debug', DEPLOY_TOKEN: 's3cr3t' };
const NPM_CACHE: JobSpec['cache'] = [
  { key: 'npm', files: null, prefix: null, paths: ['.npm/'], untracked: false, policy: 'pull-push', when: 'on_success', fallback_keys: [] },
];
const PASS = { success: 'continue', failure: 'fail_pipeline', exit_codes: {} } as const;

describe('realistic .gitlab-ci.yml', () => {
  test('push to the default branch compiles to the expected model', () => {
    const full = compileOk(realistic, { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_BRANCH: 'main', CI_DEFAULT_BRANCH: 'main' });
    // Artifacts are checked on their own below (test/config/artifacts.test.ts has the details).
    const build = full.jobs.find((j) => j.name === 'build')!;
    assert.deepEqual(build.artifacts?.paths, ['dist/']);
    assert.equal(build.artifacts?.expire_in_seconds, 7 * 86400);
    const m = { ...full, jobs: full.jobs.map(({ artifacts: _a, artifact_dependencies: _d, ...rest }) => rest) };
    const expected: PipelineModel = {
      stages: ['build', 'test', 'deploy'],
      variables: GLOBALS_MAIN, // workflow rule variables override LOG_LEVEL
      masked_variables: ['DEPLOY_TOKEN'],
      warnings: m.warnings,
      jobs: [
        {
          name: 'build',
          stage: 'build',
          stage_index: 0,
          image: NODE_IMAGE,
          before_script: NPM_BEFORE,
          script: ['npm run build'],
          after_script: [],
          needs: null,
          when: 'on_success',
          manual: null,
          on_status: PASS,
          interruptible: true,
          timeout_seconds: 3600,
          after_script_timeout_seconds: 300,
          retry: DEFAULT_RETRY as JobSpec['retry'],
          tags: ['linux', 'docker'],
          variables: { ...GLOBALS_MAIN, NODE_ENV: 'test' },
          cache: NPM_CACHE,
          line: 56,
        },
        {
          name: 'lint',
          stage: 'test',
          stage_index: 1,
          image: NODE_IMAGE,
          before_script: NPM_BEFORE,
          script: ['npm run lint'],
          after_script: [],
          needs: [],
          when: 'on_success',
          manual: null,
          on_status: { ...PASS, failure: 'warn' },
          interruptible: true,
          timeout_seconds: 3600,
          after_script_timeout_seconds: 300,
          retry: DEFAULT_RETRY as JobSpec['retry'],
          tags: ['linux', 'docker'],
          variables: { ...GLOBALS_MAIN, NODE_ENV: 'test' },
          cache: NPM_CACHE,
          line: 65,
        },
        {
          name: 'unit',
          stage: 'test',
          stage_index: 1,
          image: NODE_IMAGE,
          before_script: NPM_BEFORE,
          script: ['npm test -- --reporter=junit'],
          after_script: [],
          needs: ['build'],
          when: 'on_success',
          manual: null,
          on_status: PASS,
          interruptible: true,
          timeout_seconds: 1800,
          after_script_timeout_seconds: 300,
          retry: DEFAULT_RETRY as JobSpec['retry'],
          tags: ['linux', 'docker'],
          variables: { ...GLOBALS_MAIN, NODE_ENV: 'ci' },
          cache: NPM_CACHE,
          line: 72,
        },
        {
          name: 'deploy',
          stage: 'deploy',
          stage_index: 2,
          image: { name: 'alpine:3.20', pull_policy: [] },
          before_script: [],
          script: ['./deploy.sh "$DEPLOY_TOKEN"'],
          after_script: [],
          needs: null,
          when: 'manual',
          manual: 'required',
          on_status: { ...PASS, exit_codes: { '3': 'pass_pipeline' } },
          interruptible: false,
          timeout_seconds: 5400,
          after_script_timeout_seconds: 300,
          retry: DEFAULT_RETRY as JobSpec['retry'],
          tags: ['deploy'],
          cache: NPM_CACHE,
          line: 115,
          variables: {
            CI_ENVIRONMENT_NAME: 'production',
            CI_ENVIRONMENT_SLUG: 'production',
            CI_ENVIRONMENT_ACTION: 'start',
            CI_ENVIRONMENT_TIER: 'production',
            ...GLOBALS_MAIN,
          },
        },
      ],
    };
    assert.deepEqual(m, expected);
  });

  test('unsupported keys give one warning each, with positions', () => {
    const r = compilePipeline(realistic, {
      predefined: { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_BRANCH: 'main', CI_DEFAULT_BRANCH: 'main' },
    });
    assert.ok(r.ok);
    assert.deepEqual(
      r.warnings.map((w) => [w.path, w.line, w.column, w.message]),
      [['unit.coverage', 79, 3, 'unit.coverage: not supported by faultline; ignored: the coverage value is not extracted from the log']],
    );
    assert.deepEqual(r.model.warnings, r.warnings);
  });

  test('merge request pipeline: rules pick e2e (manual), drop deploy and docs; optional need dropped', () => {
    const m = compileOk(realistic, {
      CI_PIPELINE_SOURCE: 'merge_request_event',
      CI_COMMIT_BRANCH: 'release/1.2',
      CI_DEFAULT_BRANCH: 'main',
    });
    assert.deepEqual(
      m.jobs.map((j) => j.name),
      ['build', 'lint', 'unit', 'e2e'],
    );
    assert.equal(m.variables.LOG_LEVEL, 'info');
    const e2e = job(m, 'e2e');
    assert.equal(e2e.when, 'manual');
    // GitLab: `when: manual` in rules defaults allow_failure to false, so the job blocks.
    assert.equal(e2e.manual, 'required');
    assert.deepEqual(e2e.needs, ['build']);
    assert.deepEqual(e2e.on_status, { success: 'continue', failure: 'fail_pipeline', exit_codes: { '42': 'warn' } });
    assert.deepEqual(e2e.image, { name: 'mcr.microsoft.com/playwright:v1.45.0', pull_policy: ['always', 'if-not-present'] });
    assert.deepEqual(e2e.retry, { max: 1, when: ['always'] });
    assert.equal(e2e.after_script_timeout_seconds, 120);
    assert.deepEqual(e2e.after_script, ['./collect-traces.sh']);
  });

  test('tag pipeline includes docs; pipeline variables override YAML in rules', () => {
    const m = compileOk(realistic, { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_TAG: 'v1.0', CI_DEFAULT_BRANCH: 'main' });
    assert.ok(m.jobs.some((j) => j.name === 'docs'));
    const m2 = compileOk(realistic, { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_BRANCH: 'feature' }, { CI_COMMIT_TAG: 'v2' });
    assert.ok(m2.jobs.some((j) => j.name === 'docs'));
  });

  test('workflow rule when: never refuses the pipeline with a clear error', () => {
    const r = compilePipeline(realistic, {
      predefined: { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_BRANCH: 'feature', CI_DEFAULT_BRANCH: 'main' },
    });
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.deepEqual(r.errors, [
      {
        path: 'workflow.rules[3]',
        line: 28,
        column: 7,
        message: 'workflow.rules[3]: this rule matched and says when: never, so no pipeline is created',
        code: 'no_pipeline',
      },
    ]);
  });
});

describe('semantics', () => {
  const cases: { name: string; yaml: string; check: (m: PipelineModel) => void; predefined?: Record<string, string> }[] = [
    {
      name: 'default stages with .pre/.post; default stage is test',
      yaml: 'z:\n  stage: .post\n  script: z\na:\n  script: a\np:\n  stage: .pre\n  script: p\nd:\n  stage: deploy\n  script: d\n',
      check: (m) => {
        assert.deepEqual(m.stages, ['.pre', 'test', 'deploy', '.post']);
        assert.deepEqual(
          m.jobs.map((j) => [j.name, j.stage, j.stage_index]),
          [
            ['z', '.post', 3],
            ['a', 'test', 1],
            ['p', '.pre', 0],
            ['d', 'deploy', 2],
          ],
        );
      },
    },
    {
      name: 'user stages keep .pre first and .post last',
      yaml: 'stages: [.post, b, .pre, a]\nx:\n  stage: .pre\n  script: x\ny:\n  stage: .post\n  script: y\nw:\n  stage: a\n  script: w\n',
      check: (m) => assert.deepEqual(m.stages, ['.pre', 'a', '.post']),
    },
    {
      name: 'extends: multi-level, list order, deep-merged maps, replaced lists',
      yaml: [
        '.a:',
        '  variables: {A: a, B: a}',
        '  tags: [one, two]',
        '  script: [a]',
        '.b:',
        '  extends: .a',
        '  variables: {B: b}',
        '  timeout: 10m',
        '.c:',
        '  variables: {C: c}',
        '  tags: [three]',
        'j:',
        '  extends: [.b, .c]',
        '  variables: {D: d}',
        '',
      ].join('\n'),
      check: (m) => {
        const j = job(m, 'j');
        assert.deepEqual(j.variables, { A: 'a', B: 'b', C: 'c', D: 'd' });
        assert.deepEqual(j.tags, ['three']);
        assert.deepEqual(j.script, ['a']);
        assert.equal(j.timeout_seconds, 600);
      },
    },
    {
      name: 'anchors, aliases and merge keys',
      yaml: '.t: &t\n  script: [x]\n  tags: [t]\nj:\n  <<: *t\n  tags: [own]\nk:\n  <<: *t\n',
      check: (m) => {
        assert.deepEqual(job(m, 'j').tags, ['own']);
        assert.deepEqual(job(m, 'k').tags, ['t']);
        assert.deepEqual(job(m, 'k').script, ['x']);
      },
    },
    {
      name: '!reference in scripts, nested lists flattened',
      yaml: '.setup:\n  script: [s1, s2]\n  vars: {X: "1"}\nj:\n  before_script:\n    - !reference [.setup, script]\n    - b\n  script: [[a, [b]], c]\n  variables: !reference [.setup, vars]\n',
      check: (m) => {
        const j = job(m, 'j');
        assert.deepEqual(j.before_script, ['s1', 's2', 'b']);
        assert.deepEqual(j.script, ['a', 'b', 'c']);
        assert.equal(j.variables.X, '1');
      },
    },
    {
      name: 'manual modes',
      yaml: [
        'a:',
        '  script: x',
        '  when: manual',
        'b:',
        '  script: x',
        '  when: manual',
        '  allow_failure: false',
        'c:',
        '  script: x',
        '  when: manual',
        '  manual: optional',
        'd:',
        '  script: x',
        '  needs: []',
        '  when: manual',
        '  allow_failure: true',
        '',
      ].join('\n'),
      check: (m) => {
        assert.deepEqual(
          m.jobs.map((j) => [j.name, j.when, j.manual, j.on_status.failure]),
          [
            ['a', 'manual', 'ignored', 'warn'],
            ['b', 'manual', 'required', 'fail_pipeline'],
            ['c', 'manual', 'optional', 'fail_pipeline'],
            ['d', 'manual', 'ignored', 'warn'],
          ],
        );
      },
    },
    {
      name: 'on_status and allow_failure combine when they agree',
      yaml: 'a:\n  script: x\n  allow_failure: {exit_codes: 2}\n  on_status:\n    success: pass_pipeline\n    failure: warn\n    exit_codes: {2: warn, 7: fail_pipeline}\nb:\n  script: x\n  allow_failure: true\n  on_status: {failure: warn}\n',
      check: (m) => {
        assert.deepEqual(job(m, 'a').on_status, {
          success: 'pass_pipeline',
          failure: 'warn',
          exit_codes: { '2': 'warn', '7': 'fail_pipeline' },
        });
        assert.deepEqual(job(m, 'b').on_status, { success: 'continue', failure: 'warn', exit_codes: {} });
      },
    },
    {
      name: 'when: never; rules variables and rule-level overrides',
      yaml: [
        'variables: {V: g}',
        'gone:',
        '  script: x',
        '  when: never',
        'later:',
        '  script: x',
        '  when: on_success',
        'r:',
        '  script: x',
        '  interruptible: true',
        '  rules:',
        '    - if: $NOPE',
        '      when: never',
        '    - if: $V == "g"',
        '      variables: {V: rule}',
        '      allow_failure: true',
        '      interruptible: graceful',
        '      needs: [later]',
        '',
        '',
      ].join('\n'),
      check: (m) => {
        assert.deepEqual(
          m.jobs.map((j) => j.name),
          ['later', 'r'],
        );
        assert.equal(job(m, 'later').when, 'on_success');
        const r = job(m, 'r');
        assert.equal(r.variables.V, 'rule');
        assert.equal(m.variables.V, 'g');
        assert.equal(r.on_status.failure, 'warn');
        assert.equal(r.interruptible, 'graceful');
        assert.deepEqual(r.needs, ['later']);
      },
    },
    {
      name: 'defaults: timeout, retry, image, scripts; job values win',
      yaml: 'default:\n  image: {name: alpine, pull_policy: never}\n  timeout: 2h\n  after_script_timeout: 1m\n  retry: 1\n  before_script: echo hi\n  after_script: [bye]\na:\n  script: x\nb:\n  image: debian\n  timeout: 90 minutes\n  retry: {max: 2, when: infrastructure}\n  before_script: []\n  script: x\n',
      check: (m) => {
        const a = job(m, 'a');
        assert.deepEqual(a.image, { name: 'alpine', pull_policy: ['never'] });
        assert.equal(a.timeout_seconds, 7200);
        assert.equal(a.after_script_timeout_seconds, 60);
        assert.deepEqual(a.retry, { max: 1, when: ['always'] });
        assert.deepEqual(a.before_script, ['echo hi']);
        assert.deepEqual(a.after_script, ['bye']);
        const b = job(m, 'b');
        assert.deepEqual(b.image, { name: 'debian', pull_policy: [] });
        assert.equal(b.timeout_seconds, 5400);
        assert.deepEqual(b.retry, { max: 2, when: ['infrastructure'] });
        assert.deepEqual(b.before_script, []);
      },
    },
    {
      name: 'legacy top-level image/before_script act as defaults (with a warning)',
      yaml: 'image: ruby:3\nbefore_script: [bundle]\nj:\n  script: x\n',
      check: (m) => {
        assert.deepEqual(job(m, 'j').image, { name: 'ruby:3', pull_policy: [] });
        assert.deepEqual(job(m, 'j').before_script, ['bundle']);
        assert.ok(m.warnings.some((w) => w.path === 'image' && /deprecated/.test(w.message)));
      },
    },
    {
      name: 'variable values: numbers, booleans, {value}, masked in jobs',
      yaml: 'variables:\n  N: 1.5\n  B: true\n  D: {description: only a description}\nj:\n  script: x\n  variables:\n    T: {value: tok, masked: true}\n',
      check: (m) => {
        assert.deepEqual(m.variables, { N: '1.5', B: 'true', D: '' });
        assert.equal(job(m, 'j').variables.T, 'tok');
        assert.deepEqual(m.masked_variables, ['T']);
      },
    },
    {
      name: 'optional need on a job excluded by rules is dropped',
      yaml: 'a:\n  script: x\n  rules: [{if: $X}]\nb:\n  script: x\n  needs: [{job: a, optional: true}]\n',
      check: (m) => assert.deepEqual(job(m, 'b').needs, []),
    },
  ];
  for (const c of cases) test(c.name, () => c.check(compileOk(c.yaml, c.predefined)));
});
