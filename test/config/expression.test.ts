import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileExpression, ExpressionError } from '../../src/config/expression.js';

const vars = {
  BRANCH: 'main',
  SOURCE: 'merge_request_event',
  EMPTY: '',
  TAG: 'v1.2.3',
  PATTERN: '/^v\\d+/',
  BADPATTERN: 'not-a-regex',
  MSG: 'Fix: [skip ci] please',
};

const truthTable: [string, boolean][] = [
  ['$BRANCH', true],
  ['$EMPTY', false],
  ['$UNDEFINED', false],
  ['${BRANCH}', true],
  ['$BRANCH == "main"', true],
  ["$BRANCH == 'main'", true],
  ['$BRANCH != "main"', false],
  ['"main" == $BRANCH', true],
  ['$UNDEFINED == null', true],
  ['$EMPTY == null', false],
  ['$EMPTY == ""', true],
  ['$BRANCH != null', true],
  ['$BRANCH =~ /^ma/', true],
  ['$BRANCH =~ /^MA/', false],
  ['$BRANCH =~ /^MA/i', true],
  ['$BRANCH !~ /^ma/', false],
  ['$UNDEFINED =~ /.*/', false],
  ['$UNDEFINED !~ /.*/', true],
  ['$MSG =~ /\\[skip ci\\]/', true],
  ['$TAG =~ /^v\\d+\\.\\d+/', true],
  ['$TAG =~ $PATTERN', true],
  ['$BRANCH =~ $PATTERN', false],
  ['$TAG =~ $BADPATTERN', false],
  ['$BRANCH == "main" && $SOURCE == "push"', false],
  ['$BRANCH == "main" || $SOURCE == "push"', true],
  // && binds tighter than ||
  ['$BRANCH == "x" && $SOURCE == "push" || $TAG', true],
  ['$TAG || $BRANCH == "x" && $SOURCE == "push"', true],
  ['$UNDEFINED || $EMPTY', false],
  ['($BRANCH == "x" || $TAG) && $SOURCE == "merge_request_event"', true],
  ['$BRANCH == "x" || ($TAG && $SOURCE == "push")', false],
  ['((($BRANCH)))', true],
  ['"literal"', true],
  ['""', false],
  ['null', false],
  ['$SOURCE == "x"', false],
  ['$BRANCH =~ /a\\/b/', false],
];

describe('rules: if: expressions', () => {
  for (const [src, want] of truthTable) {
    test(`${src} → ${want}`, () => assert.equal(compileExpression(src).evaluate(vars), want));
  }

  const bad: [string, RegExp, number][] = [
    ['', /empty expression/, 0],
    ['$BRANCH ==', /ends too early/, 10],
    ['$BRANCH == "main" &&', /ends too early/, 20],
    ['$BRANCH = "main"', /unexpected character '='/, 8],
    ['BRANCH == "main"', /unexpected word 'BRANCH'/, 0],
    ['$BRANCH == "main', /unterminated string/, 11],
    ['$BRANCH =~ /main', /unterminated regular expression/, 11],
    ['$BRANCH =~ /(/', /invalid regular expression/, 11],
    ['$BRANCH =~ /a/g', /unsupported regex flag/, 11],
    ['$BRANCH =~ "main"', /right side of =~ must be a \/regex\//, 8],
    ['($BRANCH', /missing '\)'/, 8],
    ['$BRANCH)', /unexpected '\)' after a complete expression/, 7],
    ['$ == 1', /'\$' must be followed by a variable name/, 0],
  ];
  for (const [src, re, offset] of bad) {
    test(`rejects ${JSON.stringify(src)}`, () => {
      assert.throws(
        () => compileExpression(src),
        (e: unknown) => e instanceof ExpressionError && re.test(e.message) && e.offset === offset,
      );
    });
  }

  test('RE2 keeps catastrophic patterns linear', () => {
    const start = process.hrtime.bigint();
    const ok = compileExpression('$X =~ /^(a+)+$/').evaluate({ X: 'a'.repeat(5000) + 'b' });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    assert.equal(ok, false);
    assert.ok(ms < 500, `took ${ms} ms`);
  });
});
