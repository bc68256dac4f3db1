/** Variable expansion as GitLab does it for job variables (table-driven; src/pipeline/variables.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expandString, expandVariables, slugify, type ExpandableVariable } from '../../src/pipeline/variables.js';

const v = (key: string, value: string, raw = false): ExpandableVariable => ({ key, value, ...(raw ? { raw } : {}) });
const run = (list: ExpandableVariable[]) => Object.fromEntries(expandVariables(list).map((x) => [x.key, x.value]));

const cases: { name: string; list: ExpandableVariable[]; want: Record<string, string> }[] = [
  {
    name: '$VAR and ${VAR} inside a value',
    list: [v('BASE', '/b'), v('D', '$BASE/d'), v('E', '${BASE}x')],
    want: { BASE: '/b', D: '/b/d', E: '/bx' },
  },
  {
    name: 'references are expanded recursively, in any order',
    list: [v('C', '$B/c'), v('B', '$A/b'), v('A', 'a')],
    want: { C: 'a/b/c', B: 'a/b', A: 'a' },
  },
  {
    name: '$$ is a literal $ and is not expanded further',
    list: [v('A', 'x'), v('E', '$$A'), v('F', '$E')],
    want: { A: 'x', E: '$A', F: '$A' },
  },
  { name: 'an undefined reference is empty', list: [v('A', 'pre-$NOPE-post')], want: { A: 'pre--post' } },
  {
    name: 'expand: false keeps the value as written, also where referenced',
    list: [v('A', 'x'), v('R', '$A', true), v('U', '<$R>')],
    want: { A: 'x', R: '$A', U: '<$A>' },
  },
  { name: 'a later layer wins (precedence order)', list: [v('A', 'global'), v('B', '$A'), v('A', 'job')], want: { A: 'job', B: 'job' } },
  { name: 'a cycle is left as written', list: [v('A', '$B'), v('B', '$A')], want: { A: '$A', B: '$A' } },
  { name: 'a self reference is left as written', list: [v('PATH', '$PATH:/x')], want: { PATH: '$PATH:/x' } },
];

describe('expandVariables', () => {
  for (const c of cases) test(c.name, () => assert.deepEqual(run(c.list), c.want));
  test('expandString: $$, known, unknown', () => {
    assert.equal(expandString('$$A ${A} $B.', { A: '1' }), '$A 1 .');
  });
  test('slugify is GitLab’s CI_COMMIT_REF_SLUG', () => {
    assert.equal(slugify('Feature/ABC_1.2'), 'feature-abc-1-2');
    assert.equal(slugify('-x-'), 'x');
    assert.equal(slugify('a'.repeat(70)).length, 63);
  });
});
