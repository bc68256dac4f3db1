/**
 * YAML aliases, merge keys and big maps cost linear work, and what would not stay small is refused
 * with the limit and a line (issue 14, defect 1). Work is counted, never timed: every read of a
 * YAML node's `items` or a pair's `key` — by yaml's own code (anchor search, unique-key checks)
 * or ours — goes through a counting accessor installed below. This file runs in its own process,
 * so the accessors touch no other test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, YAMLMap, YAMLSeq } from 'yaml';
import { compilePipeline } from '../../src/config/index.js';
import { lastParseStats, parseYaml, YAML_LIMITS } from '../../src/config/yaml-source.js';
import { aliasYaml, mergeKeyYaml, manyJobsYaml } from '../../bench/yaml.js';

let reads = 0;
function countReads(proto: object, prop: string): void {
  const slot = Symbol(prop);
  Object.defineProperty(proto, prop, {
    configurable: true,
    get(this: Record<symbol, unknown>) {
      reads++;
      return this[slot];
    },
    set(this: Record<symbol, unknown>, v: unknown) {
      this[slot] = v;
    },
  });
}
countReads(YAMLMap.prototype, 'items');
countReads(YAMLSeq.prototype, 'items');
countReads(Pair.prototype, 'key');

function work(text: string): number {
  reads = 0;
  const r = compilePipeline(text);
  assert.ok(
    r.ok,
    !r.ok
      ? r.errors
          .slice(0, 3)
          .map((e) => `${e.line}: ${e.message}`)
          .join('\n')
      : '',
  );
  return reads;
}

/** 4× the input costs at most 4.5× the node visits (quadratic would be 16×). */
function assertLinear(gen: (n: number) => string, n: number): void {
  const small = work(gen(n));
  const big = work(gen(4 * n));
  assert.ok(big / small <= 4.5, `4× input → ${(big / small).toFixed(2)}× node visits (${small} → ${big})`);
}

test('aliases are resolved in one pass: node visits grow linearly with the number of aliases', () => {
  assertLinear(aliasYaml, 500);
});

test('merge keys (<<: *anchor) cost linear node visits', () => {
  assertLinear(mergeKeyYaml, 500);
});

test('unique keys of a big top-level map are checked in linear work', () => {
  assertLinear(manyJobsYaml, 1000);
});

test('aliases still expand to the anchored value, with positions, and merge keys still merge', () => {
  const r = parseYaml('.t: &t\n  image: alpine\n  tags: [a, b]\nj:\n  <<: *t\n  tags: *x\nk: *t\n'.replace('*x', '[c]'));
  assert.deepEqual(r.errors, []);
  const v = r.value as Record<string, Record<string, unknown>>;
  assert.deepEqual({ ...v.j }, { tags: ['c'], image: 'alpine' });
  assert.deepEqual({ ...v.k }, { image: 'alpine', tags: ['a', 'b'] });
  // An anchor redefined later: each alias takes the last one before it, as yaml does.
  const re = parseYaml('a: &x 1\nb: *x\nc: &x 2\nd: *x\n');
  assert.deepEqual({ ...(re.value as object) }, { a: 1, b: 1, c: 2, d: 2 });
});

test('an alias bomb is refused at the expanded-size limit, naming the limit and the alias line', () => {
  const bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (const [prev, cur] of ['ab', 'bc', 'cd', 'de', 'ef', 'fg', 'gh', 'hi']) {
    bomb.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  bomb.push('j:\n  script: [*i]');
  const r = compilePipeline(bomb.join('\n'));
  assert.ok(!r.ok);
  assert.equal(r.errors.length, 1, JSON.stringify(r.errors));
  const e = r.errors[0]!;
  assert.match(e.message, /parsed YAML is too big: expanding the alias \*f takes the configuration past 16 MiB/);
  assert.deepEqual([e.line, e.column], [7, 8], 'the line of the alias whose expansion crossed the limit');
  // Stopped at the limit, not after expanding 9^9 strings.
  assert.ok(lastParseStats.expandedBytes <= YAML_LIMITS.maxExpandedBytes + 1024, String(lastParseStats.expandedBytes));
});

test('a merge-key bomb is refused the same way', () => {
  const lines = ['.l0: &l0 {a: x, b: x, c: x, d: x, e: x, f: x, g: x, h: x}'];
  for (let i = 1; i <= 8; i++) {
    const keys = Array.from({ length: 8 }, (_, k) => `k${k}: *l${i - 1}`).join(', ');
    lines.push(`.l${i}: &l${i} {${keys}}`);
  }
  lines.push('j:', '  <<: *l8', '  script: x');
  const r = compilePipeline(lines.join('\n'));
  assert.ok(!r.ok);
  assert.match(r.errors[0]!.message, /parsed YAML is too big: .*past 16 MiB/);
});

test('a file over 2 MiB is refused before parsing, naming the limit and the line that passes it', () => {
  const line = `  - echo ${'x'.repeat(90)}`; // 100 bytes with its newline
  const text = ['j:', '  script:', ...Array(22_000).fill(line)].join('\n');
  const r = compilePipeline(text);
  assert.ok(!r.ok);
  assert.equal(r.errors.length, 1);
  const e = r.errors[0]!;
  assert.match(e.message, /larger than 2 MiB.*max_yaml_size_bytes.*line 20974\b/);
  assert.equal(e.line, 20974); // 2 MiB = 2,097,152 bytes: 13 bytes on lines 1–2, then 100 a line
  // Characters count as their UTF-8 bytes: 1,100,000 × 'é' is 2.2 MB, though only 1.1 M characters.
  const wide = compilePipeline(`j:\n  script: "${'é'.repeat(1_100_000)}"\n`);
  assert.ok(!wide.ok);
  assert.match(wide.errors[0]!.message, /larger than 2 MiB/);
});

test('nesting deeper than 150 lists and maps is refused with the limit and its line; 150 is fine', () => {
  const nested = (levels: number) => 'j:\n  script: x\n  variables:\n    V: ' + '['.repeat(levels - 3) + ']'.repeat(levels - 3) + '\n';
  const ok = parseYaml(nested(YAML_LIMITS.maxDepth));
  assert.ok(!ok.errors.some((e) => /nests more than/.test(e.message)), JSON.stringify(ok.errors));
  const r = compilePipeline(nested(YAML_LIMITS.maxDepth + 1));
  assert.ok(!r.ok);
  assert.equal(r.errors.length, 1, JSON.stringify(r.errors));
  assert.match(r.errors[0]!.message, /nests more than 150 lists and maps deep .*max_yaml_depth/);
  assert.equal(r.errors[0]!.line, 4);
});

test('an alias to an undefined (or later) anchor is an error at the alias, not a silent null', () => {
  const r = compilePipeline('j:\n  script: x\n  tags: *later\nk: &later {script: y}\n');
  assert.ok(!r.ok);
  const e = r.errors.find((x) => /unknown alias \*later/.test(x.message));
  assert.ok(e, JSON.stringify(r.errors));
  assert.deepEqual([e.line, e.column], [3, 9]);
  assert.match(e.message, /no anchor &later comes before it/);
});

test('duplicate keys are still reported at the second key, anywhere, in block and flow maps: warnings, the last one wins (GitLab)', () => {
  const r = parseYaml('a: 1\nb: {x: 1, x: 2}\na: 3\n');
  assert.deepEqual(r.errors, []);
  const dups = r.warnings.map((e) => `${e.pos.line}:${e.pos.column} ${e.message}`);
  const msg = (k: string) => `duplicate key '${k}': the last one wins (as in GitLab); remove the other one`;
  assert.deepEqual(dups, [`2:11 ${msg('x')}`, `3:1 ${msg('a')}`]);
  assert.deepEqual(JSON.parse(JSON.stringify(r.value)), { a: 3, b: { x: 2 } });
  // 1 and "1" are different keys to yaml, as before.
  assert.deepEqual(parseYaml('1: a\n"1": b\n').warnings, []);
});
