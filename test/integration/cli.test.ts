/**
 * The `faultline` command as a user runs it: real processes, a real git working tree.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
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
    const files = spawnSync('grep', ['-l', `id: ${ruleId}$`, '-r', candidate], { encoding: 'utf8' })
      .stdout.trim()
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
    const deadline = Date.now() + 20_000;
    while (!/example pipeline #2/.test(up.output())) {
      if (Date.now() > deadline || up.child.exitCode !== null) throw new Error(up.output());
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
