import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from '../../src/config/duration.js';

const good: [string | number, number][] = [
  ['3600', 3600],
  [3600, 3600],
  ['30s', 30],
  ['2h', 7200],
  ['1h 30m', 5400],
  ['1h30m', 5400],
  ['90 minutes', 5400],
  ['90 min', 5400],
  ['1 hour 30 minutes', 5400],
  ['1 hour and 30 minutes', 5400],
  ['1 hour, 30 minutes', 5400],
  ['1.5h', 5400],
  ['2 days', 172800],
  ['1 week', 604800],
  ['1d 2h 3m 4s', 93784],
  ['10 sec', 10],
  ['1:30:00', 5400],
  ['5:30', 330],
  ['  45 Minutes  ', 2700],
  [1.6, 2],
];

const bad: [string | number, RegExp][] = [
  ['', /empty duration/],
  ['soon', /cannot read "soon" as a duration/],
  ['1 fortnight', /unknown time unit 'fortnight'/],
  ['0', /longer than zero/],
  [0, /longer than zero/],
  [-5, /cannot read|longer than zero/],
  ['1h-30m', /cannot read/],
  [Number.POSITIVE_INFINITY, /not a duration/],
];

describe('durations', () => {
  for (const [input, secs] of good) {
    test(`${JSON.stringify(input)} → ${secs}s`, () => assert.deepEqual(parseDuration(input), { ok: true, seconds: secs }));
  }
  for (const [input, re] of bad) {
    test(`rejects ${JSON.stringify(input)}`, () => {
      const r = parseDuration(input);
      assert.equal(r.ok, false);
      assert.ok(!r.ok);
      assert.match(r.message, re);
    });
  }
});
