import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getSources, normalizeRepoUrl } from '../../src/runner/sources.js';
import { BuildError } from '../../src/runner/executor.js';
import type { JobPayload } from '../../src/protocol/runner-api.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd })
    .toString()
    .trim();

function sink() {
  let out = '';
  return { trace: { write: (c: string | Buffer) => (out += String(c)), line: (t: string) => (out += t + '\n') }, text: () => out };
}

type Src = Pick<JobPayload, 'repository' | 'git'>;

describe('get_sources', () => {
  const tmp = tempDir('faultline-sources-');
  const repo = join(tmp.path, 'origin');
  const shas: string[] = [];

  before(() => {
    execFileSync('git', ['init', '-q', '-b', 'main', repo]);
    for (const n of [1, 2, 3]) {
      writeFileSync(join(repo, 'file.txt'), `version ${n}\n`);
      git(repo, 'add', '.');
      git(repo, 'commit', '-q', '-m', `commit ${n}`);
      shas.push(git(repo, 'rev-parse', 'HEAD'));
    }
  });
  after(() => tmp.dispose());

  const job = (over: Partial<Src['repository'] & object> = {}, g: Partial<Src['git']> = {}): Src => ({
    repository: { url: repo, sha: shas[2]!, ref: 'main', ...over },
    git: { strategy: 'clone', depth: null, ...g },
  });

  test('local paths go through file:// (so --depth applies)', () => {
    assert.equal(normalizeRepoUrl('/srv/r'), 'file:///srv/r');
    assert.equal(normalizeRepoUrl('https://h/r.git'), 'https://h/r.git');
    assert.equal(normalizeRepoUrl('git@h:g/r.git'), 'git@h:g/r.git');
  });

  test('clone checks out the requested sha (not the branch tip)', async (t) => {
    if (!requireTools(t, 'git')) return;
    const dir = join(tmp.path, 'b1');
    const s = sink();
    await getSources({ job: job({ sha: shas[1]! }), buildDir: dir, trace: s.trace });
    assert.equal(readFileSync(join(dir, 'file.txt'), 'utf8'), 'version 2\n');
    assert.equal(git(dir, 'rev-parse', 'HEAD'), shas[1]);
    assert.match(s.text(), /HEAD is now at/);
  });

  test('GIT_DEPTH=1 makes a shallow clone', async (t) => {
    if (!requireTools(t, 'git')) return;
    const dir = join(tmp.path, 'b2');
    await getSources({ job: job({}, { depth: 1 }), buildDir: dir, trace: sink().trace });
    assert.equal(git(dir, 'rev-list', '--count', 'HEAD'), '1');
    assert.equal(git(dir, 'rev-parse', '--is-shallow-repository'), 'true');
    assert.equal(readFileSync(join(dir, 'file.txt'), 'utf8'), 'version 3\n');
  });

  test('GIT_DEPTH=1 with an older sha still gets that sha', async (t) => {
    if (!requireTools(t, 'git')) return;
    const dir = join(tmp.path, 'b2b');
    await getSources({ job: job({ sha: shas[0]! }, { depth: 1 }), buildDir: dir, trace: sink().trace });
    assert.equal(git(dir, 'rev-parse', 'HEAD'), shas[0]);
  });

  test('fetch reuses the checkout and cleans untracked files; none leaves the dir alone', async (t) => {
    if (!requireTools(t, 'git')) return;
    const dir = join(tmp.path, 'b3');
    await getSources({ job: job({ sha: shas[0]! }), buildDir: dir, trace: sink().trace });
    writeFileSync(join(dir, 'junk'), 'x');
    const s = sink();
    await getSources({ job: job({}, { strategy: 'fetch' }), buildDir: dir, trace: s.trace });
    assert.match(s.text(), /Reinitialized existing Git repository/);
    assert.equal(git(dir, 'rev-parse', 'HEAD'), shas[2]);
    assert.equal(existsSync(join(dir, 'junk')), false);
    writeFileSync(join(dir, 'kept'), 'x');
    const n = sink();
    await getSources({ job: job({ sha: shas[0]! }, { strategy: 'none' }), buildDir: dir, trace: n.trace });
    assert.match(n.text(), /GIT_STRATEGY=none/);
    assert.equal(existsSync(join(dir, 'kept')), true);
    assert.equal(git(dir, 'rev-parse', 'HEAD'), shas[2]);
  });

  test('unreachable remote → runner_external_dependency_failure at get_sources, with git stderr', async (t) => {
    if (!requireTools(t, 'git')) return;
    const dir = join(tmp.path, 'b4');
    const err = await getSources({ job: job({ url: 'http://127.0.0.1:9/nothing.git' }), buildDir: dir, trace: sink().trace }).then(
      () => null,
      (e) => e,
    );
    assert.ok(err instanceof BuildError, String(err));
    assert.equal(err.reason, 'runner_external_dependency_failure');
    assert.equal(err.stage, 'get_sources');
    assert.match(err.message, /unable to access|Failed to connect|Connection refused/i);
  });

  test('missing repository path → runner_external_dependency_failure', async (t) => {
    if (!requireTools(t, 'git')) return;
    const err = await getSources({
      job: job({ url: join(tmp.path, 'no-such-repo') }),
      buildDir: join(tmp.path, 'b5'),
      trace: sink().trace,
    }).catch((e) => e);
    assert.ok(err instanceof BuildError);
    assert.equal(err.reason, 'runner_external_dependency_failure');
    assert.match(err.message, /does not appear to be a git repository|Could not read from remote/);
  });

  test('a sha or ref the remote does not have → script_failure at get_sources', async (t) => {
    if (!requireTools(t, 'git')) return;
    const bad = await getSources({ job: job({ sha: 'f'.repeat(40) }), buildDir: join(tmp.path, 'b6'), trace: sink().trace }).catch(
      (e) => e,
    );
    assert.ok(bad instanceof BuildError);
    assert.equal(bad.reason, 'script_failure');
    assert.equal(bad.stage, 'get_sources');
    const noRef = await getSources({
      job: job({ ref: 'no-such-branch', sha: null }),
      buildDir: join(tmp.path, 'b7'),
      trace: sink().trace,
    }).catch((e) => e);
    assert.ok(noRef instanceof BuildError);
    assert.equal(noRef.reason, 'script_failure');
    assert.match(noRef.message, /couldn't find remote ref/);
  });

  test('a ref that looks like a git option stays a ref (no --upload-pack command runs)', async (t) => {
    if (!requireTools(t, 'git')) return;
    const pwned = join(tmp.path, 'PWNED');
    const evil = `--upload-pack=touch ${pwned}; git-upload-pack`;
    const err = await getSources({ job: job({ ref: evil, sha: null }), buildDir: join(tmp.path, 'b8'), trace: sink().trace }).catch(
      (e) => e,
    );
    assert.ok(err instanceof BuildError, 'the fetch of such a ref fails');
    assert.equal(existsSync(pwned), false, 'the injected command did not run');
  });
});
