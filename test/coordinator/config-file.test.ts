import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  CoordinatorConfigError,
  loadCoordinatorConfig,
  parseCoordinatorConfig,
  parseDurationMs,
} from '../../src/coordinator/config-file.js';
import { spawnFaultline, startCoordinator } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';
import { receiver } from './notifications-fixtures.js';

const problems = (text: string) => {
  const r = parseCoordinatorConfig(text, 'coordinator.yml');
  assert.equal(r.ok, false, 'expected problems');
  return (r as { problems: { file: string; line: number; column: number; path: string; message: string }[] }).problems;
};

describe('coordinator config file', () => {
  test('durations and sizes', () => {
    assert.equal(parseDurationMs('60s'), 60_000);
    assert.equal(parseDurationMs('5m'), 300_000);
    assert.equal(parseDurationMs('1h30m'), 5_400_000);
    assert.equal(parseDurationMs('500ms'), 500);
    assert.equal(parseDurationMs('60'), null);
    assert.equal(parseDurationMs('5 minutes'), null);
  });

  test('a full file → CoordinatorOptions (relative paths from the file, secret_env read)', () => {
    const d = tempDir('faultline-cfg-');
    try {
      const file = join(d.path, 'coordinator.yml');
      writeFileSync(
        file,
        [
          'port: 9090',
          'host: 0.0.0.0',
          'data_dir: ./data',
          'heartbeat_timeout: 90s',
          'stuck_timeout: 2h',
          'long_poll: 20s',
          'max_trace_bytes: 16MiB',
          'auto_cancel: true',
          'cancel_grace: 30s',
          'rules_dir: /etc/faultline/rules',
          'public_url: https://ci.example.com',
          'notifications:',
          '  - name: operators',
          '    url: https://ops.example.com/hook',
          '    classes: [infra]',
          '  - name: developers',
          '    url: http://dev.example.com/hook',
          '    classes: [build, unknown]',
          '    events: [job_failed, pipeline_failed]',
          '    secret_env: FAULTLINE_TEST_DEV_SECRET',
          '    timeout: 2s',
          '    max_attempts: 3',
          '    retry_base: 500ms',
          '',
        ].join('\n'),
      );
      process.env.FAULTLINE_TEST_DEV_SECRET = 'shh';
      const o = loadCoordinatorConfig(file);
      delete process.env.FAULTLINE_TEST_DEV_SECRET;
      assert.deepEqual(o, {
        port: 9090,
        host: '0.0.0.0',
        dataDir: join(d.path, 'data'),
        heartbeatTimeoutMs: 90_000,
        stuckTimeoutMs: 7_200_000,
        longPollMs: 20_000,
        maxTraceBytes: 16 * 1024 * 1024,
        autoCancel: true,
        cancelGraceSeconds: 30,
        rulesDir: '/etc/faultline/rules',
        publicUrl: 'https://ci.example.com',
        notifications: [
          { name: 'operators', url: 'https://ops.example.com/hook', classes: ['infra'] },
          {
            name: 'developers',
            url: 'http://dev.example.com/hook',
            classes: ['build', 'unknown'],
            events: ['job_failed', 'pipeline_failed'],
            secret: 'shh',
            timeoutMs: 2000,
            maxAttempts: 3,
            retryBaseMs: 500,
          },
        ],
      });
    } finally {
      d.dispose();
    }
  });

  test('errors name file, line, column and field', () => {
    const text = [
      'port: 8080', //                         1
      'heartbeat_timeout: 60', //              2  no unit
      'long_poll: soon', //                    3
      'colour: blue', //                       4  unknown key
      'notifications:', //                     5
      '  - name: ops', //                      6
      '    url: ftp://ops/hook', //            7  not http(s)
      '    classes: [infra, weather]', //      8  bad class
      '  - name: ops', //                      9  duplicate
      '    url: https://x/hook', //            10
      '    classes: [build]', //               11
      '    events: [pipeline_passed]', //      12
      '  - url: https://y/hook', //            13 name missing
      '    classes: [build]', //               14
      '    secret_env: FAULTLINE_TEST_UNSET_VAR', // 15
      '',
    ].join('\n');
    delete process.env.FAULTLINE_TEST_UNSET_VAR;
    const ps = problems(text);
    const got = ps.map((p) => `${p.line}:${p.column} ${p.path}`).sort();
    assert.deepEqual(
      got,
      [
        '2:20 heartbeat_timeout',
        '3:12 long_poll',
        '4:1 (file)',
        '7:10 notifications[0].url',
        '8:22 notifications[0].classes[1]',
        '12:14 notifications[1].events[0]',
        '13:5 notifications[2].name',
      ].sort(),
    );
    const by = (path: string) => ps.find((p) => p.path === path)!;
    assert.ok(ps.every((p) => p.file === 'coordinator.yml'));
    assert.match(by('heartbeat_timeout').message, /duration with a unit.*"60s"/);
    assert.match(by('(file)').message, /unknown field "colour"/);
    assert.match(by('notifications[0].url').message, /http/);
    assert.match(by('notifications[2].name').message, /required/);
    // Cross-field checks run once the fields themselves are valid.
    const cross = problems(
      'notifications:\n  - {name: ops, url: "https://x/a", classes: [infra]}\n  - {name: ops, url: "https://x/b", classes: [build], secret_env: FAULTLINE_TEST_UNSET_VAR}\n',
    );
    assert.deepEqual(
      cross.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).sort(),
      [
        '3:12 notifications[1].name: duplicate target name "ops"',
        '3:67 notifications[1].secret_env: environment variable FAULTLINE_TEST_UNSET_VAR is not set',
      ].sort(),
    );

    // YAML syntax errors have positions too, and the thrown error carries them in its message.
    const syntax = problems('port: 8080\nnotifications: [\n');
    assert.ok(syntax[0]!.line >= 2, JSON.stringify(syntax));
    // An alias to no anchor is a problem, not a crash.
    assert.match(problems('port: *nope\n')[0]!.message, /alias/i);
    const d = tempDir('faultline-cfg-');
    try {
      const file = join(d.path, 'c.yml');
      writeFileSync(file, 'port: 8080\nlong_poll: 3 parsecs\n');
      assert.throws(
        () => loadCoordinatorConfig(file),
        (e: unknown) => e instanceof CoordinatorConfigError && e.message.includes(`${file}:2:12: long_poll:`) && e.problems.length === 1,
      );
      assert.throws(() => loadCoordinatorConfig(join(d.path, 'missing.yml')), /cannot read/);
    } finally {
      d.dispose();
    }
  });

  test('CLI: --config loads notifications; flags given override the file; a bad file exits 1 with file:line:column', async (t) => {
    const d = tempDir('faultline-cfg-cli-');
    const rx = await receiver();
    t.after(async () => {
      await rx.close();
      d.dispose();
    });
    const file = join(d.path, 'coordinator.yml');
    writeFileSync(
      file,
      [
        'port: 1',
        'data_dir: ./from-file',
        'long_poll: 1s',
        'notifications:',
        `  - {name: operators, url: '${rx.url('/ops')}', classes: [infra]}`,
        '',
      ].join('\n'),
    );
    const dataDir = join(d.path, 'from-flag');
    const c = await startCoordinator({ dataDir, extraArgs: ['--config', file] });
    t.after(() => c.kill());
    assert.match(c.url, new RegExp(`:${c.port}$`), 'the --port flag beat port: 1 of the file');
    assert.ok(existsSync(join(dataDir, 'faultline.db')));
    assert.ok(!existsSync(join(d.path, 'from-file')), 'the --data flag beat data_dir of the file');

    // An infra failure, driven through the runner API, reaches the operators' hook of the file.
    const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(c.url + path, {
        method: path.startsWith('/api/v1/jobs/') && path !== '/api/v1/jobs/request' ? 'PUT' : 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: res.status === 204 ? null : ((await res.json()) as any) };
    };
    const runner = (
      await post('/api/v1/runners/register', { registration_token: c.registrationToken, name: 'r', executor: 'docker', concurrency: 1 })
    ).body;
    const p = (await post('/api/v1/pipelines', { yaml: 'j:\n  script: x\n' }, { authorization: `Bearer ${c.apiToken}` })).body;
    const job = (await post('/api/v1/jobs/request', {}, { 'runner-token': runner.token })).body;
    const failure = {
      reason: 'image_pull_failure',
      stage: 'pull_image',
      kind: 'registry_unreachable',
      message: 'connection refused',
      executor: 'docker',
      image: 'r.example/i:1',
      registry: 'r.example',
    };
    assert.equal((await post(`/api/v1/jobs/${job.id}`, { state: 'failed', failure }, { 'job-token': job.token })).status, 200);
    const deadline = Date.now() + 60_000; // bounds a lost delivery, not its speed
    while (rx.at('/ops').length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(rx.at('/ops').length, 1);
    assert.equal(rx.at('/ops')[0]!.json.pipeline.id, p.id);
    assert.equal(rx.at('/ops')[0]!.json.pipeline.failure_class, 'infra');

    const bad = join(d.path, 'bad.yml');
    writeFileSync(bad, 'port: 8080\nnotifications:\n  - name: x\n    url: nope\n    classes: [infra]\n');
    const proc = spawnFaultline(['coordinator', '--config', bad, '--data', join(d.path, 'never')]);
    assert.equal(await proc.exited, 1);
    assert.match(
      proc.output(),
      new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:10: notifications\\[0\\]\\.url: must be a URL`),
    );
    assert.ok(!existsSync(join(d.path, 'never')), 'nothing started');
  });
});

test('examples/coordinator.yml is a valid configuration', () => {
  const root = new URL('../../', import.meta.url).pathname;
  const o = loadCoordinatorConfig(`${root}examples/coordinator.yml`);
  assert.equal(o.port, 8080);
  assert.equal(o.heartbeatTimeoutMs, 60_000);
  assert.deepEqual(
    o.notifications?.map((n) => n.classes),
    [['infra'], ['build']],
  );
});
