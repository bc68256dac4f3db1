/**
 * The include sources outside src/config — git at the pipeline's commit, the working
 * tree, HTTP for include:remote, the GitLab REST API — against a real git repository and
 * a fake GitLab API on loopback; then through the coordinator's pipeline creation.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compilePipelineWithIncludes, type CompileWithIncludesResult } from '../../src/config/index.js';
import { parseCoordinatorConfig } from '../../src/coordinator/config-file.js';
import { resolveOptions } from '../../src/coordinator/config.js';
import { gitCommitFiles, gitlabSource, includeSources, remoteFetcher, worktreeFiles } from '../../src/coordinator/includes/index.js';
import { startFakeGitLab, type FakeGitLab } from '../fakes/gitlab-api.js';
import { tempDir } from '../helpers/tmp.js';
import { byName, harness } from './helpers.js';

const TOKEN = 'glpat-test-token';
const job = (name: string, extra = '') => `${name}:\n  script: echo ${name}\n${extra}`;

function repo(dir: string, files: Record<string, string>): string {
  for (const [p, t] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), t);
  }
  const git = (...a: string[]) => execFileSync('git', a, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  if (!git('rev-parse', '--is-inside-work-tree').length) throw new Error('no');
  git('add', '-A');
  git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'c');
  return git('rev-parse', 'HEAD');
}
function initRepo(dir: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
}
const show = (r: CompileWithIncludesResult) =>
  (r.ok ? r.warnings : r.errors).map((e) => `${e.file ?? ''}:${e.line} ${e.message}`).join('\n');
const names = (r: CompileWithIncludesResult) => {
  assert.ok(r.ok, show(r));
  return r.model.jobs.map((j) => j.name).sort();
};

let gl: FakeGitLab;
before(async () => {
  gl = await startFakeGitLab({
    token: TOKEN,
    projects: {
      'platform/ci-lib': {
        main: {
          'lib/test.yml': `include: lib/common.yml\n${job('lib-test', '  extends: .common\n')}`,
          'lib/common.yml': '.common:\n  image: alpine:3.20\n',
        },
        'v2.0': { 'lib/test.yml': job('lib-test-v2') },
      },
      'platform/components': {
        '1.4.0': {
          'templates/secret-scan.yml':
            'spec:\n  inputs:\n    stage:\n      default: test\n---\nsecret-scan:\n  stage: $[[ inputs.stage ]]\n  script: scan --stage $[[ inputs.stage ]]\n',
        },
      },
    },
    templates: { 'Jobs/Code-Quality': job('code_quality') },
    releases: { 'platform/components': ['1.4.0', '1.3.2', '0.9.0'] },
    raw: { 'shared/lint.yml': job('remote-lint') },
  });
});
after(() => gl.close());

describe('fake GitLab API: project, template, component and remote includes', () => {
  const yaml = [
    'include:',
    '  - project: platform/ci-lib',
    '    file: lib/test.yml',
    '  - project: platform/ci-lib',
    '    ref: v2.0',
    '    file: /lib/test.yml',
    '  - template: Jobs/Code-Quality.gitlab-ci.yml',
    '  - component: HOST/platform/components/secret-scan@~latest',
    '    inputs:',
    '      stage: build',
    '  - remote: URL/raw/shared/lint.yml',
    job('main'),
  ].join('\n');

  test('fake GitLab API: every kind resolves, nested local includes stay in their project, the token is sent', async () => {
    const host = new URL(gl.url).host;
    const text = yaml.replace('HOST', host).replace('URL', gl.url);
    const sources = { gitlab: gitlabSource({ url: gl.url, token: TOKEN }), remote: remoteFetcher() };
    const r = await compilePipelineWithIncludes(text, {}, { sources });
    assert.deepEqual(names(r), ['code_quality', 'lib-test', 'lib-test-v2', 'main', 'remote-lint', 'secret-scan']);
    assert.ok(r.ok);
    assert.equal(r.model.jobs.find((j) => j.name === 'lib-test')!.image?.name, 'alpine:3.20');
    assert.equal(r.model.jobs.find((j) => j.name === 'secret-scan')!.stage, 'build');
    assert.ok(
      gl.requests.includes(`GET /api/v4/projects/platform%2Fci-lib/repository/files/lib%2Fcommon.yml/raw?ref=HEAD token=${TOKEN}`),
      gl.requests.join('\n'),
    );
    assert.ok(
      gl.requests.includes(
        `GET /api/v4/projects/platform%2Fcomponents/repository/files/templates%2Fsecret-scan.yml/raw?ref=1.4.0 token=${TOKEN}`,
      ),
    );
    assert.ok(
      gl.requests.some((q) => q.startsWith('GET /raw/shared/lint.yml token=-')),
      'include:remote sends no token',
    );
  });

  test('fake GitLab API: a wrong token is "not found or access denied", naming the project', async () => {
    const sources = { gitlab: gitlabSource({ url: gl.url, token: 'wrong' }) };
    const r = await compilePipelineWithIncludes(
      `include:\n  - project: platform/ci-lib\n    file: lib/test.yml\n${job('main')}`,
      {},
      { sources },
    );
    assert.ok(
      !r.ok &&
        r.errors.some((e) =>
          /include platform\/ci-lib:lib\/test\.yml: Project `platform\/ci-lib` not found or access denied!/.test(e.message),
        ),
      show(r),
    );
  });

  test('fake GitLab API: a missing file and a missing template are named', async () => {
    const sources = { gitlab: gitlabSource({ url: gl.url, token: TOKEN }) };
    const r = await compilePipelineWithIncludes(
      `include:\n  - project: platform/ci-lib\n    file: nope.yml\n  - template: Nope.gitlab-ci.yml\n${job('main')}`,
      {},
      { sources },
    );
    assert.ok(!r.ok);
    assert.ok(
      r.errors.some((e) => /Project `platform\/ci-lib` file `nope\.yml` does not exist! \(HTTP 404: 404 File Not Found\)/.test(e.message)),
      show(r),
    );
    assert.ok(
      r.errors.some((e) => /Template `Nope\.gitlab-ci\.yml` does not exist/.test(e.message)),
      show(r),
    );
  });

  test('include:remote: a timeout and the size limit', async () => {
    const remote = remoteFetcher({ timeoutMs: 300, maxBytes: 1024 * 1024 });
    for (const path of ['slow', 'stall']) {
      const r = await compilePipelineWithIncludes(`include: ${gl.url}/${path}/x.yml\n${job('main')}`, {}, { sources: { remote } });
      assert.ok(
        !r.ok && /include http:.*: could not be fetched because of a timeout error!/.test(r.errors[0]!.message),
        `${path}: ${show(r)}`,
      );
    }
    // A generous timeout, so only the size limit can stop it.
    const bigRemote = remoteFetcher({ timeoutMs: 60_000, maxBytes: 1024 * 1024 });
    const big = await compilePipelineWithIncludes(`include: ${gl.url}/big/x.yml\n${job('main')}`, {}, { sources: { remote: bigRemote } });
    assert.ok(!big.ok && /is larger than 1048576 bytes/.test(big.errors[0]!.message), show(big));
    const lint = await compilePipelineWithIncludes(
      `include: ${gl.url}/slow/x.yml\n${job('main')}`,
      {},
      { sources: { remote }, onUnreachable: 'warn' },
    );
    assert.ok(lint.ok && lint.skipped.length === 1, show(lint));
  });
});

describe('local includes from git and from the working tree', () => {
  test('git: the commit is read, not the working tree; wildcards list the commit; facts carry the diff', async () => {
    const d = tempDir();
    try {
      initRepo(d.path);
      const first = repo(d.path, { 'ci/a.yml': job('a') });
      const sha = repo(d.path, { 'ci/b.yml': job('b'), 'ci/sub/c.yml': job('c') });
      writeFileSync(join(d.path, 'ci/a.yml'), job('edited-not-committed'));
      const files = gitCommitFiles(d.path, sha, join(d.path, '.cache'));
      const r = await compilePipelineWithIncludes(`include: 'ci/*.yml'\n${job('main')}`, {}, { sources: { local: files } });
      assert.deepEqual(names(r), ['a', 'b', 'main']);
      assert.deepEqual(await files.facts(), { files: ['ci/a.yml', 'ci/b.yml', 'ci/sub/c.yml'], changed: ['ci/b.yml', 'ci/sub/c.yml'] });
      const old = await compilePipelineWithIncludes(
        `include: ci/b.yml\n${job('main')}`,
        {},
        { sources: { local: gitCommitFiles(d.path, first, join(d.path, '.cache')) } },
      );
      assert.ok(!old.ok && /Local file `ci\/b\.yml` does not exist! \(not in commit/.test(old.errors[0]!.message), show(old));
      assert.equal((await files.read('../etc/passwd')).ok, false);
    } finally {
      d.dispose();
    }
  });

  test('git: a repository URL that is not a local directory is fetched into the cache', async () => {
    const d = tempDir();
    try {
      const src = join(d.path, 'src');
      initRepo(src);
      const sha = repo(src, { 'x.yml': job('x') });
      const files = gitCommitFiles(`file://${src}`, sha, join(d.path, 'cache'));
      assert.deepEqual(names(await compilePipelineWithIncludes(`include: x.yml\n${job('main')}`, {}, { sources: { local: files } })), [
        'main',
        'x',
      ]);
    } finally {
      d.dispose();
    }
  });

  test('working tree: uncommitted files count; paths and symlinks may not leave the tree', async () => {
    const d = tempDir();
    try {
      const root = join(d.path, 'wt');
      initRepo(root);
      writeFileSync(join(d.path, 'outside.yml'), job('outside'));
      mkdirSync(join(root, 'ci'));
      writeFileSync(join(root, 'ci/new.yml'), job('new'));
      symlinkSync(join(d.path, 'outside.yml'), join(root, 'ci/link.yml'));
      const local = worktreeFiles(root);
      assert.deepEqual(names(await compilePipelineWithIncludes(`include: ci/new.yml\n${job('main')}`, {}, { sources: { local } })), [
        'main',
        'new',
      ]);
      const esc = await compilePipelineWithIncludes(`include: ci/link.yml\n${job('main')}`, {}, { sources: { local } });
      assert.ok(!esc.ok && /is outside the repository/.test(esc.errors[0]!.message), show(esc));
      const up = await compilePipelineWithIncludes(`include: ../outside.yml\n${job('main')}`, {}, { sources: { local } });
      assert.ok(!up.ok && /is outside the repository/.test(up.errors[0]!.message), show(up));
    } finally {
      d.dispose();
    }
  });
});

describe('through the coordinator', () => {
  test('a pipeline whose includes come from its repository and from the fake GitLab API', async () => {
    const d = tempDir();
    const h = await harness({ gitlab: { url: gl.url, token: TOKEN } });
    try {
      initRepo(d.path);
      const ci = [
        'include:',
        '  - local: ci/build.yml',
        '  - project: platform/ci-lib',
        '    file: lib/test.yml',
        '  - local: ci/docker.yml',
        '    rules:',
        '      - exists: [Dockerfile]',
        'stages: [build, test]',
        job('main', '  stage: test\n'),
      ].join('\n');
      const sha = repo(d.path, {
        '.gitlab-ci.yml': ci,
        'ci/build.yml': job('compile', '  stage: build\n'),
        'ci/docker.yml': job('docker'),
      });
      const p = await h.createPipeline(ci, { repository: { url: d.path, sha } });
      assert.deepEqual(Object.keys(byName(p)).sort(), ['compile', 'lib-test', 'main'], 'no Dockerfile: ci/docker.yml is not included');

      const bad = await h.api('POST', '/api/v1/pipelines', {
        yaml: `include:\n  - local: ci/missing.yml\n${job('main')}`,
        ref: 'main',
        repository: { url: d.path, sha },
      });
      assert.equal(bad.status, 422);
      const msgs = (bad.body.details as { message: string }[]).map((x) => x.message).join('\n');
      assert.match(msgs, /include ci\/missing\.yml: Local file `ci\/missing\.yml` does not exist!/);
    } finally {
      await h.close();
      d.dispose();
    }
  });

  test('an error inside an included file is reported with that file in the API answer', async () => {
    const d = tempDir();
    const h = await harness();
    try {
      initRepo(d.path);
      const sha = repo(d.path, { 'ci/x.yml': '# x\nbroken:\n  script: make\n  when: sometimes\n' });
      const r = await h.api('POST', '/api/v1/pipelines', {
        yaml: `include: ci/x.yml\n${job('main')}`,
        ref: 'main',
        repository: { url: d.path, sha },
      });
      assert.equal(r.status, 422);
      assert.deepEqual(
        r.body.details.map((x: { file?: string; line: number }) => [x.file, x.line]),
        [['ci/x.yml', 4]],
      );
      const noGitLab = await h.api('POST', '/api/v1/pipelines', {
        yaml: `include:\n  - template: A.gitlab-ci.yml\n${job('main')}`,
        ref: 'main',
      });
      assert.equal(noGitLab.status, 422);
      assert.match(noGitLab.body.details[0].message, /include template A\.gitlab-ci\.yml: no GitLab instance is configured/);
    } finally {
      await h.close();
      d.dispose();
    }
  });

  test('includeSources: the working tree wins over the commit when given', async () => {
    const d = tempDir();
    try {
      initRepo(d.path);
      const sha = repo(d.path, { 'a.yml': job('committed') });
      writeFileSync(join(d.path, 'a.yml'), job('working'));
      const wt = includeSources({ repository: { url: d.path, sha, ref: 'main' }, worktree: d.path, cacheDir: join(d.path, '.c') });
      assert.deepEqual(names(await compilePipelineWithIncludes(`include: a.yml`, {}, { sources: wt.sources })), ['working']);
      const commit = includeSources({ repository: { url: d.path, sha, ref: 'main' }, cacheDir: join(d.path, '.c') });
      assert.deepEqual(names(await compilePipelineWithIncludes(`include: a.yml`, {}, { sources: commit.sources })), ['committed']);
    } finally {
      d.dispose();
    }
  });
});

test('coordinator config: gitlab: {url, token | token_env}, else FAULTLINE_GITLAB_URL/TOKEN', () => {
  process.env.FL_TEST_GL_TOKEN = 'from-env';
  const ok = parseCoordinatorConfig('gitlab:\n  url: https://gitlab.example.com\n  token_env: FL_TEST_GL_TOKEN\n', '/x/c.yml');
  assert.ok(ok.ok);
  assert.deepEqual(ok.options.gitlab, { url: 'https://gitlab.example.com', token: 'from-env' });
  const bad = parseCoordinatorConfig('gitlab:\n  url: ftp://x\n  tokn: y\n', '/x/c.yml');
  assert.ok(!bad.ok && bad.problems.length >= 2, JSON.stringify(bad));
  const prev = { u: process.env.FAULTLINE_GITLAB_URL, t: process.env.FAULTLINE_GITLAB_TOKEN };
  process.env.FAULTLINE_GITLAB_URL = 'https://gl.internal';
  process.env.FAULTLINE_GITLAB_TOKEN = 't0k';
  try {
    assert.deepEqual(resolveOptions({ dataDir: '/tmp' }).gitlab, { url: 'https://gl.internal', token: 't0k' });
    assert.deepEqual(
      resolveOptions({ dataDir: '/tmp', gitlab: { url: 'https://a' } }).gitlab,
      { url: 'https://a' },
      'the config wins over the environment',
    );
  } finally {
    for (const [k, v] of [
      ['FAULTLINE_GITLAB_URL', prev.u],
      ['FAULTLINE_GITLAB_TOKEN', prev.t],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});
