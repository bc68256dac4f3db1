/**
 * `secrets:` and `id_tokens:` end to end (real CLI, in-process coordinator, git working
 * tree): GitLab fills them from a secrets provider / OIDC issuer faultline does not have
 * (https://docs.gitlab.com/ee/ci/yaml/#secrets, https://docs.gitlab.com/ee/ci/yaml/#id_tokens).
 * The file is valid, so `faultline lint` accepts it with a warning; creating a pipeline that
 * uses them is refused naming the job and keyword; a child pipeline refused for it fails its
 * trigger job as faultline's own gap (class unknown), never as the developers' build.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

function repo(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const git = (...a: string[]) => execFileSync('git', a, { cwd: dir, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'initial commit');
}

const DEPLOY = `build:
  script: echo built
deploy:
  script: echo "DEPLOYING with $DB_PASSWORD"
  secrets:
    DB_PASSWORD:
      vault: production/db/password@ops
`;

test('secrets: lint warns naming the job and keyword; faultline run refuses the pipeline and runs nothing', async () => {
  const dir = tempDir();
  try {
    repo(dir.path, { '.gitlab-ci.yml': DEPLOY });
    const lint = await runCli(['lint', '.gitlab-ci.yml'], dir.path);
    const lintOut = lint.stdout + lint.stderr;
    assert.equal(lint.status, 0, lintOut);
    assert.match(lintOut, /\.gitlab-ci\.yml:5:3: warning: deploy\.secrets: not provided by faultline/);
    assert.match(lintOut, /valid — but creating a pipeline from it is refused: faultline has no provider for deploy\.secrets/);

    const run = await runCli(['run'], dir.path);
    const out = run.stdout + run.stderr;
    assert.equal(run.status, 2, out);
    assert.match(out, /pipeline refused: .*deploy\.secrets: not provided by faultline.*no secrets provider/);
    assert.doesNotMatch(out, /DEPLOYING|built/);
  } finally {
    dir.dispose();
  }
});

test('id_tokens in a child pipeline: the trigger job fails with the reason in its log, class unknown (not build)', async () => {
  const dir = tempDir();
  try {
    repo(dir.path, {
      '.gitlab-ci.yml': 'child:\n  trigger:\n    include: child.yml\n    strategy: depend\n',
      'child.yml': 'sign:\n  script: echo signing\n  id_tokens:\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore\n',
    });
    const run = await runCli(['run'], dir.path);
    const out = run.stdout + run.stderr;
    assert.equal(run.status, 1, out);
    assert.match(out, /child \| +child\.yml:3:3: sign\.id_tokens: not provided by faultline.*no OIDC ID tokens/);
    assert.match(out, /child \(#\d+\): UNKNOWN · downstream_creation_failed/);
    assert.match(out, /pipeline #1 failed — unknown/);
    assert.doesNotMatch(out, /signing/);
  } finally {
    dir.dispose();
  }
});
