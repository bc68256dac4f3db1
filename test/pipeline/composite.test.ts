import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { composite, compositeKey, CompositeCounter, JOB_STATUSES } from '../../src/pipeline/index.js';
import type { CompositeKind, CompositeStatus, StatusInput } from '../../src/pipeline/index.js';

/** Shorthand: "success", "warned" (failed with warn), "manual:required|optional|ignored", else a status. */
function inputs(spec: string): StatusInput[] {
  return spec
    .split(' ')
    .filter(Boolean)
    .map((s): StatusInput => {
      if (s === 'warned') return { status: 'failed', outcome: 'warn' };
      if (s.startsWith('manual:')) return { status: 'manual', manual: s.slice(7) as StatusInput['manual'] };
      return { status: s as StatusInput['status'], outcome: s === 'failed' ? 'fail_pipeline' : null };
    });
}

const ROWS: [CompositeKind, string, CompositeStatus, boolean?][] = [
  // needs: what a DAG job sees
  ['needs', '', 'success'],
  ['needs', 'success success', 'success'],
  ['needs', 'success warned', 'success', true],
  ['needs', 'success running', 'pending'],
  ['needs', 'success created', 'pending'],
  ['needs', 'success manual:required', 'pending'],
  ['needs', 'success canceling', 'pending'],
  ['needs', 'success manual:ignored', 'success'],
  ['needs', 'success manual:optional', 'skipped'],
  ['needs', 'success skipped', 'skipped'],
  ['needs', 'failed skipped', 'failed'],
  ['needs', 'canceled skipped', 'canceled'],
  ['needs', 'failed canceled', 'failed'],
  ['needs', 'failed running', 'pending'],
  // stage: GitLab's table
  ['stage', '', 'skipped'],
  ['stage', 'skipped manual:ignored', 'skipped'],
  ['stage', 'success skipped manual:optional', 'success'],
  ['stage', 'success warned', 'success', true],
  ['stage', 'created created', 'created'],
  ['stage', 'canceled success', 'canceled'],
  ['stage', 'pending created skipped', 'pending'],
  ['stage', 'success pending', 'running'],
  ['stage', 'running failed', 'running'],
  ['stage', 'manual:required success', 'manual'],
  ['stage', 'manual:required running', 'running'],
  ['stage', 'success created', 'running'],
  ['stage', 'failed canceled success', 'failed'],
  ['stage', 'failed canceling', 'canceling'],
  // pipeline: a waiting required manual job is `blocked`
  ['pipeline', 'manual:required success created', 'blocked'],
  ['pipeline', 'manual:required failed', 'blocked'],
  ['pipeline', 'manual:optional manual:ignored success', 'success'],
  ['pipeline', 'manual:ignored skipped', 'skipped'],
  ['pipeline', 'warned skipped', 'success', true],
  ['pipeline', 'failed warned', 'failed', true],
];

describe('composite table', () => {
  for (const [kind, spec, want, warn] of ROWS) {
    test(`${kind}: [${spec}] → ${want}`, () => {
      const r = composite(inputs(spec), kind);
      assert.equal(r.status, want);
      assert.equal(r.warnings, warn ?? false);
    });
  }
});

describe('composite counter', () => {
  const arbInput = fc.record({
    status: fc.constantFrom(...JOB_STATUSES),
    outcome: fc.constantFrom(null, 'warn' as const, 'fail_pipeline' as const),
    manual: fc.constantFrom(null, 'required' as const, 'optional' as const, 'ignored' as const),
  });

  test('incremental moves equal a fold from scratch, for every kind', () => {
    fc.assert(
      fc.property(fc.array(arbInput, { maxLength: 12 }), fc.array(fc.tuple(fc.nat(), arbInput), { maxLength: 20 }), (start, moves) => {
        const items = [...start];
        const c = CompositeCounter.of(items);
        for (const [at, next] of moves) {
          if (items.length === 0) break;
          const i = at % items.length;
          c.move(compositeKey(items[i]), compositeKey(next));
          items[i] = next;
        }
        for (const kind of ['needs', 'stage', 'pipeline'] as const) assert.deepEqual(c.status(kind), composite(items, kind));
        assert.equal(c.size(), items.length);
      }),
    );
  });

  test('refuses to remove a key it does not hold', () => {
    assert.throws(() => new CompositeCounter().remove('success'), /no success to remove/);
  });
});
