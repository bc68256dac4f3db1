/** Evidence without a rule: error-like lines the last green run of the job did not print. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newErrorLines } from '../../src/classify/index.js';

const green = [
  'Running with gitlab-runner 16.11.0 (91a27b2a)',
  '$ ./deploy.sh --check',
  'warning: cache miss for layer 3f2a9c1d (took 1204 ms)',
  'checking 12 services',
  'Job succeeded',
  '',
].join('\n');

test('only error-like lines absent from the green run, numbers and hashes ignored, echoes never', () => {
  const failed = [
    'Running with gitlab-runner 16.11.0 (91a27b2a)',
    '$ ./deploy.sh --check || echo "error: retry later"',
    'warning: cache miss for layer 77be01aa (took 998 ms)',
    'checking 12 services',
    'service payments: unable to reach upstream (status 0)',
    'Error: deploy check failed for 1 of 12 services',
    'ERROR: Job failed: exit code 3',
    '',
  ].join('\n');
  assert.deepEqual(newErrorLines(failed, green), [
    { line: 5, text: 'service payments: unable to reach upstream (status 0)' },
    { line: 6, text: 'Error: deploy check failed for 1 of 12 services' },
    { line: 7, text: 'ERROR: Job failed: exit code 3' },
  ]);
  assert.deepEqual(
    newErrorLines(failed, green, 1).map((l) => l.line),
    [5],
  );
  // a failure the green run printed the same way (modulo numbers) is not "new"
  assert.deepEqual(newErrorLines('Error: flaky probe 7\n', 'Error: flaky probe 3\n'), []);
});

test('lineOffset: a tail the caller cut keeps whole-log line numbers', () => {
  assert.deepEqual(newErrorLines('ok\nfatal: new thing\n', green, 5, undefined, 100), [{ line: 102, text: 'fatal: new thing' }]);
});

test('errno names (ECONNRESET) are error-like; ordinary words starting with "e" are not', () => {
  const failed = 'Executing "step_script" stage\nEnvironment ready\nread ECONNRESET\n';
  assert.deepEqual(newErrorLines(failed, green), [{ line: 3, text: 'read ECONNRESET' }]);
});
