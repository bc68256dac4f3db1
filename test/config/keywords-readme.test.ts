/** src/config/README.md's keyword list says what src/config/keywords.ts and schema.ts do. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { GLOBAL_UNSUPPORTED, JOB_UNSUPPORTED } from '../../src/config/keywords.js';
import { GLOBAL_KEYWORDS, JOB_KEYWORDS } from '../../src/config/schema.js';

const readme = readFileSync(new URL('../../src/config/README.md', import.meta.url), 'utf8');
const section = (title: string) => {
  const start = readme.indexOf(`### ${title}\n`);
  assert.ok(start >= 0, `README has no "### ${title}" section`);
  const end = readme.indexOf('\n###', start + 5);
  return readme.slice(start, end < 0 ? undefined : end);
};

/** keyword → status, from the rows `| \`a\`, \`b\` | status | … |`. */
function rows(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\| (.+?) \| (implemented|warned|refused)[^|]*\|/.exec(line);
    if (!m) continue;
    for (const k of m[1]!.matchAll(/`([a-z_]+)`/g)) out.set(k[1]!, m[2]!);
  }
  return out;
}

test('every unsupported keyword is listed with the status faultline gives it', () => {
  const global = rows(section('Global'));
  const job = rows(section('Job'));
  for (const [k, s] of Object.entries(GLOBAL_UNSUPPORTED))
    assert.equal(global.get(k), s.kind === 'warn' ? 'warned' : 'refused', `global ${k}`);
  for (const [k, s] of Object.entries(JOB_UNSUPPORTED)) assert.equal(job.get(k), s.kind === 'warn' ? 'warned' : 'refused', `job ${k}`);
});

test('every implemented keyword is listed as implemented', () => {
  const global = rows(section('Global'));
  const job = rows(section('Job'));
  for (const k of GLOBAL_KEYWORDS) assert.equal(global.get(k), 'implemented', `global ${k}`);
  for (const k of JOB_KEYWORDS) assert.equal(job.get(k), 'implemented', `job ${k}`);
});
