/**
 * Issue 14, defects 2 and 8, with real processes (the `faultline` CLI, real shell jobs):
 *  - a job finds none of the runner's or coordinator's secrets: not in its environment,
 *    not in the runner's command line, not next to its builds dir;
 *  - the data dir is 0700 and its SQLite files 0600;
 *  - `--user nobody` runs the job as nobody (needs root, as here);
 *  - a runner killed with SIGKILL takes its job's processes with it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, jobsByName, spawnFaultline, startCoordinator, startRunnerProcess, userApi } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/faultline.js');

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie nobody reaps (PID 1 of a container may not) has stopped running too.
  const stat = (() => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return '';
    }
  })();
  return stat !== '' && !/^\d+ \(.*\) Z/.test(stat);
};

// Bounds for a hang, not speed targets: on a loaded 2-core machine a runner took over 20 s to start.
async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a runner killed with SIGKILL takes its job (and the job’s children) with it', async () => {
  const dir = tempDir();
  const marks = join(dir.path, 'marks');
  const coord = await startCoordinator({ dataDir: join(dir.path, 'data'), heartbeatTimeoutSec: 30 });
  const runner = await startRunnerProcess({ url: coord.url, registrationToken: coord.registrationToken, concurrency: 1 });
  const pids: number[] = [];
  try {
    const api = userApi(coord.url, coord.apiToken);
    await api.createPipeline(
      `victim:\n  script:\n    - mkdir -p ${marks}\n    - sleep 120 & echo $! > ${marks}/child\n    - echo $$ > ${marks}/shell\n    - sleep 3\n    - touch ${marks}/side-effect\n    - wait\n`,
    );
    // A pid file exists before echo's write lands in it: wait for the whole line, not the file.
    const pidIn = (name: string): number | undefined => {
      const f = join(marks, name);
      const m = existsSync(f) ? /^(\d+)\n$/.exec(readFileSync(f, 'utf8')) : null;
      return m ? Number(m[1]) : undefined;
    };
    await until(() => pidIn('shell') !== undefined && pidIn('child') !== undefined, 120_000, 'the job started');
    pids.push(pidIn('shell')!, pidIn('child')!);
    assert.ok(pids.every(alive), 'the job runs');
    await runner.kill('SIGKILL');
    await until(() => !pids.some(alive), 30_000, `job processes ${pids.join(', ')} still alive after the runner died`).catch((e) => {
      throw new Error(
        `${(e as Error).message}: ${pids.map((p) => (existsSync(`/proc/${p}/stat`) ? readFileSync(`/proc/${p}/stat`, 'utf8').slice(0, 40) : `${p} gone`)).join(' | ')}`,
      );
    });
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal(existsSync(join(marks, 'side-effect')), false, 'the orphaned script went on with its side effects');
  } finally {
    for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL');
    await runner.kill();
    await coord.kill();
    dir.dispose();
  }
});

test('a job sees none of the runner’s secrets; the data dir is private', async () => {
  const dir = tempDir();
  const data = join(dir.path, 'data');
  const out = join(dir.path, 'out');
  const coord = await startCoordinator({ dataDir: data, env: { FAULTLINE_API_TOKEN: 'flapi_given-by-the-environment-1234' } });
  const regFile = join(dir.path, 'reg-token');
  writeFileSync(regFile, `${coord.registrationToken}\n`, { mode: 0o600 });
  const runner = spawnFaultline(
    ['runner', '--url', coord.url, '--registration-token-file', regFile, '--name', 'file-token', '--heartbeat', '0.5'],
    { FAULTLINE_API_TOKEN: coord.apiToken },
  );
  try {
    await until(() => /polling/.test(runner.output()) || runner.child.exitCode !== null, 120_000, 'runner start');
    assert.match(runner.output(), /polling/, runner.output());
    assert.doesNotMatch(runner.output(), /warning: --registration-token/);
    const api = userApi(coord.url, coord.apiToken);
    const p = await api.createPipeline(
      `peek:\n  script:\n    - mkdir -p ${out}\n    - env > ${out}/env\n    - tr '\\0' ' ' < /proc/$PPID/cmdline > ${out}/cmdline\n    - ls -a $CI_BUILDS_DIR/.. > ${out}/ls\n`,
    );
    const done = await api.waitPipeline(p.id);
    assert.equal(jobsByName(done)['peek']!.status, 'success');
    const env = readFileSync(join(out, 'env'), 'utf8');
    const cmdline = readFileSync(join(out, 'cmdline'), 'utf8');
    assert.match(cmdline, /faultline/, 'the parent is the runner');
    for (const [name, secret] of [
      ['API token', coord.apiToken],
      ['registration token', coord.registrationToken],
    ] as const) {
      assert.ok(!env.includes(secret), `the job environment holds the ${name}`);
      assert.ok(!cmdline.includes(secret), `the runner's command line holds the ${name}`);
    }
    assert.doesNotMatch(env, /^FAULTLINE_API_TOKEN=/m);
    assert.doesNotMatch(readFileSync(join(out, 'ls'), 'utf8'), /api-token|faultline\.db/);
    // The data dir and what is in it are the coordinator's alone.
    assert.equal(statSync(data).mode & 0o777, 0o700);
    for (const f of readdirSync(data).filter((f) => f.startsWith('faultline.db') || f.endsWith('token')))
      assert.equal(statSync(join(data, f)).mode & 0o077, 0, `${f} is readable by others`);
    assert.ok(existsSync(join(data, 'faultline.db-wal')), 'WAL file checked too');
  } finally {
    await runner.kill();
    await coord.kill();
    dir.dispose();
  }
});

test('the token flag still works, with a warning; the coordinator prints its tokens only when it creates them', async () => {
  const dir = tempDir();
  const data = join(dir.path, 'data');
  let coord = await startCoordinator({ dataDir: data });
  try {
    const first = coord;
    await until(() => /API token:/.test(first.output()), 60_000, 'token lines');
    assert.ok(coord.output().includes(coord.registrationToken), 'first start: the new registration token is shown');
    assert.ok(coord.output().includes(coord.apiToken), 'first start: the new API token is shown');
    const runner = await startRunnerProcess({ url: coord.url, registrationToken: coord.registrationToken });
    assert.match(runner.output(), /warning: --registration-token on the command line is visible/);
    await runner.kill();
    await coord.kill();
    coord = await startCoordinator({ dataDir: data });
    const second = coord;
    await until(() => /API token:/.test(second.output()), 60_000, 'token lines');
    assert.ok(!coord.output().includes(coord.registrationToken), coord.output());
    assert.ok(!coord.output().includes(coord.apiToken), coord.output());
    assert.match(coord.output(), /saved in .*registration-token/);
  } finally {
    await coord.kill();
    dir.dispose();
  }
});

test('--user nobody runs the job as nobody (runner as root)', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async () => {
  const dir = tempDir();
  chmodSync(dir.path, 0o755); // the builds dir below must be reachable by nobody
  const coord = await startCoordinator({ dataDir: join(dir.path, 'data') });
  const runner = await startRunnerProcess({
    url: coord.url,
    registrationToken: coord.registrationToken,
    extraArgs: ['--user', 'nobody', '--builds-dir', join(dir.path, 'builds')],
    env: { FAULTLINE_REGISTRATION_TOKEN: coord.registrationToken },
  });
  try {
    const api = userApi(coord.url, coord.apiToken);
    const p = await api.createPipeline(
      `who:\n  script:\n    - id -un > $CI_PROJECT_DIR/who\n    - cat $CI_PROJECT_DIR/who\n    - touch $CI_PROJECT_DIR/written-by-the-job\n    - cat ${join(dir.path, 'data', 'api-token')} || echo cannot-read-api-token\n`,
    );
    const done = await api.waitPipeline(p.id);
    const job = jobsByName(done)['who']!;
    const trace = await api.trace(job.id);
    assert.equal(job.status, 'success', trace);
    assert.match(trace, /^nobody$/m);
    assert.match(trace, /cannot-read-api-token/);
    assert.ok(!trace.includes(coord.apiToken));
  } finally {
    await runner.kill();
    await coord.kill();
    dir.dispose();
  }
});

test('--user is refused for a runner that is not root, naming why (as root, the runner is started as nobody)', async () => {
  const args = ['runner', '--url', 'http://127.0.0.1:9', '--user', 'nobody'];
  const env = { FAULTLINE_REGISTRATION_TOKEN: 'flreg_not-used-the-check-comes-first' };
  const r = process.getuid?.() === 0 ? spawnAs('nobody', args, env) : spawnFaultline(args, env);
  await r.exited;
  assert.match(r.output(), /needs the runner to run as root/);
});

/** `faultline ARGS` as another user (runuser), for checks a root runner cannot make. */
function spawnAs(user: string, args: string[], env: Record<string, string>): { exited: Promise<number | null>; output: () => string } {
  const child = spawn('runuser', ['-u', user, '--', process.execPath, BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', HOME: '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return { exited: new Promise((r) => child.once('exit', (c) => r(c))), output: () => out };
}

test('faultline up: jobs are checked out outside the data dir and see no coordinator token', async () => {
  const dir = tempDir();
  const data = join(dir.path, 'data');
  const out = join(dir.path, 'out');
  const port = await freePort();
  const given = 'flapi_given-through-the-environment-0123456789';
  const up = spawnFaultline(['up', '--port', String(port), '--data', data, '--runners', '1'], { FAULTLINE_API_TOKEN: given });
  try {
    await until(() => /faultline is up/.test(up.output()) || up.child.exitCode !== null, 120_000, 'up');
    assert.match(up.output(), /faultline is up/);
    assert.ok(!up.output().includes(given), 'a token given by the environment is not printed');
    const api = userApi(`http://127.0.0.1:${port}`, given);
    const p = await api.createPipeline(
      `peek:\n  script:\n    - mkdir -p ${out}\n    - env > ${out}/env\n    - echo "$CI_BUILDS_DIR" > ${out}/builds\n`,
    );
    assert.equal(jobsByName(await api.waitPipeline(p.id))['peek']!.status, 'success');
    const builds = readFileSync(join(out, 'builds'), 'utf8').trim();
    assert.ok(!builds.startsWith(data), `builds dir ${builds} is inside the data dir ${data}`);
    const env = readFileSync(join(out, 'env'), 'utf8');
    assert.ok(!env.includes(given), 'FAULTLINE_API_TOKEN reached the job');
    assert.ok(!env.includes(readFileSync(join(data, 'registration-token'), 'utf8').trim()), 'the registration token reached the job');
  } finally {
    await up.kill('SIGTERM');
    await up.kill('SIGKILL');
  }
  const inside = spawnFaultline(['up', '--port', String(await freePort()), '--data', data, '--builds-dir', join(data, 'builds')]);
  await inside.exited;
  assert.match(inside.output(), /builds dir .* is inside the data dir/);
  dir.dispose();
});
