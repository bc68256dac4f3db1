import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { compilePipeline, type CompileResult } from '../../src/config/index.js';

const realistic = readFileSync(new URL('./fixtures/realistic.gitlab-ci.yml', import.meta.url), 'utf8');
const PREDEFINED = { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_BRANCH: 'main', CI_DEFAULT_BRANCH: 'main' };

/** The invariant: never throws; ok, or ≥1 error each with a position and a message. */
function assertWellFormed(text: string): CompileResult {
  let r: CompileResult;
  try {
    r = compilePipeline(text, { predefined: PREDEFINED });
  } catch (e) {
    assert.fail(`compilePipeline threw on:\n${text}\n${(e as Error).stack}`);
  }
  if (r.ok) {
    assert.ok(r.model.jobs.length > 0);
    for (const j of r.model.jobs) assert.ok(j.stage_index >= 0 && j.stage_index < r.model.stages.length);
  } else {
    assert.ok(r.errors.length >= 1, 'ok:false without errors');
    for (const e of r.errors) {
      assert.ok(Number.isInteger(e.line) && e.line >= 1, `bad line in ${JSON.stringify(e)}`);
      assert.ok(Number.isInteger(e.column) && e.column >= 1, `bad column in ${JSON.stringify(e)}`);
      assert.ok(e.message.length > 0);
      assert.doesNotMatch(e.message, /internal error/, `bug on input:\n${text}`);
    }
  }
  return r;
}

const lines = realistic.split('\n');
const FRAGMENTS = [
  '',
  ' ',
  '  ',
  ':',
  '- ',
  '[',
  ']',
  '{',
  '}',
  '&a',
  '*a',
  '<<: *a',
  '!reference [.node_job, before_script]',
  '"',
  "'",
  '#',
  '|',
  '>',
  'null',
  '~',
  '42',
  'true',
  'script:',
  'needs: [x]',
  'extends: .nope',
  'stage: deploy',
  'when: manual',
  'rules:',
  '  - if: $X ==',
  'timeout: 1 hour',
  'retry: 99',
  '\t',
  '---',
  '...',
  '%YAML 1.2',
  '? x',
  'needs: [build, lint]',
  'needs: [deploy]',
  'on_status: {failure: warn}',
  'allow_failure: {exit_codes: [1]}',
];

const mutation = fc.oneof(
  // replace a line
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: fc.constantFrom(...FRAGMENTS) }),
  // insert a line (indented like a job key or not)
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.constantFrom(...FRAGMENTS),
    indent: fc.constantFrom('', '  ', '    '),
  }),
  // delete a line
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  // splice random characters into a line
  fc.record({ kind: fc.constant('chars' as const), at: fc.nat(), col: fc.nat(), text: fc.string({ maxLength: 6 }) }),
  // swap two lines
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), other: fc.nat() }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(src: string[], muts: Mutation[]): string {
  const out = [...src];
  for (const m of muts) {
    const i = m.at % (out.length || 1);
    switch (m.kind) {
      case 'replace':
        out[i] = m.text;
        break;
      case 'insert':
        out.splice(i, 0, m.indent + m.text);
        break;
      case 'delete':
        out.splice(i, 1);
        break;
      case 'chars': {
        const l = out[i] ?? '';
        const c = m.col % (l.length + 1);
        out[i] = l.slice(0, c) + m.text + l.slice(c);
        break;
      }
      case 'swap': {
        const j = m.other % (out.length || 1);
        [out[i], out[j]] = [out[j] ?? '', out[i] ?? ''];
        break;
      }
    }
  }
  return out.join('\n');
}

test('the realistic fixture itself compiles', () => {
  assert.equal(assertWellFormed(realistic).ok, true);
});

test('200 random mutations of valid YAML never throw and always explain themselves', () => {
  let rejected = 0;
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (muts) => {
      if (!assertWellFormed(mutate(lines, muts)).ok) rejected++;
    }),
    { numRuns: 200, seed: 4242 },
  );
  // The mutations must actually exercise the error paths.
  assert.ok(rejected > 20, `only ${rejected} of 200 mutations were rejected`);
});

test('random garbage never throws', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.array(fc.constantFrom(...FRAGMENTS, '\n', 'a:', 'b:\n  script: x'), { maxLength: 30 }).map((a) => a.join('')),
        fc.jsonValue().map((v) => JSON.stringify(v)),
      ),
      (text) => {
        assertWellFormed(text);
      },
    ),
    { numRuns: 300, seed: 7 },
  );
});

test('alias bombs and deep nesting are refused, not expanded', () => {
  const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i <= 8; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    bomb.push(`${cur}: &${cur} [${Array(10).fill(`*${prev}`).join(',')}]`);
  }
  bomb.push('j:\n  script: [*i]');
  const r = assertWellFormed(bomb.join('\n'));
  assert.equal(r.ok, false);
  const deep = 'j:\n  script: ' + '['.repeat(2000) + ']'.repeat(2000) + '\n';
  assertWellFormed(deep);
});
