import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRunnerConfig, parseRunnerConfig, RunnerConfigError } from '../../src/runner/config.js';
import { tempDir } from '../helpers/tmp.js';

const good = `
concurrent = 3
check_interval = 2

[[runners]]
  name = "shell-1"
  url = "http://127.0.0.1:8080"
  token = "flrt_abc"
  executor = "shell"
  tags = ["linux", "fast"]
  limit = 5

[[runners]]
  name = "docker-1"
  url = "http://127.0.0.1:8080"
  registration_token = "reg"
  executor = "docker"
  builds_dir = "/builds"
  [runners.docker]
    host = "unix:///run/podman/podman.sock"
    pull_policy = ["always", "if-not-present"]
    allowed_pull_policies = ["always", "if-not-present"]
    privileged = false
    volumes = ["/cache:/cache"]
`;

function errorOf(text: string): RunnerConfigError {
  try {
    parseRunnerConfig(text, 'cfg.toml');
  } catch (e) {
    assert.ok(e instanceof RunnerConfigError, String(e));
    return e;
  }
  assert.fail('expected a RunnerConfigError');
}

describe('runner config.toml', () => {
  test('a valid file gives one runner spec per [[runners]]', () => {
    const tmp = tempDir();
    try {
      const file = join(tmp.path, 'config.toml');
      writeFileSync(file, good);
      const [a, b] = loadRunnerConfig(file);
      assert.equal(a!.name, 'shell-1');
      assert.equal(a!.token, 'flrt_abc');
      assert.equal(a!.concurrency, 3, 'limit is capped by concurrent');
      assert.deepEqual(a!.tags, ['linux', 'fast']);
      assert.equal(a!.pollIntervalMs, 2000);
      assert.equal(b!.registrationToken, 'reg');
      assert.equal(b!.buildsDir, '/builds');
      assert.equal(b!.executor, 'docker');
      assert.deepEqual((b!.executorConfig as { pull_policy: string[] }).pull_policy, ['always', 'if-not-present']);
    } finally {
      tmp.dispose();
    }
  });

  test('TOML syntax error names the file, line and column', () => {
    const e = errorOf('concurrent = 1\n[[runners]\nname = "x"\n');
    assert.match(e.message, /^cfg\.toml:2:\d+: /);
  });

  test('unknown executor names the runner, field and line', () => {
    const e = errorOf(good.replace('executor = "docker"', 'executor = "dokcer"'));
    assert.match(e.message, /cfg\.toml:17: \[\[runners\]\] #2 \("docker-1"\) executor: unknown executor "dokcer"/);
  });

  test('bad pull policy inside [runners.docker] names the key path and line', () => {
    const e = errorOf(good.replace('pull_policy = ["always", "if-not-present"]', 'pull_policy = "sometimes"'));
    assert.equal(e.issues[0]!.path, 'runners.1.docker.pull_policy');
    assert.equal(e.issues[0]!.line, 21);
    assert.match(e.message, /#2 \("docker-1"\) docker\.pull_policy/);
  });

  test('a typo in a [[runners]] key is an error, not silently ignored', () => {
    const e = errorOf(good.replace('limit = 5', 'limt = 5'));
    assert.match(e.message, /cfg\.toml:11: \[\[runners\]\] #1 \("shell-1"\) limt: Unrecognized key/);
  });

  test('missing url, missing token', () => {
    const noUrl = errorOf('[[runners]]\nname = "x"\ntoken = "t"\nexecutor = "shell"\n');
    assert.deepEqual(
      noUrl.issues.map((i) => i.path),
      ['runners.0.url'],
    );
    const noToken = errorOf('[[runners]]\nname = "x"\nurl = "http://x"\nexecutor = "shell"\n');
    assert.deepEqual(
      noToken.issues.map((i) => i.path),
      ['runners.0.token'],
    );
    assert.match(noToken.message, /token or registration_token is required/);
  });

  test('custom executor requires run_exec; wrong types name the field', () => {
    assert.match(errorOf('[[runners]]\nurl = "http://x"\ntoken = "t"\nexecutor = "custom"\n').message, /custom\.run_exec/);
    const e = errorOf(good.replace('tags = ["linux", "fast"]', 'tags = "linux"'));
    assert.match(e.message, /cfg\.toml:10: .*tags: Expected array/);
  });

  test('no [[runners]] at all, and an unreadable file', () => {
    assert.match(errorOf('concurrent = 2\n').message, /runners/);
    assert.throws(() => loadRunnerConfig('/nonexistent/config.toml'), /\/nonexistent\/config\.toml: cannot read/);
  });
});
