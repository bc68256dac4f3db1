import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compilePipeline } from '../../src/config/index.js';

const compile = (yaml: string) => compilePipeline(yaml, { predefined: {} });

describe('config: services, cache, image entrypoint', () => {
  test('services: strings and maps; comma-separated aliases; default and job levels', () => {
    const r = compile(`
default:
  services: [redis:7]
a:
  script: [x]
b:
  services:
    - name: postgres:16
      alias: db, pg
      entrypoint: docker-entrypoint.sh
      command: ["postgres", "-c", "fsync=off"]
      variables: {POSTGRES_PASSWORD: pw, PORT: 5432}
      pull_policy: if-not-present
  script: [x]
c:
  services: []
  script: [x]
`);
    assert.ok(r.ok, JSON.stringify(r));
    const [a, b, c] = r.model.jobs;
    assert.deepEqual(a!.services, [{ name: 'redis:7', alias: [], entrypoint: null, command: null, variables: {}, pull_policy: [] }]);
    assert.deepEqual(b!.services, [
      {
        name: 'postgres:16',
        alias: ['db', 'pg'],
        entrypoint: ['docker-entrypoint.sh'],
        command: ['postgres', '-c', 'fsync=off'],
        variables: { POSTGRES_PASSWORD: 'pw', PORT: '5432' },
        pull_policy: ['if-not-present'],
      },
    ]);
    assert.equal(c!.services, undefined, 'services: [] turns the default off');
    assert.deepEqual(r.warnings, []);
  });

  test('cache: one map or a list; key files/prefix; defaults filled', () => {
    const r = compile(`
j:
  cache:
    - key: {files: [package-lock.json], prefix: $CI_JOB_NAME}
      paths: [node_modules/]
      policy: pull
      fallback_keys: [main-cache]
    - paths: [.cache/]
      untracked: true
      when: always
  script: [x]
`);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.model.jobs[0]!.cache, [
      {
        key: 'default',
        files: ['package-lock.json'],
        prefix: '$CI_JOB_NAME',
        paths: ['node_modules/'],
        untracked: false,
        policy: 'pull',
        when: 'on_success',
        fallback_keys: ['main-cache'],
      },
      {
        key: 'default',
        files: null,
        prefix: null,
        paths: ['.cache/'],
        untracked: true,
        policy: 'pull-push',
        when: 'always',
        fallback_keys: [],
      },
    ]);
  });

  test('image entrypoint and docker user/platform compile; nothing warned', () => {
    const r = compile(`
j:
  image: {name: alpine, entrypoint: [""], docker: {user: 1000, platform: linux/arm64}}
  script: [x]
`);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.model.jobs[0]!.image, {
      name: 'alpine',
      pull_policy: [],
      entrypoint: [''],
      docker: { user: '1000', platform: 'linux/arm64' },
    });
    assert.deepEqual(r.warnings, []);
  });

  test('bad values are errors at their line', () => {
    const r = compile(`
j:
  services:
    - name: redis
      aliass: r
  cache:
    policy: pul
  script: [x]
`);
    assert.equal(r.ok, false);
    const msgs = r.errors.map((e) => `${e.line} ${e.path}: ${e.message}`);
    assert.ok(
      msgs.some((m) => m.startsWith('5 ') && m.includes("unknown key 'aliass'")),
      msgs.join('\n'),
    );
    assert.ok(
      msgs.some((m) => m.startsWith('7 ') && m.includes('pull-push')),
      msgs.join('\n'),
    );
  });
});

describe('lint --executor', () => {
  test('shell: image: warned once for all jobs, services: flagged; docker: neither', async () => {
    const { lintCommand } = await import('../../src/cli/commands/lint.js');
    const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const d = mkdtempSync(join(tmpdir(), 'faultline-lint-'));
    const f = join(d, 'ci.yml');
    writeFileSync(f, 'a:\n  image: alpine\n  services: [redis]\n  script: [x]\nb:\n  image: alpine\n  script: [x]\n');
    const lines: string[] = [];
    const orig = console.log;
    console.log = (...a: unknown[]) => void lines.push(a.join(' '));
    try {
      assert.equal(await lintCommand(f, { executor: 'shell' }), 0);
      assert.equal(await lintCommand(f, { executor: 'docker' }), 0);
    } finally {
      console.log = orig;
      rmSync(d, { recursive: true, force: true });
    }
    const text = lines.join('\n');
    assert.equal(text.split('image: is ignored by the shell executor').length - 1, 1, text);
    assert.match(text, /image: is ignored by the shell executor \(jobs: a, b\)/);
    assert.equal(text.split('services: needs the docker executor').length - 1, 1, text);
  });
});
