/** `faultline rules eval` and `faultline classify` as a user runs them (real CLI processes). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/tmp.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const cli = (args: string[], input?: string) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/faultline.js'), ...args], {
    cwd: ROOT,
    input,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

function writeCase(dir: string, id: string, label: string, log: string, extra = ''): void {
  writeFileSync(
    join(dir, `${id}.yml`),
    `id: ${id}\nsource: https://example.com/issues/1\nlabel: ${label}\nreason: script_failure\nstage: step_script\nexit_code: 1\nexecutor: docker\nmessage: null\necosystem: npm\nwhy: test case\n${extra}`,
  );
  writeFileSync(join(dir, `${id}.log`), log);
}

test('rules eval: figures per part, wrong verdicts; held-out evidence is never printed', () => {
  const t = tempDir();
  try {
    // 'b' and 'jest-x' are training ids, 'a' and 'go-y' held out (sha256 rule)
    writeCase(t.path, 'b', 'infra', '$ npm ci\nnpm ERR! code ETIMEDOUT\n');
    writeCase(t.path, 'jest-x', 'infra', '$ make\nsecret-train-line\n');
    writeCase(t.path, 'a', 'build', '$ npm ci\nnpm ERR! code ECONNRESET\nsecret-heldout-line\n');
    writeCase(t.path, 'go-y', 'build', '$ go test\n--- FAIL: TestX (0.00s)\nFAIL\texample.com/x\t0.01s\n');
    const out = cli(['rules', 'eval', '--corpus', t.path]);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, /4 case\(s\) — 2 train, 2 held out/);
    assert.match(out.stdout, /^train\s+2\s+50\.0%/m);
    assert.match(out.stdout, /^held-out\s+2\s+50\.0%/m);
    assert.match(out.stdout, /jest-x: labelled infra → build\/script_failed \(fallback\)/);
    assert.match(out.stdout, /a: labelled build → infra\/dependency_download_failed/);
    assert.doesNotMatch(out.stdout, /ECONNRESET|secret-heldout-line/);

    const json = JSON.parse(cli(['rules', 'eval', '--corpus', t.path, '--json', '--part', 'heldout']).stdout);
    assert.deepEqual(Object.keys(json.parts), ['heldout']);
    assert.equal(json.parts.heldout.infra.fp, 1);
    assert.equal(json.parts.heldout.wrong[0].evidence, null);

    // a broken case is refused, naming the file and field
    writeCase(t.path, 'c', 'maybe', 'x\n');
    const bad = cli(['rules', 'eval', '--corpus', t.path]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /c\.yml: label: Invalid enum value/);
  } finally {
    t.dispose();
  }
});

test('classify: one log from stdin or a file, as the coordinator stores it', () => {
  const t = tempDir();
  try {
    const file = join(t.path, 'job.log');
    writeFileSync(file, '$ npm ci\nnpm ERR! code ETIMEDOUT\n');
    const j = JSON.parse(cli(['classify', file, '--json', '--exit-code', '1']).stdout);
    assert.deepEqual(
      [j.class, j.cause, j.rule?.id, j.fallback, j.exit_code, j.evidence[0].line],
      ['infra', 'dependency_download_failed', 'dependency-download-failed', false, 1, 2],
    );
    const fb = cli(['classify', '-', '--reason', 'runner_system_failure', '--stage', 'prepare_executor'], 'nothing here\n');
    assert.equal(fb.status, 0);
    assert.match(fb.stdout, /INFRA.*fallback/);
    // no rule matched + the green run's log: the new error-like lines, marked
    const red = join(t.path, 'red.log');
    const green = join(t.path, 'green.log');
    writeFileSync(green, '$ ./check.sh\nchecking 3 hosts\nall good\n');
    writeFileSync(red, '$ ./check.sh\nchecking 3 hosts\nhost b: unable to verify signature\n');
    const diff = JSON.parse(cli(['classify', red, '--baseline', green, '--json']).stdout);
    assert.deepEqual([diff.fallback, diff.new_error_lines], [true, [{ line: 3, text: 'host b: unable to verify signature' }]]);
    const bad = cli(['classify', file, '--reason', 'flaky']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--reason: unknown reason "flaky"/);
  } finally {
    t.dispose();
  }
});
