/** The predefined variables of a pipeline, and the commit facts read with real git. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readCommit } from '../../src/coordinator/services/commit-facts.js';
import { pipelinePredefined } from '../../src/coordinator/services/variables.js';
import { tempDir } from '../helpers/tmp.js';

const base = {
  id: 7,
  project: 'group/sub/app',
  sha: '0123456789abcdef0123',
  serverUrl: 'https://ci.example.com:8443',
  repositoryUrl: '/repo',
};

test('branch, tag and merge request pipelines set CI_COMMIT_BRANCH / CI_COMMIT_TAG as GitLab does', () => {
  const branch = pipelinePredefined({ ...base, ref: 'Feature/Login', source: 'push', commitMessage: 'Title line\n\nbody text' });
  assert.equal(branch.CI_COMMIT_BRANCH, 'Feature/Login');
  assert.equal(branch.CI_COMMIT_REF_SLUG, 'feature-login');
  assert.equal(branch.CI_COMMIT_TAG, undefined);
  assert.equal(branch.CI_COMMIT_SHORT_SHA, '01234567');
  assert.equal(branch.CI_COMMIT_TITLE, 'Title line');
  assert.equal(branch.CI_COMMIT_DESCRIPTION, 'body text');
  assert.equal(branch.CI_DEFAULT_BRANCH, 'main');
  assert.deepEqual(
    [branch.CI_PROJECT_NAME, branch.CI_PROJECT_NAMESPACE, branch.CI_PROJECT_ROOT_NAMESPACE, branch.CI_PROJECT_PATH_SLUG],
    ['app', 'group/sub', 'group', 'group-sub-app'],
  );
  assert.deepEqual([branch.CI_SERVER_HOST, branch.CI_SERVER_PORT, branch.CI_SERVER_PROTOCOL], ['ci.example.com', '8443', 'https']);
  const tag = pipelinePredefined({ ...base, ref: 'refs/tags/v1.2.0', source: 'push' });
  assert.equal(tag.CI_COMMIT_TAG, 'v1.2.0');
  assert.equal(tag.CI_COMMIT_REF_NAME, 'v1.2.0');
  assert.equal(tag.CI_COMMIT_BRANCH, undefined);
  const mr = pipelinePredefined({ ...base, ref: 'feat', source: 'merge_request_event' });
  assert.equal(mr.CI_COMMIT_BRANCH, undefined);
  assert.equal(mr.CI_MERGE_REQUEST_SOURCE_BRANCH_NAME, 'feat');
});

test('readCommit (real git): files of the commit, paths changed against the parent, message; root commit has no diff', async () => {
  const dir = tempDir();
  try {
    const git = (...a: string[]) =>
      execFileSync('git', ['-c', 'user.email=t@e', '-c', 'user.name=t', ...a], { cwd: dir.path, encoding: 'utf8' }).trim();
    git('init', '-q', '-b', 'main');
    mkdirSync(join(dir.path, 'src'));
    writeFileSync(join(dir.path, 'src/a.ts'), 'a');
    writeFileSync(join(dir.path, 'README.md'), 'r');
    git('add', '-A');
    git('commit', '-qm', 'first');
    const root = await readCommit(dir.path, git('rev-parse', 'HEAD'));
    assert.deepEqual(root?.facts, { files: ['README.md', 'src/a.ts'], changed: null });
    git('mv', 'src/a.ts', 'src/b.ts');
    git('commit', '-qm', 'rename it\n\nwhy');
    const second = await readCommit(dir.path, git('rev-parse', 'HEAD'));
    assert.deepEqual(second?.facts, { files: ['README.md', 'src/b.ts'], changed: ['src/a.ts', 'src/b.ts'] });
    assert.equal(second?.message, 'rename it\n\nwhy');
    assert.equal(await readCommit('https://example.com/x.git', git('rev-parse', 'HEAD')), null);
  } finally {
    dir.dispose();
  }
});
