/** The CLI's terminal hygiene: outside text cannot drive the terminal; tables line up. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { safe, table } from '../../src/cli/format.js';
import { humanLine } from '../../src/cli/log.js';

test('safe(): OSC titles, cursor moves, screen clears, BEL, C1 and lone CR become visible escapes', () => {
  const evil = 'a\x1b]0;pwned\x07b\x1b[2J\x1b[1;1Hc\x9bd\re\x08f';
  const out = safe(evil, false);
  assert.doesNotMatch(out, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  assert.equal(out, 'a\\x1b]0;pwned\\x07b\\x1b[2J\\x1b[1;1Hc\\x9bd\\x0de\\x08f');
  assert.equal(safe('line 1\r\nline\t2\n', false), 'line 1\nline\t2\n');
});

test('safe(): colour (SGR) survives only when the CLI paints, nothing else does', () => {
  assert.equal(safe('\x1b[31mred\x1b[0m', true), '\x1b[31mred\x1b[0m');
  assert.equal(safe('\x1b[31mred\x1b[0m', false), '\\x1b[31mred\\x1b[0m');
  assert.equal(safe('\x1b[31m\x1b]8;;http://x\x07', true), '\x1b[31m\\x1b]8;;http://x\\x07');
});

test('table(): a header row and aligned columns; cells neutralised', () => {
  const t = table(
    ['ID', 'NAME', 'STATE'],
    [
      [1, 'short', 'online'],
      [12, 'a-much-longer-name', 'offline'],
      [3, 'evil\x1b[2J', null],
    ],
  );
  assert.equal(t[0], 'ID  NAME                STATE');
  assert.equal(t[1], '1   short               online');
  assert.equal(t[2], '12  a-much-longer-name  offline');
  assert.equal(t[3], '3   evil\\x1b[2J');
  assert.equal(t[1]!.indexOf('online'), t[0]!.indexOf('STATE'));
});

test('human log lines: level, name, message and fields, neutralised', () => {
  const l = humanLine(
    JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 1, 12, 0, 1), name: 'runner', msg: 'lost \x1b]0;x\x07', job: 7 }),
  );
  assert.equal(l, '12:00:01 WARN  runner: lost \\x1b]0;x\\x07 job=7');
  assert.equal(humanLine('not json \x1b[2J'), 'not json \\x1b[2J');
});

test('--var KEY=VALUE: values may contain "=", a missing key or "=" is an error naming the option', async () => {
  const { parseVars } = await import('../../src/cli/vars.js');
  assert.deepEqual(parseVars(['A=1', 'URL=http://x/?a=b', 'EMPTY=']), { variables: { A: '1', URL: 'http://x/?a=b', EMPTY: '' } });
  assert.deepEqual(parseVars(['NOVALUE']), { error: '--var NOVALUE: expected KEY=VALUE' });
  assert.deepEqual(parseVars(['=x']), { error: '--var =x: expected KEY=VALUE' });
});
