/**
 * The `faultline` command as a user runs it: real processes, a real git working tree.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, jobsByName, spawnFaultline, startCoordinator, startRunnerProcess, userApi } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli } from '../helpers/cli.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const cli = (args: string[], cwd?: string, env: Record<string, string> = {}) => runCli(args, cwd, env);

function gitRepo(dir: string, ciYaml: string, files: Record<string, string> = {}): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '.gitlab-ci.yml'), ciYaml);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const git = (...a: string[]) => execFileSync('git', a, { cwd: dir, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'init');
}

test('faultline run: runs HEAD of the working tree with its sources; exit code reflects the pipeline', async () => {
  const dir = tempDir();
  try {
    const repo = join(dir.path, 'repo');
    gitRepo(repo, 'check:\n  script:\n    - test -f hello.txt\n    - cat hello.txt\n', { 'hello.txt': 'hello from the repository\n' });
    const ok = await cli(['run'], repo);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /pipeline #1 success/);

    const failing = join(dir.path, 'failing');
    cpSync(join(ROOT, 'examples'), join(dir.path, 'ex'), { recursive: true });
    gitRepo(failing, readFileSync(join(ROOT, 'examples/failing.gitlab-ci.yml'), 'utf8'));
    const bad = await cli(['run'], failing);
    assert.equal(bad.status, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /BUILD — yours to fix · test_failure/);
    assert.match(bad.stdout, /L\d+: Tests: +1 failed/);
    assert.match(bad.stdout, /pipeline #1 failed — build/);
  } finally {
    dir.dispose();
  }
});

test('faultline run outside a git tree, and with a refused config: exit 2 with line:column', async () => {
  const dir = tempDir();
  try {
    const outside = await cli(['run'], dir.path);
    assert.equal(outside.status, 2);
    assert.match(outside.stderr, /not inside a git working tree/);
    const repo = join(dir.path, 'repo');
    gitRepo(repo, 'job:\n  scrpt: echo\n');
    const refused = await cli(['run'], repo);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /\.gitlab-ci\.yml:2:3: job\.scrpt: .*did you mean 'script'/);
  } finally {
    dir.dispose();
  }
});

test('faultline lint: valid examples pass; a bad file lists every problem with line:column', async () => {
  for (const f of ['passing', 'failing', 'manual-gates', 'early-exit']) {
    const r = await cli(['lint', `examples/${f}.gitlab-ci.yml`]);
    assert.equal(r.status, 0, r.stdout);
  }
  const dir = tempDir();
  try {
    const file = join(dir.path, 'bad.yml');
    writeFileSync(
      file,
      'stages: [build]\nbuild:\n  stage: biuld\n  script: 42\n  resource_group: prod\n  artifacts: {paths: [x], expire_in: soon}\n',
    );
    const r = await cli(['lint', file]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /bad\.yml:3:\d+: error: build\.stage/);
    assert.match(r.stdout, /bad\.yml:4:\d+: error: build\.script/);
    assert.doesNotMatch(r.stdout, /build\.resource_group/); // implemented: one job of the group at a time
    assert.match(r.stdout, /bad\.yml:6:\d+: error: build\.artifacts\.expire_in: cannot read "soon" as a duration/);
  } finally {
    dir.dispose();
  }
});

test('faultline why / failures / cancel / rules test against a coordinator process', async () => {
  const dir = tempDir();
  const data = join(dir.path, 'data');
  const coord = await startCoordinator({ dataDir: data });
  const runner = await startRunnerProcess({ url: coord.url, registrationToken: coord.registrationToken });
  try {
    const api = userApi(coord.url, coord.apiToken);
    const env = { FAULTLINE_URL: coord.url, FAULTLINE_API_TOKEN: coord.apiToken };
    const p = await api.waitPipeline(
      (
        await api.createPipeline(
          'disk:\n  script: echo "No space left on device"; exit 1\nunit:\n  script: \'echo "--- FAIL: TestX (0.00s)"; exit 1\'\n',
        )
      ).id,
    );
    const disk = jobsByName(p)['disk']!;
    const why = await cli(['why', String(disk.id)], ROOT, env);
    assert.equal(why.status, 0, why.stderr);
    assert.match(why.stdout, /INFRA — operators' to fix · disk_full/);
    assert.match(why.stdout, /L\d+: No space left on device/);

    const infra = await cli(['failures', '--class', 'infra', '--since', '1h'], ROOT, env);
    assert.equal(infra.status, 0, infra.stderr);
    assert.match(infra.stdout, /disk/);
    assert.doesNotMatch(infra.stdout, /unit/);
    const onShell = await cli(['failures', '--executor', 'docker,shell', '--since', '1h'], ROOT, env);
    assert.match(onShell.stdout, /disk/);
    const onDocker = await cli(['failures', '--executor', 'docker', '--runner-name', 'nobody'], ROOT, env);
    assert.equal(onDocker.status, 0, onDocker.stderr);
    assert.match(onDocker.stdout, /no failures match/);
    const badClass = await cli(['failures', '--class', 'nope'], ROOT, env);
    assert.notEqual(badClass.status, 0);
    assert.match(badClass.stderr, /nope/);

    const long = await api.createPipeline('long:\n  script: sleep 30\n');
    await api.waitPipeline(long.id, (x) => jobsByName(x)['long']?.status === 'running');
    const cancel = await cli(['cancel', String(long.id)], ROOT, env);
    assert.equal(cancel.status, 0, cancel.stderr);
    await api.waitPipeline(long.id, (x) => x.status === 'canceled', 15_000);

    // Backtest: a candidate that calls disk_full a build problem changes exactly that verdict.
    const candidate = join(dir.path, 'rules');
    cpSync(join(ROOT, 'rules/classification'), candidate, { recursive: true });
    // The file of the rule that decided the disk job (several rules conclude disk_full).
    const ruleId = (await api.job(disk.id)).failure?.rule?.id;
    assert.ok(ruleId, 'a rule decided the disk job');
    const files = (await promisify(execFile)('grep', ['-l', `id: ${ruleId}$`, '-r', candidate], { encoding: 'utf8' })).stdout
      .trim()
      .split('\n');
    const file = files[0]!;
    const text = readFileSync(file, 'utf8');
    const idx = text.indexOf('cause: disk_full', text.search(new RegExp(`id: ${ruleId}$`, 'm')));
    const before = text.lastIndexOf('class: infra', idx);
    assert.ok(before >= 0, 'the disk_full rule declares class infra before its cause');
    writeFileSync(file, text.slice(0, before) + 'class: build' + text.slice(before + 'class: infra'.length));
    const bt = await cli(['rules', 'test', '--rules', candidate, '--since', '1h', '--data', data, '--json']);
    assert.equal(bt.status, 0, bt.stderr);
    const out = JSON.parse(bt.stdout) as {
      total: number;
      changed: number;
      transitions: Array<{ from: { class: string; cause: string }; to: { class: string }; sample_job_ids: number[] }>;
    };
    assert.ok(out.total >= 2);
    assert.equal(out.changed, 1);
    assert.deepEqual(out.transitions[0]!.from, { class: 'infra', cause: 'disk_full' });
    assert.equal(out.transitions[0]!.to.class, 'build');
    assert.deepEqual(out.transitions[0]!.sample_job_ids, [disk.id]);
    // Nothing was written: the stored verdict is unchanged.
    assert.equal((await api.job(disk.id)).failure?.class, 'infra');
  } finally {
    await runner.kill();
    await coord.kill();
    dir.dispose();
  }
});

test('faultline up: UI, API and /metrics on localhost; SIGTERM stops it cleanly', async () => {
  const dir = tempDir();
  const port = await freePort();
  const up = spawnFaultline(['up', '--port', String(port), '--data', join(dir.path, 'data'), '--runners', '1', '--example']);
  try {
    // A bound for a hang, not a speed target: on a loaded 2-core CI machine start-up took over 20 s.
    const deadline = Date.now() + 120_000;
    while (!/example pipeline #2/.test(up.output())) {
      if (Date.now() > deadline || up.child.exitCode !== null)
        throw new Error(`faultline up printed no example pipeline (exit ${up.child.exitCode}):\n${up.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const token = /Bearer (\S+)\)/.exec(up.output())![1]!;
    const base = `http://127.0.0.1:${port}`;
    const html = await (await fetch(`${base}/`)).text();
    assert.match(html, /faultline/i);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /faultline_jobs_finished_total|faultline_runners/);
    const api = userApi(base, token);
    const p1 = await api.waitPipeline(1);
    assert.equal(p1.status, 'success');
    const p2 = await api.waitPipeline(2);
    assert.equal(p2.status, 'failed');
    assert.equal(await up.kill('SIGTERM'), 0);
  } finally {
    await up.kill('SIGKILL');
    dir.dispose();
  }
});

test('conventions: --version, usage errors exit 2 with the usage, exit codes in --help', async () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const v = await cli(['--version']);
  assert.equal(v.status, 0);
  assert.equal(v.stdout.trim(), pkg.version);
  for (const args of [['--bogus'], ['lint'], ['nonsense-command'], ['failures', '--class', 'nope'], []]) {
    const r = await cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /Usage: faultline/);
  }
  const help = await cli(['--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Exit codes:\n {2}0 {2}success\n {2}1 .*\n.*\n {2}2 {2}usage/);
  assert.match((await cli(['run', '--help'])).stdout, /Exit codes: 0 success, 1 failed, 2 usage or refused config, 3 canceled or blocked/);
  const unreadable = await cli(['lint', '/nonexistent/.gitlab-ci.yml']);
  assert.equal(unreadable.status, 2);
});

test('lint --json: parsed result for a valid and a refused file (exit 0 and 1)', async () => {
  const ok = await cli(['lint', '--json', 'examples/passing.gitlab-ci.yml']);
  assert.equal(ok.status, 0, ok.stderr);
  const good = JSON.parse(ok.stdout) as { valid: boolean; jobs: string[]; stages: string[]; errors: unknown[] };
  assert.equal(good.valid, true);
  assert.ok(good.jobs.includes('build'));
  assert.deepEqual(good.errors, []);
  const dir = tempDir();
  try {
    writeFileSync(join(dir.path, 'bad.yml'), 'job:\n  scrpt: echo\n');
    const r = await cli(['lint', '--json', join(dir.path, 'bad.yml')]);
    assert.equal(r.status, 1);
    const bad = JSON.parse(r.stdout) as { valid: boolean; errors: Array<{ line: number; column: number; message: string }> };
    assert.equal(bad.valid, false);
    assert.ok(bad.errors.some((e) => e.line === 2 && e.column === 3 && /did you mean 'script'/.test(e.message)));
  } finally {
    dir.dispose();
  }
});

test('faultline run keeps its state: why / failures / logs / pipelines in the same directory, no token given; working-tree files with a warning; escapes neutralised', async () => {
  const dir = tempDir();
  try {
    const repo = join(dir.path, 'repo');
    gitRepo(
      repo,
      "build:\n  image: node:20\n  script:\n    - printf 'title \\033]0;pwned\\007 clear \\033[2J\\n'\n    - cat hello.txt\n" +
        'disk:\n  script: echo "No space left on device"; exit 1\n',
      { 'hello.txt': 'committed\n' },
    );
    writeFileSync(join(repo, 'hello.txt'), 'from the working tree\n');
    const r = await cli(['run'], repo);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /warning: 1 uncommitted change\(s\) \(hello\.txt\); running the working tree's files/);
    assert.equal(r.stdout.match(/image: is ignored by the shell executor: the jobs run on this machine/g)?.length, 1);
    assert.match(r.stdout, /^build +\| from the working tree$/m); // every job's output, prefixed by its name
    assert.match(r.stdout, /^build +\| title \\x1b\]0;pwned\\x07 clear \\x1b\[2J$/m);
    assert.doesNotMatch(r.stdout + r.stderr, /\x1b/); // no raw escape reached the terminal
    assert.match(r.stdout, /INFRA — operators' to fix · disk_full/);
    assert.doesNotMatch(execFileSync('git', ['status', '--porcelain'], { cwd: repo, encoding: 'utf8' }), /^(A|M) /m); // index untouched

    const env = { FAULTLINE_URL: '', FAULTLINE_API_TOKEN: '' };
    const failures = await cli(['failures', '--json'], repo, env);
    assert.equal(failures.status, 0, failures.stderr);
    const list = JSON.parse(failures.stdout) as { failures: Array<{ id: number; name: string; failure: { cause: string } }> };
    const disk = list.failures.find((f) => f.name === 'disk');
    assert.equal(disk?.failure.cause, 'disk_full');
    const why = await cli(['why', String(disk!.id)], repo, env);
    assert.equal(why.status, 0, why.stderr);
    assert.match(why.stdout, /INFRA — operators' to fix · disk_full/);
    const pipelines = await cli(['pipelines', '--json'], repo, env);
    const pl = JSON.parse(pipelines.stdout) as { pipelines: Array<{ id: number; status: string }> };
    assert.deepEqual(
      pl.pipelines.map((p) => [p.id, p.status]),
      [[1, 'failed']],
    );
    const table = await cli(['pipelines'], repo, env);
    assert.match(table.stdout, /^ID +STATUS +CLASS +PROJECT +REF +SHA/m);
    const status = await cli(['pipelines', 'status', '1'], repo, env);
    assert.equal(status.status, 1);
    assert.match(status.stdout, /^JOB +STAGE +NAME +STATUS/m);
    const build = (await cli(['pipelines', 'status', '1', '--json'], repo, env)).stdout;
    const buildId = (JSON.parse(build) as { jobs: Array<{ id: number; name: string }> }).jobs.find((j) => j.name === 'build')!.id;
    const logs = await cli(['logs', String(buildId)], repo, env);
    assert.equal(logs.status, 0, logs.stderr);
    assert.match(logs.stdout, /from the working tree/);
    assert.match(logs.stdout, /title \\x1b\]0;pwned/);
    assert.doesNotMatch(logs.stdout, /\x1b/);
    const missing = await cli(['why', '999'], repo, env);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /HTTP 404/);

    // --committed runs HEAD's files; the state keeps accumulating in the same store.
    const committed = await cli(['run', '--committed', '--json'], repo);
    assert.equal(committed.status, 1, committed.stderr);
    const p2 = JSON.parse(committed.stdout) as { id: number; status: string; jobs: Array<{ id: number; name: string }> };
    assert.deepEqual([p2.id, p2.status], [2, 'failed']);
    assert.doesNotMatch(committed.stderr, /uncommitted/);
    const build2 = p2.jobs.find((j) => j.name === 'build')!.id;
    assert.match((await cli(['logs', String(build2)], repo, env)).stdout, /^committed$/m);
  } finally {
    dir.dispose();
  }
});

test('faultline run: a blocking manual gate — off a TTY the exact `faultline play N` (exit 3), which then runs it; on a TTY `p` plays it', async () => {
  const dir = tempDir();
  try {
    const repo = join(dir.path, 'repo');
    gitRepo(
      repo,
      'build:\n  script: echo built\ndeploy:\n  stage: deploy\n  when: manual\n  allow_failure: false\n  script: echo deployed\n',
    );
    const blocked = await cli(['run', '--quiet'], repo);
    assert.equal(blocked.status, 3, blocked.stdout + blocked.stderr);
    const n = /play it with: faultline play (\d+)/.exec(blocked.stdout)?.[1];
    assert.ok(n, blocked.stdout);
    const played = await cli(['play', n], repo, { FAULTLINE_URL: '' });
    assert.equal(played.status, 0, played.stdout + played.stderr);
    assert.match(played.stdout, /^deploy +\| deployed$/m);
    assert.match(played.stdout, /pipeline #1 success/);

    // A pseudo-terminal (util-linux script): the person presses p.
    const child = spawn('script', ['-qefc', `${process.execPath} ${join(ROOT, 'bin/faultline.js')} run`, '/dev/null'], {
      cwd: repo,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let pressed = false;
    const stdinErrors: Error[] = [];
    child.stdin.on('error', (e) => stdinErrors.push(e));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      // Once: output keeps coming after the key press, and by then `script` may have exited (EPIPE).
      if (!pressed && /press p to play it/.test(out)) {
        pressed = true;
        child.stdin.write('p');
      }
    });
    const code = await new Promise<number | null>((res) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 90_000);
      child.once('close', (c) => (clearTimeout(t), res(c)));
    });
    assert.equal(code, 0, out);
    assert.deepEqual(stdinErrors, [], 'the key press reached the terminal');
    assert.match(out, /the manual job deploy \(#\d+\) blocks the pipeline/);
    assert.match(out, /deploy +\| deployed/);
    assert.match(out, /pipeline #2 success/);
  } finally {
    dir.dispose();
  }
});

test('faultline run in a repository without commits: a clear message and exit 2', async () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir.path, '.gitlab-ci.yml'), 'a:\n  script: echo\n');
    execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir.path });
    const r = await cli(['run'], dir.path);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /has no commits yet; commit once/);
  } finally {
    dir.dispose();
  }
});

test('runners and incidents --json against a coordinator process', async () => {
  const dir = tempDir();
  const coord = await startCoordinator({ dataDir: join(dir.path, 'data') });
  const runner = await startRunnerProcess({ url: coord.url, registrationToken: coord.registrationToken });
  try {
    const env = { FAULTLINE_URL: coord.url, FAULTLINE_API_TOKEN: coord.apiToken };
    const r = await cli(['runners', '--json'], ROOT, env);
    assert.equal(r.status, 0, r.stderr);
    const { runners } = JSON.parse(r.stdout) as { runners: Array<{ id: number; state: string }> };
    assert.equal(runners.length, 1);
    const t = await cli(['runners'], ROOT, env);
    assert.match(t.stdout, /^ID +NAME +STATE +EXECUTOR/m);
    const i = await cli(['incidents', '--json'], ROOT, env);
    assert.equal(i.status, 0, i.stderr);
    assert.ok(Array.isArray((JSON.parse(i.stdout) as { incidents: unknown[] }).incidents));
    const noNote = await cli(['incidents', 'resolve', '1'], ROOT, env);
    assert.equal(noNote.status, 2);
    assert.match(noNote.stderr, /--note/);
    // DELETE /api/v1/runners/:id through the CLI: the runner is gone from the list; an unknown id is an error.
    const rm = await cli(['runners', 'remove', String(runners[0]!.id), '--json'], ROOT, env);
    assert.equal(rm.status, 0, rm.stderr);
    assert.deepEqual(JSON.parse(rm.stdout), { removed: runners[0]!.id });
    const after = JSON.parse((await cli(['runners', '--json'], ROOT, env)).stdout) as { runners: unknown[] };
    assert.deepEqual(after.runners, []);
    const again = await cli(['runners', 'remove', String(runners[0]!.id)], ROOT, env);
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /404|not found/i);
  } finally {
    await runner.kill();
    await coord.kill();
    dir.dispose();
  }
});
