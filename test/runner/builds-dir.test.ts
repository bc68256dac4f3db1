import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coordinatorSlug } from '../../src/runner/daemon.js';

test('default builds dirs of runners of different coordinators never coincide', () => {
  assert.equal(coordinatorSlug('http://127.0.0.1:8080/'), '127.0.0.1_8080');
  assert.notEqual(coordinatorSlug('http://127.0.0.1:8080'), coordinatorSlug('http://127.0.0.1:8081'));
  assert.equal(coordinatorSlug('https://ci.example.com/faultline/'), 'ci.example.com_443_faultline');
  assert.doesNotMatch(coordinatorSlug('http://[::1]:9000'), /[/:[\]]/);
});
