/**
 * include: resolution, merge, inputs and limits, table-driven, against in-memory
 * sources (the resolver is pure; the git/HTTP/GitLab-API sources have their own tests
 * in test/coordinator/includes.test.ts). Semantics from docs.gitlab.com/ee/ci/yaml/includes.html
 * and docs.gitlab.com/ee/ci/yaml/inputs.html.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compilePipeline,
  compilePipelineWithIncludes,
  missing,
  unreachable,
  type CompileOptions,
  type CompileWithIncludesResult,
  type IncludeSources,
} from '../../src/config/index.js';

interface Mem {
  local?: Record<string, string>;
  remote?: Record<string, string>;
  projects?: Record<string, Record<string, Record<string, string>>>; // project → ref → path → text
  templates?: Record<string, string>;
  releases?: Record<string, string[]>;
  /** Everything the GitLab source is asked, in order. */
  asked?: string[];
  noGitlab?: boolean;
  noRemote?: boolean;
}

function mem(m: Mem): IncludeSources {
  const asked = (m.asked ??= []);
  const s: IncludeSources = {
    local: {
      read: async (p) => {
        asked.push(`local ${p}`);
        const t = m.local?.[p];
        return t === undefined ? missing(`Local file \`${p}\` does not exist!`) : { ok: true, text: t };
      },
      list: async () => Object.keys(m.local ?? {}),
    },
  };
  if (!m.noRemote) {
    s.remote = async (u) => {
      asked.push(`remote ${u}`);
      const t = m.remote?.[u];
      return t === undefined ? unreachable('connection refused') : { ok: true, text: t };
    };
  }
  if (!m.noGitlab) {
    s.gitlab = {
      fqdn: 'gitlab.example.com',
      file: async (project, path, ref) => {
        asked.push(`file ${project} ${path} ${ref ?? '(default)'}`);
        const refs = m.projects?.[project];
        if (!refs) return missing(`Project \`${project}\` not found or access denied!`);
        const t = refs[ref ?? 'main']?.[path];
        return t === undefined ? missing(`Project \`${project}\` file \`${path}\` does not exist!`) : { ok: true, text: t };
      },
      template: async (name) => {
        asked.push(`template ${name}`);
        const t = m.templates?.[name];
        return t === undefined ? missing(`Template \`${name}\` does not exist`) : { ok: true, text: t };
      },
      releases: async (project) => ({ ok: true, tags: m.releases?.[project] ?? [] }),
    };
  }
  return s;
}

const PUSH_MAIN: CompileOptions = {
  predefined: { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_BRANCH: 'main', CI_COMMIT_REF_NAME: 'main', CI_DEFAULT_BRANCH: 'main' },
};

async function run(
  yaml: string,
  m: Mem,
  opts: CompileOptions = PUSH_MAIN,
  onUnreachable: 'error' | 'warn' = 'error',
  limits = {},
): Promise<CompileWithIncludesResult> {
  return compilePipelineWithIncludes(yaml, opts, { sources: mem(m), onUnreachable, limits });
}

function jobs(r: CompileWithIncludesResult): string[] {
  if (!r.ok) assert.fail(`expected ok, got:\n${r.errors.map((e) => `${e.file ?? ''}:${e.line}:${e.column} ${e.message}`).join('\n')}`);
  return r.model.jobs.map((j) => j.name).sort();
}

/** The problems, for assertion messages. */
const show = (r: CompileWithIncludesResult): string =>
  (r.ok ? r.warnings : r.errors).map((e) => `${e.file ?? ''}:${e.line}:${e.column} ${e.message}`).join('\n');

function errorsOf(r: CompileWithIncludesResult): string[] {
  assert.equal(r.ok, false, 'expected a refusal');
  return r.ok ? [] : r.errors.map((e) => `${e.file ?? ''}:${e.line}:${e.column} ${e.message}`);
}

const job = (name: string, extra = '') => `${name}:\n  script: echo ${name}\n${extra}`;

describe('include: resolution (table)', () => {
  const cases: { name: string; yaml: string; mem: Mem; opts?: CompileOptions; jobs?: string[]; error?: RegExp }[] = [
    {
      name: 'a string is a local include',
      yaml: `include: ci/a.yml\n${job('main')}`,
      mem: { local: { 'ci/a.yml': job('a') } },
      jobs: ['a', 'main'],
    },
    {
      name: 'a leading / is the repository root',
      yaml: `include: /ci/a.yml\n${job('main')}`,
      mem: { local: { 'ci/a.yml': job('a') } },
      jobs: ['a', 'main'],
    },
    {
      name: 'a list of strings and maps',
      yaml: `include:\n  - ci/a.yml\n  - local: ci/b.yaml\n  - https://h.example/c.yml\n${job('main')}`,
      mem: { local: { 'ci/a.yml': job('a'), 'ci/b.yaml': job('b') }, remote: { 'https://h.example/c.yml': job('c') } },
      jobs: ['a', 'b', 'c', 'main'],
    },
    {
      name: '* stays within one directory',
      yaml: `include: 'ci/*.yml'\n${job('main')}`,
      mem: { local: { 'ci/a.yml': job('a'), 'ci/sub/b.yml': job('b'), 'ci/notes.txt': 'x' } },
      jobs: ['a', 'main'],
    },
    {
      name: '** crosses directories (configs/**.yml: the directory and below)',
      yaml: `include: 'ci/**.yml'\n${job('main')}`,
      mem: { local: { 'ci/a.yml': job('a'), 'ci/sub/b.yml': job('b'), 'other/c.yml': job('c') } },
      jobs: ['a', 'b', 'main'],
    },
    {
      name: 'ci/**/*.yml: subdirectories only',
      yaml: `include: 'ci/**/*.yml'\n${job('main')}`,
      mem: { local: { 'ci/a.yml': job('a'), 'ci/sub/b.yml': job('b') } },
      jobs: ['b', 'main'],
    },
    {
      name: 'a wildcard matching nothing is an error',
      yaml: `include: 'ci/*.yml'\n${job('main')}`,
      mem: { local: {} },
      error: /Local file `ci\/\*\.yml` does not exist!/,
    },
    {
      name: 'a missing local file is refused with its name',
      yaml: `include: ci/nope.yml\n${job('main')}`,
      mem: { local: {} },
      error: /^:1:10 include: include ci\/nope\.yml: Local file `ci\/nope\.yml` does not exist!/,
    },
    {
      name: 'a file without a YAML extension',
      yaml: `include: ci/a.txt\n${job('main')}`,
      mem: { local: { 'ci/a.txt': job('a') } },
      error: /Included file `ci\/a\.txt` does not have YAML extension!/,
    },
    {
      name: 'an empty included file',
      yaml: `include: ci/a.yml\n${job('main')}`,
      mem: { local: { 'ci/a.yml': '\n# nothing\n' } },
      error: /Included file `ci\/a\.yml` is empty or does not exist!/,
    },
    {
      name: 'two location keys in one entry',
      yaml: `include:\n  - local: a.yml\n    remote: https://x/a.yml\n${job('main')}`,
      mem: {},
      error: /exactly one of local, remote, project, template, component; this one has local and remote/,
    },
    {
      name: 'a typo in an include key',
      yaml: `include:\n  - locl: a.yml\n${job('main')}`,
      mem: {},
      error: /an include needs one of .*; did you mean 'local'\?/,
    },
    {
      name: 'file: with template: is refused',
      yaml: `include:\n  - template: A.gitlab-ci.yml\n    file: x.yml\n${job('main')}`,
      mem: {},
      error: /file: cannot be used with include:template/,
    },
    {
      name: 'project + file list + ref',
      yaml: `include:\n  - project: grp/lib\n    ref: v1\n    file: [a.yml, /b.yml]\n${job('main')}`,
      mem: { projects: { 'grp/lib': { v1: { 'a.yml': job('a'), 'b.yml': job('b') } } } },
      jobs: ['a', 'b', 'main'],
    },
    {
      name: 'project without ref: the default branch',
      yaml: `include:\n  - project: grp/lib\n    file: a.yml\n${job('main')}`,
      mem: { projects: { 'grp/lib': { main: { 'a.yml': job('a') } } } },
      jobs: ['a', 'main'],
    },
    {
      name: "a local include inside a project file is that project's file",
      yaml: `include:\n  - project: grp/lib\n    ref: v2\n    file: a.yml\n${job('main')}`,
      mem: {
        local: { 'b.yml': job('wrong') },
        projects: { 'grp/lib': { v2: { 'a.yml': `include: b.yml\n${job('a')}`, 'b.yml': job('b') } } },
      },
      jobs: ['a', 'b', 'main'],
    },
    {
      name: "a wildcard local include inside another project's file is refused by name",
      yaml: `include:\n  - project: grp/lib\n    file: a.yml\n${job('main')}`,
      mem: { projects: { 'grp/lib': { main: { 'a.yml': `include: 'ci/*.yml'\n${job('a')}` } } } },
      error: /a wildcard local include inside a file of grp\/lib is not supported by faultline/,
    },
    {
      name: 'a missing project file',
      yaml: `include:\n  - project: grp/lib\n    file: nope.yml\n${job('main')}`,
      mem: { projects: { 'grp/lib': { main: {} } } },
      error: /include grp\/lib:nope\.yml: Project `grp\/lib` file `nope\.yml` does not exist!/,
    },
    {
      name: 'template',
      yaml: `include:\n  - template: Jobs/Build.gitlab-ci.yml\n${job('main')}`,
      mem: { templates: { 'Jobs/Build.gitlab-ci.yml': job('build') } },
      jobs: ['build', 'main'],
    },
    {
      name: 'a template name must end in .gitlab-ci.yml',
      yaml: `include:\n  - template: Jobs/Build.yml\n${job('main')}`,
      mem: {},
      error: /Template file `Jobs\/Build\.yml` is not a valid location!/,
    },
    {
      name: 'component at a tag',
      yaml: `include:\n  - component: gitlab.example.com/grp/comps/lint@1.0.0\n${job('main')}`,
      mem: { projects: { 'grp/comps': { '1.0.0': { 'templates/lint.yml': job('lint') } } } },
      jobs: ['lint', 'main'],
    },
    {
      name: 'component as a directory with template.yml',
      yaml: `include:\n  - component: gitlab.example.com/grp/comps/scan@main\n${job('main')}`,
      mem: { projects: { 'grp/comps': { main: { 'templates/scan/template.yml': job('scan') } } } },
      jobs: ['main', 'scan'],
    },
    {
      name: 'component ~latest is the newest release',
      yaml: `include:\n  - component: gitlab.example.com/grp/comps/lint@~latest\n${job('main')}`,
      mem: {
        releases: { 'grp/comps': ['1.2.0', '2.0.1', '1.10.0'] },
        projects: { 'grp/comps': { '2.0.1': { 'templates/lint.yml': job('lint2') } } },
      },
      jobs: ['lint2', 'main'],
    },
    {
      name: 'component partial version 1 is the newest 1.x',
      yaml: `include:\n  - component: gitlab.example.com/grp/comps/lint@1\n${job('main')}`,
      mem: {
        releases: { 'grp/comps': ['1.2.0', '2.0.1', '1.10.0'] },
        projects: { 'grp/comps': { '1.10.0': { 'templates/lint.yml': job('lint110') } } },
      },
      jobs: ['lint110', 'main'],
    },
    {
      name: 'component on another host is refused',
      yaml: `include:\n  - component: gitlab.com/grp/comps/lint@1.0.0\n${job('main')}`,
      mem: {},
      error: /the component's host `gitlab\.com` must be the configured GitLab instance \(`gitlab\.example\.com`/,
    },
    {
      name: 'component without a version',
      yaml: `include:\n  - component: gitlab.example.com/grp/comps/lint\n${job('main')}`,
      mem: {},
      error: /has no version: add @<version>/,
    },
    {
      name: '$CI_SERVER_FQDN in a component address is the configured GitLab instance',
      yaml: `include:\n  - component: $CI_SERVER_FQDN/grp/comps/lint@1.0.0\n${job('main')}`,
      mem: { projects: { 'grp/comps': { '1.0.0': { 'templates/lint.yml': job('lint') } } } },
      opts: { predefined: { CI_SERVER_FQDN: 'faultline.local' } },
      jobs: ['lint', 'main'],
    },
    {
      name: 'remote integrity mismatch',
      yaml: `include:\n  - remote: https://h.example/a.yml\n    integrity: sha256-AAAA\n${job('main')}`,
      mem: { remote: { 'https://h.example/a.yml': job('a') } },
      error: /failed the integrity check/,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const r = await run(c.yaml, c.mem, c.opts ?? PUSH_MAIN);
      if (c.jobs) assert.deepEqual(jobs(r), c.jobs);
      if (c.error)
        assert.ok(
          errorsOf(r).some((e) => c.error!.test(e)),
          errorsOf(r).join('\n'),
        );
    });
  }
});

describe('include: merge semantics', () => {
  test('included keys deep-merge; the including file wins; later includes win over earlier', async () => {
    const a =
      'variables:\n  A: from-a\n  SHARED: a\nbuild:\n  stage: build\n  script: make\n  variables:\n    X: "1"\n    Y: "1"\n  tags: [a]\n';
    const b = 'variables:\n  SHARED: b\nbuild:\n  tags: [b]\n';
    const main = 'include: [a.yml, b.yml]\nvariables:\n  MAIN: m\nbuild:\n  variables:\n    Y: "2"\n';
    const r = await run(main, { local: { 'a.yml': a, 'b.yml': b } });
    assert.ok(r.ok, show(r));
    const build = r.model.jobs.find((j) => j.name === 'build')!;
    assert.deepEqual(r.model.variables, { A: 'from-a', SHARED: 'b', MAIN: 'm' });
    assert.deepEqual(build.script, ['make']);
    assert.deepEqual(build.tags, ['b'], 'lists are replaced, not concatenated');
    assert.equal(build.variables.X, '1');
    assert.equal(build.variables.Y, '2');
  });

  test('stages and default: from an included file apply to the whole pipeline', async () => {
    const r = await run(`include: base.yml\n${job('deploy-it', '  stage: ship\n')}`, {
      local: { 'base.yml': 'stages: [make, ship]\ndefault:\n  image: alpine:3\n' },
    });
    assert.ok(r.ok, show(r));
    assert.deepEqual(r.model.stages, ['ship']);
    assert.equal(r.model.jobs[0]!.image?.name, 'alpine:3');
  });

  test('a file included twice (or in a cycle) is merged once', async () => {
    const r = await run(`include: [a.yml, a.yml]\n${job('main')}`, {
      local: { 'a.yml': `include: b.yml\n${job('a')}`, 'b.yml': `include: a.yml\n${job('b')}` },
    });
    assert.deepEqual(jobs(r), ['a', 'b', 'main']);
  });

  test('an error in an included file names that file and its own line', async () => {
    const r = await run(`include: ci/b.yml\n${job('main')}`, { local: { 'ci/b.yml': '# b\nbroken:\n  script: make\n  stage: nope\n' } });
    const errs = r.ok ? [] : r.errors;
    assert.equal(errs.length, 1, errorsOf(r).join('\n'));
    assert.deepEqual([errs[0]!.file, errs[0]!.line, errs[0]!.path], ['ci/b.yml', 4, 'broken.stage']);
  });

  test('extends: and !reference reach templates defined in an included file', async () => {
    const lib = '.base:\n  image: node:20\n  before_script: [npm ci]\n.setup:\n  script: [echo setup]\n';
    const r = await run('include: lib.yml\ntest:\n  extends: .base\n  script:\n    - !reference [.setup, script]\n    - npm test\n', {
      local: { 'lib.yml': lib },
    });
    assert.ok(r.ok, show(r));
    assert.deepEqual(r.model.jobs[0]!.script, ['echo setup', 'npm test']);
    assert.equal(r.model.jobs[0]!.image?.name, 'node:20');
  });
});

describe('include: rules', () => {
  const base = (rules: string) => `include:\n  - local: extra.yml\n    rules:\n${rules}\n${job('main')}`;
  const files = { 'extra.yml': job('extra'), Dockerfile: 'FROM x', 'src/app.ts': '' };
  const cases: { name: string; rules: string; opts?: CompileOptions; included?: boolean; error?: RegExp }[] = [
    { name: 'if matches', rules: '      - if: $CI_COMMIT_BRANCH == "main"', included: true },
    { name: 'if does not match', rules: '      - if: $CI_COMMIT_BRANCH == "dev"', included: false },
    {
      name: 'when: never wins when it matches first',
      rules: '      - if: $CI_PIPELINE_SOURCE == "push"\n        when: never\n      - when: always',
      included: false,
    },
    { name: 'exists: a file of the commit', rules: '      - exists: [Dockerfile]', included: true },
    { name: 'exists: a glob with **', rules: '      - exists: ["src/**/*.ts", "**/*.go"]', included: true },
    { name: 'exists: nothing matches', rules: '      - exists: ["*.go"]', included: false },
    { name: 'changes: a changed file', rules: '      - changes: [src/*]', included: true },
    { name: 'changes: nothing matching changed', rules: '      - changes: [docs/**/*]', included: false },
    {
      name: 'changes: without a diff it is true (as GitLab)',
      rules: '      - changes: [docs/**/*]',
      opts: { ...PUSH_MAIN, commit: { files: Object.keys(files), changed: null } },
      included: true,
    },
    {
      name: 'changes:compare_to is refused, never guessed',
      rules: '      - changes:\n          paths: [src/*]\n          compare_to: main',
      error: /rules:changes:compare_to is not supported by faultline/,
    },
    { name: 'when: manual is not an include rule', rules: '      - when: manual', error: /expected always or never/ },
    { name: 'an unknown rule key', rules: '      - iff: $X', error: /unknown key 'iff'; did you mean 'if'\?/ },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const opts = c.opts ?? { ...PUSH_MAIN, commit: { files: Object.keys(files), changed: ['src/app.ts'] } };
      const r = await run(base(c.rules), { local: files }, opts);
      if (c.error)
        assert.ok(
          errorsOf(r).some((e) => c.error!.test(e)),
          errorsOf(r).join('\n'),
        );
      else assert.deepEqual(jobs(r), c.included ? ['extra', 'main'] : ['main']);
    });
  }
});

describe('spec: inputs', () => {
  const tpl = [
    'spec:',
    '  inputs:',
    '    stage:',
    '      default: test',
    '    env:',
    '      options: [staging, production]',
    '    workers:',
    '      type: number',
    '      default: 2',
    '    verbose:',
    '      type: boolean',
    '      default: false',
    '    version:',
    '      default: v1.2.3',
    '      regex: ^v\\d+\\.\\d+\\.\\d+$',
    '    flags:',
    '      type: array',
    '      default: [--a, --b]',
    '---',
    '"deploy-$[[ inputs.env ]]":',
    '  stage: $[[ inputs.stage ]]',
    '  timeout: $[[ inputs.workers ]]m',
    '  script:',
    '    - ./deploy --env $[[ inputs.env ]] --v $[[ inputs.version | truncate(1, 3) ]] $[[ inputs.flags ]]',
    '    - echo $[[ inputs.env | posix_escape ]] $[[ inputs.verbose ]]',
    '  variables:',
    '    WORKERS: $[[ inputs.workers ]]',
    '',
  ].join('\n');
  const inc = (inputs: string) => `include:\n  - local: deploy.yml\n    inputs:\n${inputs}\n${job('main')}`;

  test('values and defaults are interpolated; keys too; a whole-block value keeps its type', async () => {
    const r = await run(inc('      env: staging\n      stage: deploy'), { local: { 'deploy.yml': tpl } });
    assert.ok(r.ok, show(r));
    const d = r.model.jobs.find((j) => j.name === 'deploy-staging');
    assert.ok(d, `jobs: ${jobs(r).join(', ')}`);
    assert.equal(d.stage, 'deploy');
    assert.equal(d.timeout_seconds, 120);
    assert.deepEqual(d.script, ['./deploy --env staging --v 1.2 ["--a","--b"]', 'echo staging false']);
    assert.equal(d.variables.WORKERS, '2');
  });

  test('the same file twice with different inputs gives two sets of jobs', async () => {
    const r = await run(
      `include:\n  - local: deploy.yml\n    inputs: {env: staging}\n  - local: deploy.yml\n    inputs: {env: production}\n${job('main')}`,
      { local: { 'deploy.yml': tpl } },
    );
    assert.deepEqual(jobs(r), ['deploy-production', 'deploy-staging', 'main']);
  });

  const bad: { name: string; inputs: string; error: RegExp }[] = [
    { name: 'a required input missing', inputs: '      stage: test', error: /`env` input: required value has not been provided/ },
    {
      name: 'a value not in options',
      inputs: '      env: qa',
      error: /`env` input: provided value `qa` cannot be used because it is not in the list of allowed options \(staging, production\)/,
    },
    {
      name: 'a value of the wrong type',
      inputs: '      env: staging\n      workers: many',
      error: /`workers` input: provided value is not a number/,
    },
    {
      name: 'a value failing the regex',
      inputs: '      env: staging\n      version: "1.2"',
      error: /`version` input: provided value does not match required RegEx pattern/,
    },
    {
      name: 'an input the spec does not declare',
      inputs: '      env: staging\n      stgae: x',
      error: /unknown input 'stgae' .*; did you mean 'stage'\?/,
    },
  ];
  for (const c of bad) {
    test(c.name, async () => {
      const r = await run(inc(c.inputs), { local: { 'deploy.yml': tpl } });
      assert.ok(
        errorsOf(r).some((e) => c.error.test(e)),
        errorsOf(r).join('\n'),
      );
    });
  }

  test('inputs: for a file without a spec header are refused', async () => {
    const r = await run(`include:\n  - local: a.yml\n    inputs: {x: 1}\n${job('main')}`, { local: { 'a.yml': job('a') } });
    assert.ok(
      errorsOf(r).some((e) => /inputs: given, but `a\.yml` has no spec: inputs header/.test(e)),
      errorsOf(r).join('\n'),
    );
  });

  test('an unknown interpolation key and an unknown function are refused', async () => {
    const t =
      'spec:\n  inputs:\n    a:\n      default: x\n---\nj:\n  script:\n    - echo $[[ inputs.b ]]\n    - echo $[[ inputs.a | upcase ]]\n';
    const errs = errorsOf(await run(`include: t.yml\n${job('main')}`, { local: { 't.yml': t } }));
    assert.ok(
      errs.some((e) => /unknown interpolation key: `b`/.test(e)),
      errs.join('\n'),
    );
    assert.ok(
      errs.some((e) => /no function matching `upcase`/.test(e)),
      errs.join('\n'),
    );
  });

  test('$[[ matrix.X ]] is left for parallel: matrix', async () => {
    const t = 'spec:\n  inputs:\n    a:\n      default: x\n---\nj:\n  script: echo $[[ inputs.a ]] $[[ matrix.OS ]]\n';
    const r = await run(`include: t.yml`, { local: { 't.yml': t } });
    assert.ok(r.ok, show(r));
    assert.deepEqual(r.model.jobs[0]!.script, ['echo x $[[ matrix.OS ]]']);
  });

  test('expand_vars expands the variables include: may see', async () => {
    const t = 'spec:\n  inputs:\n    a:\n      default: "$CI_COMMIT_BRANCH-x"\n---\nj:\n  script: echo $[[ inputs.a | expand_vars ]]\n';
    const r = await run(`include: t.yml`, { local: { 't.yml': t } });
    assert.ok(r.ok, show(r));
    assert.deepEqual(r.model.jobs[0]!.script, ['echo main-x']);
  });

  test('a spec header on the main file: defaults apply; an input without one is refused by name', async () => {
    const ok = await run('spec:\n  inputs:\n    stage:\n      default: build\n---\nb:\n  stage: $[[ inputs.stage ]]\n  script: make\n', {});
    assert.ok(ok.ok, show(ok));
    assert.equal(ok.model.jobs[0]!.stage, 'build');
    const no = compilePipeline('spec:\n  inputs:\n    stage:\n---\nb:\n  script: make\n');
    assert.ok(!no.ok && no.errors.some((e) => /input 'stage' has no default/.test(e.message)));
  });
});

describe('include: limits (GitLab: 150 files, 100 levels, 30 s)', () => {
  test('151 files are refused; 150 are fine', async () => {
    const local: Record<string, string> = {};
    for (let i = 0; i < 151; i++) local[`ci/f${String(i).padStart(3, '0')}.yml`] = job(`j${i}`);
    const r = await run(`include: 'ci/*.yml'\n${job('main')}`, { local });
    assert.ok(
      errorsOf(r).some((e) => /Maximum of 150 nested includes are allowed!/.test(e)),
      errorsOf(r).join('\n'),
    );
    delete local['ci/f150.yml'];
    assert.equal(jobs(await run(`include: 'ci/*.yml'\n${job('main')}`, { local })).length, 151);
  });

  test('duplicates count toward the limit', async () => {
    const list = Array.from({ length: 151 }, () => '  - a.yml').join('\n');
    const r = await run(`include:\n${list}\n${job('main')}`, { local: { 'a.yml': job('a') } });
    assert.ok(errorsOf(r).some((e) => /Maximum of 150 nested includes/.test(e)));
  });

  test('nesting deeper than 100 levels is refused', async () => {
    const local: Record<string, string> = {};
    for (let i = 0; i < 102; i++) local[`n${i}.yml`] = `include: n${i + 1}.yml\n${job(`j${i}`)}`;
    local['n102.yml'] = job('last');
    const r = await run(`include: n0.yml\n${job('main')}`, { local }, PUSH_MAIN, 'error', { maxIncludes: 1000 });
    assert.ok(
      errorsOf(r).some((e) => /includes nest more than 100 levels deep/.test(e)),
      errorsOf(r).join('\n'),
    );
  });

  test('a source that throws is an unreachable include, not an internal error', async () => {
    const sources: IncludeSources = {
      local: {
        read: async () => {
          throw new Error('EMFILE: too many open files');
        },
        list: async () => [],
      },
    };
    const r = await compilePipelineWithIncludes(`include: a.yml\n${job('main')}`, PUSH_MAIN, { sources });
    assert.ok(!r.ok && /include a\.yml: the source failed: EMFILE/.test(r.errors[0]!.message), show(r));
  });

  test('a source that hangs is cut off at the time limit', async () => {
    const sources: IncludeSources = { local: { read: () => new Promise(() => {}), list: async () => [] } };
    const r = await compilePipelineWithIncludes(`include: a.yml\n${job('main')}`, PUSH_MAIN, { sources, limits: { timeoutMs: 50 } });
    assert.ok(!r.ok && r.errors.some((e) => /include a\.yml: resolving includes took longer than 0\.05 s/.test(e.message)));
  });
});

describe('an include that cannot be reached', () => {
  const yaml = `include:\n  - remote: https://down.example/ci.yml\n  - project: grp/lib\n    file: a.yml\n${job('main')}`;

  test('creating a pipeline refuses, naming the include and the reason', async () => {
    const errs = errorsOf(await run(yaml, { noGitlab: true }));
    assert.ok(
      errs.some((e) => /include https:\/\/down\.example\/ci\.yml: connection refused/.test(e)),
      errs.join('\n'),
    );
    assert.ok(
      errs.some((e) => /include grp\/lib:a\.yml: no GitLab instance is configured/.test(e)),
      errs.join('\n'),
    );
  });

  test('lint warns, says which checks it could not make, and checks the rest', async () => {
    const r = await run(yaml, { noGitlab: true }, PUSH_MAIN, 'warn');
    assert.deepEqual(jobs(r), ['main']);
    assert.deepEqual(
      r.skipped.map((s) => s.label),
      ['https://down.example/ci.yml', 'grp/lib:a.yml'],
    );
    assert.ok(r.warnings.some((w) => /not checked: the jobs and keywords it defines/.test(w.message)));
  });

  test('a file that is not there is still an error for lint', async () => {
    const r = await run(`include: nope.yml\n${job('main')}`, {}, PUSH_MAIN, 'warn');
    assert.ok(errorsOf(r).some((e) => /Local file `nope\.yml` does not exist!/.test(e)));
  });
});

describe('YAML as GitLab reads it', () => {
  test('a duplicate key is a warning and the last one wins', () => {
    const r = compilePipeline('a:\n  script: first\n  script: second\n');
    assert.ok(r.ok);
    assert.deepEqual(r.model.jobs[0]!.script, ['second']);
    assert.ok(r.warnings.some((w) => w.line === 3 && /duplicate key 'script': the last one wins/.test(w.message)));
  });

  test('two documents without a spec: header are refused', () => {
    const r = compilePipeline('a:\n  script: x\n---\nb:\n  script: y\n');
    assert.ok(!r.ok && /holds 2 YAML documents/.test(r.errors[0]!.message));
  });

  test('empty documents (a trailing ---, a leading --- after a comment) are not documents', () => {
    for (const y of ['a:\n  script: x\n---\n', '# c\n---\n---\na:\n  script: x\n']) {
      const r = compilePipeline(y);
      assert.ok(r.ok && r.model.jobs.length === 1, JSON.stringify(y));
    }
  });

  test('unquoted `- echo "a: b"` gets the quoting hint', () => {
    const r = compilePipeline('a:\n  script:\n    - echo "key: value"\n');
    assert.ok(!r.ok);
    assert.match(r.errors[0]!.message, /a map because of the ': ' in it; quote the whole command: - 'echo "key: value"'/);
  });

  test('compilePipeline (no fetching) refuses include: instead of dropping it', () => {
    const r = compilePipeline(`include: a.yml\n${job('main')}`);
    assert.ok(!r.ok && /include: is resolved when a pipeline is created or linted/.test(r.errors[0]!.message));
  });
});
