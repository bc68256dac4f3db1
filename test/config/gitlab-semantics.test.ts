/**
 * GitLab semantics that used to differ silently: only/except, rules: changes/exists,
 * rules with when: manual, parallel, inherit, environment, dependencies, and the
 * fail-closed keyword table. Each case is written from GitLab's keyword reference
 * (https://docs.gitlab.com/ee/ci/yaml/).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compilePipeline, wantKey, type CommitFacts } from '../../src/config/index.js';
import { environmentSlug } from '../../src/config/environment.js';
import type { PipelineModel } from '../../src/pipeline/model.js';

const push = (branch: string, extra: Record<string, string> = {}) => ({
  CI_PIPELINE_SOURCE: 'push',
  CI_COMMIT_BRANCH: branch,
  CI_COMMIT_REF_NAME: branch,
  CI_DEFAULT_BRANCH: 'main',
  CI_PROJECT_PATH: 'group/app',
  ...extra,
});
const tagPipeline = (tag: string) => ({
  CI_PIPELINE_SOURCE: 'push',
  CI_COMMIT_TAG: tag,
  CI_COMMIT_REF_NAME: tag,
  CI_DEFAULT_BRANCH: 'main',
});
const mr = { CI_PIPELINE_SOURCE: 'merge_request_event', CI_COMMIT_REF_NAME: 'feat', CI_DEFAULT_BRANCH: 'main' };

function names(yaml: string, predefined: Record<string, string>, commit?: CommitFacts, variables: Record<string, string> = {}): string[] {
  const r = compilePipeline(yaml, { predefined, variables, ...(commit ? { commit } : {}) });
  if (!r.ok) {
    if (r.errors.length === 1 && /no jobs are left/.test(r.errors[0]!.message)) return [];
    assert.fail(r.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n'));
  }
  return r.model.jobs.map((j) => j.name);
}
function model(yaml: string, predefined: Record<string, string> = push('main'), commit?: CommitFacts): PipelineModel {
  const r = compilePipeline(yaml, { predefined, ...(commit ? { commit } : {}) });
  if (!r.ok) assert.fail(r.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n'));
  return r.model;
}
function errors(yaml: string, predefined: Record<string, string> = push('main')): string[] {
  const r = compilePipeline(yaml, { predefined });
  assert.equal(r.ok, false, 'expected a refusal');
  return r.ok ? [] : r.errors.map((e) => `${e.line}:${e.column} ${e.message}`);
}

describe('only / except', () => {
  const yaml = [
    'always: {script: x}',
    'deploy-prod: {script: echo DEPLOYING TO PRODUCTION, only: [main]}',
    'release: {script: x, only: [tags]}',
    'branches-only: {script: x, only: [branches]}',
    'not-main: {script: x, except: [main]}',
    'rx: {script: x, only: [/^release\\/.*$/]}',
    'mrs: {script: x, only: [merge_requests]}',
    'sched: {script: x, only: [schedules]}',
    'proj: {script: x, only: [main@group/app]}',
    'other-proj: {script: x, only: [main@group/other]}',
    '',
  ].join('\n');
  const cases: [string, Record<string, string>, string[]][] = [
    ['push to main', push('main'), ['always', 'deploy-prod', 'branches-only', 'proj']],
    ['push to a feature branch: deploy-prod does not run', push('feature/x'), ['always', 'branches-only', 'not-main']],
    ['push to release/1.0 (regex)', push('release/1.0'), ['always', 'branches-only', 'not-main', 'rx']],
    ['tag pipeline', tagPipeline('v1.0'), ['always', 'release', 'not-main']],
    // GitLab: jobs without rules/only default to only: [branches, tags]; an MR pipeline has neither.
    ['merge request pipeline', mr, ['mrs']],
    [
      'scheduled pipeline on main',
      { ...push('main'), CI_PIPELINE_SOURCE: 'schedule' },
      ['always', 'deploy-prod', 'branches-only', 'sched', 'proj'],
    ],
  ];
  for (const [name, ctx, want] of cases) test(name, () => assert.deepEqual(names(yaml, ctx), want));

  test('variables: any expression; refs AND variables; except: any key', () => {
    const y = [
      'a: {script: x, only: {variables: [$DEPLOY == "yes", $FORCE]}}',
      'b: {script: x, only: {refs: [main], variables: [$DEPLOY == "yes"]}}',
      'c: {script: x, except: {refs: [main], variables: [$SKIP]}}',
      '',
    ].join('\n');
    assert.deepEqual(names(y, push('main'), undefined, { DEPLOY: 'yes' }), ['a', 'b']);
    assert.deepEqual(names(y, push('dev'), undefined, { DEPLOY: 'yes' }), ['a', 'c']);
    assert.deepEqual(names(y, push('dev'), undefined, { SKIP: '1' }), []);
  });

  test('changes: against the push diff; true without one (tags, schedules)', () => {
    const y = 'docs: {script: x, only: {changes: ["docs/**/*"]}}\ncode: {script: x, except: {changes: ["docs/**/*"]}}\n';
    const commit = { files: ['docs/a/b.md', 'src/x.ts'], changed: ['docs/a/b.md'] };
    assert.deepEqual(names(y, push('main'), commit), ['docs']);
    assert.deepEqual(names(y, push('main'), { ...commit, changed: ['src/x.ts'] }), ['code']);
    assert.deepEqual(names(y, { ...push('main'), CI_PIPELINE_SOURCE: 'schedule' }, commit), ['docs']);
    assert.deepEqual(names(y, push('main'), { ...commit, changed: null }), ['docs']);
  });

  test('kubernetes: active never holds here, with a warning', () => {
    const r = compilePipeline('k: {script: x, only: {kubernetes: active}}\nb: {script: x}\n', { predefined: push('main') });
    assert.ok(r.ok);
    assert.deepEqual(
      r.model.jobs.map((j) => j.name),
      ['b'],
    );
    assert.match(r.warnings.map((w) => w.message).join('\n'), /no Kubernetes integration/);
  });

  test('only/except together with rules is refused', () => {
    assert.match(errors('a: {script: x, only: [main], rules: [{when: always}]}\n').join('\n'), /cannot be used together with rules/);
  });
});

describe('rules: changes / exists against the commit', () => {
  const commit: CommitFacts = { files: ['Dockerfile', 'src/app.ts', 'docs/index.md', '.hidden/x'], changed: ['src/app.ts'] };
  const y = [
    'img: {script: x, rules: [{exists: [Dockerfile]}]}',
    'no-helm: {script: x, rules: [{exists: {paths: ["chart/**"]}}]}',
    'src: {script: x, rules: [{changes: ["src/**/*.ts"]}]}',
    'docs: {script: x, rules: [{changes: {paths: ["docs/*"]}}]}',
    'both: {script: x, rules: [{if: $CI_COMMIT_BRANCH == "main", changes: [src/*], exists: [".hidden/*"]}]}',
    'expanded: {script: x, variables: {DIR: src}, rules: [{changes: ["$DIR/*"]}]}',
    '',
  ].join('\n');
  test('push: changes compares with the parent, exists looks at the commit', () => {
    assert.deepEqual(names(y, push('main'), commit), ['img', 'src', 'both', 'expanded']);
  });
  test('no diff (web, schedule, a new branch): changes holds, as GitLab', () => {
    assert.deepEqual(names(y, { ...push('main'), CI_PIPELINE_SOURCE: 'web' }, commit), ['img', 'src', 'docs', 'both', 'expanded']);
    assert.deepEqual(names(y, push('main'), { ...commit, changed: null }), ['img', 'src', 'docs', 'both', 'expanded']);
  });
  test('without the commit, exists matches nothing and says so', () => {
    const r = compilePipeline(y, { predefined: push('main') });
    assert.ok(r.ok);
    assert.deepEqual(
      r.model.jobs.map((j) => j.name),
      ['src', 'docs', 'both', 'expanded'].filter((n) => n !== 'both'),
    );
    assert.match(r.warnings.map((w) => w.message).join('\n'), /exists: matches nothing/);
  });
  // docs.gitlab.com/ee/ci/yaml/#ruleschangescompare_to and #rulesexistsproject: the compiler does no
  // I/O, so it asks (ConfigError.want) and the caller answers (CompileOptions.lookups).
  const lookupYaml =
    'variables: {BASE: main}\n' +
    'a: {script: x, rules: [{changes: {paths: [src/*], compare_to: refs/heads/$BASE}}]}\n' +
    'b: {script: x, rules: [{exists: {paths: [Dockerfile], project: g/p, ref: v1.0.0}}]}\n' +
    'c: {script: x, rules: [{if: $NOPE, changes: {paths: [x], compare_to: other}}]}\n' +
    'd: {script: x}\n';
  test('compare_to and exists: project ask the caller, naming what they need', () => {
    const r = compilePipeline(lookupYaml, { predefined: push('main') });
    assert.equal(r.ok, false);
    const wants = r.ok ? [] : r.errors.map((e) => e.want);
    // compare_to expands variables (GitLab 17.2); c's if: is false, so its compare_to is never asked for.
    assert.deepEqual(wants, [
      { kind: 'changed_since', ref: 'refs/heads/main' },
      { kind: 'project_files', project: 'g/p', ref: 'v1.0.0' },
    ]);
    assert.match(r.ok ? '' : r.errors[0]!.message, /^a\.rules\[0\]: rules:changes:compare_to `refs\/heads\/main` cannot be evaluated here/);
  });
  test('answered: compare_to diffs since the merge base (whatever the source), exists looks in the other project', () => {
    const lookups = {
      [wantKey({ kind: 'changed_since', ref: 'refs/heads/main' })]: { ok: true as const, paths: ['src/app.c'] },
      [wantKey({ kind: 'project_files', project: 'g/p', ref: 'v1.0.0' })]: { ok: true as const, paths: ['README.md'] },
    };
    const run = (l: typeof lookups, source = 'push') =>
      compilePipeline(lookupYaml, {
        predefined: { ...push('feat'), CI_PIPELINE_SOURCE: source },
        lookups: l,
        commit: { files: ['Dockerfile'], changed: [] },
      });
    const names = (r: ReturnType<typeof run>) => (r.ok ? r.model.jobs.map((j) => j.name) : assert.fail(JSON.stringify(r.errors)));
    assert.deepEqual(names(run(lookups)), ['a', 'd']); // b: Dockerfile is in this commit, not in g/p at v1.0.0
    assert.deepEqual(names(run(lookups, 'schedule')), ['a', 'd']); // no "holds without a push diff" with compare_to
    const none = { ...lookups, [wantKey({ kind: 'changed_since', ref: 'refs/heads/main' })]: { ok: true as const, paths: ['docs/x.md'] } };
    const withFile = {
      ...none,
      [wantKey({ kind: 'project_files', project: 'g/p', ref: 'v1.0.0' })]: { ok: true as const, paths: ['Dockerfile'] },
    };
    assert.deepEqual(names(run(withFile)), ['b', 'd']);
  });
  test('workflow: rules: changes: compare_to asks too, and its answer decides the pipeline', () => {
    const w = 'workflow: {rules: [{changes: {paths: [src/*], compare_to: main}}, {when: never}]}\na: {script: x}\n';
    const asked = compilePipeline(w, { predefined: push('feat') });
    assert.deepEqual(asked.ok ? [] : asked.errors.map((e) => e.want), [{ kind: 'changed_since', ref: 'main' }]);
    const key = wantKey({ kind: 'changed_since', ref: 'main' });
    assert.ok(compilePipeline(w, { predefined: push('feat'), lookups: { [key]: { ok: true, paths: ['src/a.c'] } } }).ok);
    const none = compilePipeline(w, { predefined: push('feat'), lookups: { [key]: { ok: true, paths: ['README.md'] } } });
    assert.match(none.ok ? '' : none.errors[0]!.message, /when: never, so no pipeline is created/);
  });
  test("a failed answer is GitLab's rule error; exists: ref without project is an error", () => {
    const r = compilePipeline('a: {script: x, rules: [{changes: {paths: [x], compare_to: nope}}]}\n', {
      predefined: push('main'),
      lookups: { [wantKey({ kind: 'changed_since', ref: 'nope' })]: { ok: false, reason: 'rules:changes:compare_to is not a valid ref' } },
    });
    assert.match(r.ok ? '' : r.errors[0]!.message, /^a\.rules\[0\]: Failed to parse rule: rules:changes:compare_to is not a valid ref$/);
    assert.equal(r.ok ? null : r.errors[0]!.code, undefined);
    const e = errors('b: {script: x, rules: [{exists: {paths: [a], ref: main}}]}\n');
    assert.match(e.join('\n'), /exists\.ref: ref can only be given together with project/);
  });
  test('workflow: rules: changes', () => {
    const w = 'workflow: {rules: [{changes: [src/*]}, {when: never}]}\na: {script: x}\n';
    assert.deepEqual(names(w, push('main'), commit), ['a']);
    const r = compilePipeline(w, { predefined: push('main'), commit: { ...commit, changed: ['docs/index.md'] } });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.errors[0]!.message, /when: never, so no pipeline is created/);
  });
});

describe('rules details', () => {
  test('rules: [{when: manual}] blocks (allow_failure false); job-level when: manual does not', () => {
    const m = model(
      'a: {script: x, rules: [{when: manual}]}\nb: {script: x, when: manual}\nc: {script: x, rules: [{when: manual, allow_failure: true}]}\nd: {script: x, manual: optional}\n',
    );
    const by = Object.fromEntries(m.jobs.map((j) => [j.name, j]));
    assert.equal(by.a!.manual, 'required');
    assert.equal(by.a!.on_status.failure, 'fail_pipeline');
    assert.equal(by.b!.manual, 'ignored');
    assert.equal(by.c!.manual, 'ignored');
    assert.equal(by.d!.when, 'manual'); // manual: alone makes the job manual
    assert.equal(by.d!.manual, 'optional');
  });
  test('!reference rules are flattened (nested lists)', () => {
    const y =
      '.r: {rules: [{if: $CI_COMMIT_BRANCH == "main", when: always}]}\na:\n  script: x\n  rules:\n    - !reference [.r, rules]\n    - when: never\n';
    assert.deepEqual(names(y, push('main')), ['a']);
    assert.deepEqual(names(y, push('dev')), []);
  });
  test('rules: if sees expanded variables', () => {
    assert.deepEqual(
      names('variables: {TARGET: "$CI_COMMIT_BRANCH-env"}\na: {script: x, rules: [{if: $TARGET == "main-env"}]}\n', push('main')),
      ['a'],
    );
  });
  test('rules: variables override job variables; rules: needs replaces needs', () => {
    const m = model(
      'a: {script: x}\nb: {script: x, needs: [], variables: {V: job}, rules: [{if: $CI_COMMIT_BRANCH, variables: {V: rule}, needs: [a]}]}\n',
    );
    assert.equal(m.jobs[1]!.variables.V, 'rule');
    assert.deepEqual(m.jobs[1]!.needs, ['a']);
  });
});

describe('retry: exit_codes (docs.gitlab.com/ee/ci/yaml/#retryexit_codes)', () => {
  test('exit_codes alone: only those codes are retried (when: defaults to nothing, not always)', () => {
    const m = model('a:\n  script: x\n  retry:\n    max: 2\n    exit_codes: 137\n');
    assert.deepEqual(m.jobs[0]!.retry, { max: 2, when: [], exit_codes: [137] });
  });
  test('exit_codes with when: both kept (a failure is retried when either matches)', () => {
    const m = model('a:\n  script: x\n  retry: {max: 1, when: runner_system_failure, exit_codes: [137, 255]}\n');
    assert.deepEqual(m.jobs[0]!.retry, { max: 1, when: ['runner_system_failure'], exit_codes: [137, 255] });
  });
  test('default: retry: exit_codes reaches the jobs', () => {
    const m = model('default:\n  retry: {max: 2, exit_codes: [3]}\na: {script: x}\n');
    assert.deepEqual(m.jobs[0]!.retry, { max: 2, when: [], exit_codes: [3] });
  });
  for (const bad of ['exit_codes: [256]', 'exit_codes: []', 'exit_codes: "137"']) {
    test(`refused with its line: ${bad}`, () => {
      const r = compilePipeline(`a:\n  script: x\n  retry:\n    max: 1\n    ${bad}\n`, { predefined: push('main') });
      assert.ok(!r.ok);
      assert.equal(r.errors[0]!.line, 5, r.errors[0]!.message);
      assert.match(r.errors[0]!.message, /exit code/);
    });
  }
});

describe('secrets and id_tokens: valid, but faultline has no provider (refused at pipeline creation, coded no_provider)', () => {
  const codes = (yaml: string) => {
    const r = compilePipeline(yaml, { predefined: push('main') });
    return r.ok ? [] : r.errors.map((e) => [e.path, e.line, e.code, e.message] as const);
  };
  for (const [kw, kv] of [
    ['secrets', 'secrets: {DB_PASSWORD: {vault: production/db/password@ops}}'],
    ['id_tokens', 'id_tokens: {ID_TOKEN_1: {aud: https://vault.example.com}}'],
  ] as const) {
    test(`${kw} in a job of the pipeline: one no_provider error naming the job and keyword, with its line`, () => {
      const e = codes(`deploy:\n  script: x\n  ${kv}\n`);
      assert.equal(e.length, 1, JSON.stringify(e));
      const [path, line, code, message] = e[0]!;
      assert.equal(path, `deploy.${kw}`);
      assert.equal(line, 3);
      assert.equal(code, 'no_provider');
      assert.match(message, /not provided by faultline, so a pipeline that uses it is refused when it is created/);
    });
    test(`${kw} in a job its rules leave out: nothing refused`, () => {
      const r = compilePipeline(`a: {script: x}\ndeploy:\n  script: x\n  rules: [{if: $CI_COMMIT_TAG}]\n  ${kv}\n`, {
        predefined: push('main'),
      });
      assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
      assert.deepEqual(
        r.model.jobs.map((j) => j.name),
        ['a'],
      );
    });
  }
  test('default: id_tokens refuses too (it applies to every job), coded no_provider', () => {
    const e = codes('default:\n  id_tokens: {T: {aud: x}}\na: {script: x}\n');
    assert.deepEqual(
      e.map(([path, , code]) => [path, code]),
      [['default.id_tokens', 'no_provider']],
    );
  });
  test('an invalid secrets: with another error: both reported, only the keyword coded no_provider', () => {
    const e = codes('a:\n  script: x\n  secrets: {X: {vault: a}}\n  timeout: soon\n');
    assert.equal(e.filter(([, , c]) => c === 'no_provider').length, 1);
    assert.equal(e.filter(([, , c]) => c === undefined).length, 1);
  });
});

describe('fail closed', () => {
  const refused = [
    'when: delayed',
    'needs: [{pipeline: $PARENT_PIPELINE_ID, job: x}]',
    'image: {name: a, kubernetes: {user: "1000"}}',
    'identity: google_cloud',
  ];
  for (const kv of refused) {
    test(`refused, naming it: ${kv}`, () => {
      const key = kv.split(':')[0]!;
      const e = errors(`a:\n  script: x\n  ${kv}\n`);
      assert.equal(e.length, 1, e.join('\n'));
      assert.match(e[0]!, new RegExp(`a\\.${key}.*not supported by faultline, so the pipeline is refused`));
      assert.doesNotMatch(e[0]!, /script is required/);
    });
  }
  test('hooks: pre_get_sources_script (job, or default: unless the job has its own) reaches the job spec; unknown hooks are errors', () => {
    const m = model(
      'default: {hooks: {pre_get_sources_script: [echo d]}}\n' +
        'a: {script: x, hooks: {pre_get_sources_script: [[echo a1], echo a2]}}\nb: {script: x}\n' +
        'c: {script: x, inherit: {default: false}}\n',
    );
    const hooks = Object.fromEntries(m.jobs.map((j) => [j.name, j.hooks?.pre_get_sources_script]));
    assert.deepEqual(hooks, { a: ['echo a1', 'echo a2'], b: ['echo d'], c: undefined });
    assert.match(errors('a: {script: x, hooks: {post_get_sources_script: [x]}}\n').join('\n'), /a\.hooks.*post_get_sources_script/);
    assert.match(errors('t: {trigger: {include: c.yml}, hooks: {pre_get_sources_script: [x]}}\n').join('\n'), /cannot have hooks/);
  });
  test('a child pipeline trigger: job needs no script; a multi-project one is refused naming the job', () => {
    assert.ok(compilePipeline('child:\n  trigger:\n    include: child.yml\n    strategy: depend\n', { predefined: push('main') }).ok);
    const e = errors('downstream:\n  trigger:\n    project: group/deployer\n    strategy: depend\n');
    assert.deepEqual(e.length, 1);
    assert.match(
      e[0]!,
      /downstream\.trigger\.project: downstream: multi-project pipelines \(trigger: project\) are not run by faultline.*so the pipeline is refused/,
    );
  });
  const warned = ['coverage: /x/', 'release: {tag_name: v1, description: d}', 'pages: true', 'manual_confirmation: sure?'];
  for (const kv of warned) {
    test(`warned (changes nothing that runs): ${kv}`, () => {
      const r = compilePipeline(`a:\n  script: x\n  ${kv}\n`, { predefined: push('main') });
      assert.ok(r.ok);
      assert.match(r.warnings[0]!.message, /not supported by faultline; ignored: /);
    });
  }
  test('a job named pages runs, with a warning that nothing is published', () => {
    const r = compilePipeline('pages: {script: x}\n', { predefined: push('main') });
    assert.ok(r.ok);
    assert.match(r.warnings[0]!.message, /^pages: not supported by faultline; ignored: no Pages site is published/);
  });
  test('global services: and default: services compile into every job (the docker executor runs them; the others refuse the job)', () => {
    for (const y of ['services: [docker:dind]\na: {script: x}\n', 'default: {services: [docker:dind]}\na: {script: x}\n']) {
      assert.equal(model(y).jobs[0]!.services?.[0]?.name, 'docker:dind');
    }
  });
});

describe('parallel', () => {
  test('parallel: N → "name i/N" with CI_NODE_INDEX/TOTAL; needs on it means all', () => {
    const m = model('test: {script: x, parallel: 3}\nafter: {script: x, needs: [test]}\n');
    assert.deepEqual(
      m.jobs.map((j) => j.name),
      ['test 1/3', 'test 2/3', 'test 3/3', 'after'],
    );
    assert.deepEqual([m.jobs[1]!.variables.CI_NODE_INDEX, m.jobs[1]!.variables.CI_NODE_TOTAL], ['2', '3']);
    assert.deepEqual(m.jobs[3]!.needs, ['test 1/3', 'test 2/3', 'test 3/3']);
  });
  test('parallel: matrix → "name: [v1, v2]" with the variables; needs: parallel: matrix selects', () => {
    const y = [
      'build:',
      '  stage: build',
      '  script: x',
      '  parallel:',
      '    matrix:',
      '      - PROVIDER: aws',
      '        STACK: [monitoring, app1]',
      '      - PROVIDER: [gcp, vultr]',
      '        STACK: data',
      'all: {script: x, needs: [build]}',
      'one: {script: x, needs: [{job: build, parallel: {matrix: [{PROVIDER: gcp, STACK: data}]}}]}',
      '',
    ].join('\n');
    const m = model(y);
    assert.deepEqual(
      m.jobs.map((j) => j.name),
      ['build: [aws, monitoring]', 'build: [aws, app1]', 'build: [gcp, data]', 'build: [vultr, data]', 'all', 'one'],
    );
    assert.deepEqual(m.jobs[2]!.variables, { PROVIDER: 'gcp', STACK: 'data', CI_NODE_INDEX: '3', CI_NODE_TOTAL: '4' });
    assert.equal(m.jobs[4]!.needs!.length, 4);
    assert.deepEqual(m.jobs[5]!.needs, ['build: [gcp, data]']);
  });
  test('needs: parallel: matrix with $[[ matrix.X ]] picks the same permutation', () => {
    const y = [
      'build: {stage: build, script: x, parallel: {matrix: [{OS: [linux, mac]}]}}',
      'test:',
      '  script: x',
      '  parallel: {matrix: [{OS: [linux, mac]}]}',
      '  needs: [{job: build, parallel: {matrix: [{OS: "$[[ matrix.OS ]]"}]}}]',
      '',
    ].join('\n');
    const m = model(y);
    assert.deepEqual(
      m.jobs.slice(2).map((j) => [j.name, j.needs]),
      [
        ['test: [linux]', ['build: [linux]']],
        ['test: [mac]', ['build: [mac]']],
      ],
    );
  });
  test('limits and shapes', () => {
    assert.match(errors('a: {script: x, parallel: 201}\n')[0]!, /from 1 to 200/);
    assert.match(errors('a: {script: x, parallel: {matrix: [{A: []}]}}\n')[0]!, /expected a string or a list/);
    assert.match(
      errors('a: {script: x, parallel: {matrix: [{A: [x]}]}}\nb: {script: x, needs: [{job: a, parallel: {matrix: [{A: y}]}}]}\n')[0]!,
      /no instance of 'a' matches/,
    );
  });
});

describe('inherit, environment, dependencies, variables', () => {
  test('inherit: default and variables', () => {
    const y =
      'default: {image: alpine, tags: [t]}\nvariables: {A: a, B: b}\nj1: {script: x, inherit: {default: false, variables: [B]}}\nj2: {script: x, inherit: {default: [tags]}}\n';
    const m = model(y);
    assert.equal(m.jobs[0]!.image, null);
    assert.deepEqual(m.jobs[0]!.tags, []);
    assert.deepEqual(m.jobs[0]!.variables, { B: 'b' });
    assert.equal(m.jobs[1]!.image, null);
    assert.deepEqual(m.jobs[1]!.tags, ['t']);
  });
  test('environment: CI_ENVIRONMENT_* expanded, GitLab slug and tier', () => {
    const m = model(
      'deploy:\n  script: x\n  environment:\n    name: review/$CI_COMMIT_REF_NAME\n    url: https://$CI_COMMIT_REF_NAME.example.com\n',
      push('feat-1'),
    );
    const v = m.jobs[0]!.variables;
    assert.equal(v.CI_ENVIRONMENT_NAME, 'review/feat-1');
    assert.equal(v.CI_ENVIRONMENT_URL, 'https://feat-1.example.com');
    assert.equal(v.CI_ENVIRONMENT_TIER, 'development');
    assert.equal(v.CI_ENVIRONMENT_ACTION, 'start');
    assert.match(v.CI_ENVIRONMENT_SLUG!, /^review-feat-1-[a-z0-9]{6}$/);
    assert.equal(environmentSlug('production'), 'production');
    assert.equal(environmentSlug('staging'), 'staging');
  });
  test('dependencies: unknown job, later stage, not in needs', () => {
    const e = errors(
      'a: {stage: build, script: x}\nb: {script: x, dependencies: [nope]}\nc: {stage: build, script: x, dependencies: [b]}\nd: {script: x, needs: [], dependencies: [a]}\n',
    );
    assert.equal(e.length, 3, e.join('\n'));
    assert.match(e[0]!, /depends on 'nope', but there is no job/);
    assert.match(e[1]!, /not in an earlier stage/);
    assert.match(e[2]!, /must also be listed in needs/);
  });
  test('tags: variables expanded at creation', () => {
    assert.deepEqual(model('variables: {POOL: big}\na: {script: x, tags: [$POOL-runners, linux]}\n').jobs[0]!.tags, [
      'big-runners',
      'linux',
    ]);
  });
  test('variables: options must contain the value; expand: false is recorded', () => {
    assert.match(errors('variables: {ENV: {value: prod, options: [dev, staging]}}\na: {script: x}\n')[0]!, /must be one of its options/);
    const m = model('variables: {R: {value: "$X", expand: false}}\na: {script: x, variables: {S: {value: "$Y", expand: false}}}\n');
    assert.deepEqual(m.jobs[0]!.raw_variables, ['R', 'S']);
  });
});
