import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRuleFile, SHIPPED_RULES_DIR } from '../../src/classify/index.js';
import { loadRules } from '../../src/coordinator/rules/index.js';
import { tempDir } from '../helpers/tmp.js';

const good = (id: string, extra = '') => `  - id: ${id}
    version: 1
    description: test rule
    match:
      reason: script_failure
      log: 'boom'${extra}
    class: build
    cause: boom
    summary: it went boom
`;

describe('rule loading', () => {
  test('the shipped rules load, in file order then rule order', () => {
    const r = loadRules(SHIPPED_RULES_DIR);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
    const ids = r.rules.rules.map((x) => x.id);
    assert.ok(ids.length >= 25);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(ids[0], 'runner-lost-no-updates');
    assert.equal(ids.at(-1), 'job-timeout');
    // script-level infra causes come before the generic build rules
    for (const infra of ['disk-full-tool', 'dns-failure-tool', 'dependency-download-failed', 'killed-sigkill']) {
      assert.ok(ids.indexOf(infra) < ids.indexOf('test-failure') && ids.indexOf(infra) < ids.indexOf('compile-error'), infra);
    }
    assert.deepEqual(r.rules.files, [...r.rules.files].sort());
  });

  test('an alias to a missing anchor is refused, not thrown', () => {
    const r = parseRuleFile('rules: *nope\n', 'alias.yml');
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.errors[0]!.file === 'alias.yml' && /YAML/.test(r.errors[0]!.message));
  });

  test('an unknown field is refused with file, line and column', () => {
    const text = 'rules:\n' + good('a').replace('    class: build\n', '    class: build\n    severity: high\n');
    const r = parseRuleFile(text, 'x.yml');
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.equal(r.errors.length, 1);
    assert.deepEqual({ ...r.errors[0], message: undefined }, { file: 'x.yml', line: 9, column: 5, message: undefined });
    assert.match(r.errors[0]!.message, /rule a: .*unknown field "severity"/);
  });

  test('unknown match condition and bad enum values name the rule and position', () => {
    const text =
      'rules:\n' +
      good('a').replace("      log: 'boom'", "      logs: 'boom'") +
      good('b').replace('reason: script_failure', 'reason: [script_failure, build_failure]');
    const r = parseRuleFile(text, 'y.yml');
    assert.ok(!r.ok);
    const [unknown, badEnum] = r.errors;
    assert.equal(unknown!.line, 7);
    assert.match(unknown!.message, /rule a: rules\[0\]\.match: unknown field "logs"/);
    assert.equal(badEnum!.line, 15);
    assert.equal(badEnum!.column, 32);
    assert.match(badEnum!.message, /rule b: rules\[1\]\.match\.reason\[1\]: Invalid enum value/);
  });

  test('an RE2-rejected pattern (backreference, lookahead) is refused with file, line and rule id', () => {
    for (const bad of ["'(a)\\1'", "'foo(?=bar)'"]) {
      const r = parseRuleFile('rules:\n' + good('ok1') + good('bad-rx').replace("log: 'boom'", `log: ['fine', ${bad}]`), 'z.yml');
      assert.ok(!r.ok);
      assert.equal(r.errors.length, 1);
      assert.equal(r.errors[0]!.file, 'z.yml');
      assert.equal(r.errors[0]!.line, 16);
      assert.match(r.errors[0]!.message, /rule bad-rx: match\.log\.1: invalid RE2 pattern/);
    }
  });

  test('YAML syntax errors, bad placeholders, multi-line summaries and empty matches are refused', () => {
    const yamlErr = parseRuleFile('rules:\n  - id: a\n    match: {reason: [\n', 'e.yml');
    assert.ok(!yamlErr.ok && yamlErr.errors[0]!.message.startsWith('YAML'));
    const ph = parseRuleFile('rules:\n' + good('a').replace('it went boom', "'boom in {imgae}'"), 'p.yml');
    assert.ok(!ph.ok && /unknown placeholder \{imgae\}/.test(ph.errors[0]!.message));
    assert.equal(!ph.ok && ph.errors[0]!.line, 10);
    const empty = parseRuleFile(
      'rules:\n  - id: e\n    version: 1\n    description: d\n    match: {}\n    class: build\n    cause: c\n    summary: s\n',
      'm.yml',
    );
    assert.ok(!empty.ok && /at least one condition/.test(empty.errors[0]!.message));
  });

  test('a directory with one bad file yields no rules at all, and duplicate ids across files are refused', () => {
    const d = tempDir();
    try {
      writeFileSync(join(d.path, '10-a.yml'), 'rules:\n' + good('one'));
      writeFileSync(join(d.path, '20-b.yml'), 'rules:\n' + good('two', '\n      bogus: 1'));
      const r = loadRules(d.path);
      assert.ok(!r.ok);
      assert.equal(r.errors[0]!.file, join(d.path, '20-b.yml'));
      writeFileSync(join(d.path, '20-b.yml'), 'rules:\n' + good('one'));
      const dup = loadRules(d.path);
      assert.ok(!dup.ok && /duplicate id \(first defined at .*10-a\.yml:2\)/.test(dup.errors[0]!.message));
      writeFileSync(join(d.path, '20-b.yml'), '');
      assert.ok(loadRules(d.path).ok, 'an empty file holds no rules');
    } finally {
      d.dispose();
    }
  });

  test('shipped rules copy cleanly into another dir (no hidden dependency on paths)', () => {
    const d = tempDir();
    try {
      cpSync(SHIPPED_RULES_DIR, d.path, { recursive: true });
      const r = loadRules(d.path);
      assert.ok(r.ok);
      assert.equal(r.rules.rules[0]!.origin?.line, 4);
    } finally {
      d.dispose();
    }
  });
});
