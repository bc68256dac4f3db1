/**
 * The UI's DOM-free modules, in node: the taxonomy the UI mirrors must not drift
 * from the protocol, and hash routing must keep log-line anchors apart from routes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FAILURE_CLASSES, FAILURE_REASONS } from '../../src/protocol/failure.js';
import { DISPLAY_STATUSES } from '../../src/pipeline/status.js';

// Plain JS modules with no type declarations: load them untyped.
const ui = (name: string): Promise<any> => import(new URL(`../../src/coordinator/ui/${name}`, import.meta.url).href);

describe('ui taxonomy mirrors the protocol', () => {
  test('failure reasons, classes and display statuses are the same sets', async () => {
    const t = await ui('taxonomy.js');
    assert.deepEqual([...t.FAILURE_REASONS].sort(), [...FAILURE_REASONS].sort());
    assert.deepEqual([...t.FAILURE_CLASSES].sort(), [...FAILURE_CLASSES].sort());
    assert.deepEqual([...t.DISPLAY_STATUSES].sort(), [...DISPLAY_STATUSES].sort());
  });

  test('each class has its own icon and label; each status a label', async () => {
    const t = await ui('taxonomy.js');
    const icons = FAILURE_CLASSES.map((c) => t.CLASS_INFO[c].icon);
    const labels = FAILURE_CLASSES.map((c) => t.CLASS_INFO[c].label);
    assert.equal(new Set(icons).size, FAILURE_CLASSES.length);
    assert.equal(new Set(labels).size, FAILURE_CLASSES.length);
    for (const s of DISPLAY_STATUSES) assert.equal(typeof t.statusLabel(s), 'string');
    assert.equal(t.statusLabel('success_with_warnings'), 'passed with warnings');
  });
});

describe('ui hash routing', () => {
  test('splits path, query and the in-page anchor', async () => {
    const { parseHash } = await ui('route.js');
    const r = parseHash('#/jobs/7#L12');
    assert.equal(r.path, '/jobs/7');
    assert.equal(r.anchor, 'L12');
    const f = parseHash('#/failures?class=infra&since=24h');
    assert.equal(f.path, '/failures');
    assert.equal(f.query.get('class'), 'infra');
    assert.equal(f.query.get('since'), '24h');
    assert.equal(f.anchor, null);
    assert.equal(parseHash('').path, '/');
    assert.equal(parseHash('#/').path, '/');
  });
});

describe('ui log text', () => {
  test('carriage returns keep what a terminal shows last', async () => {
    const { lastCarriageSegment } = await ui('ansi.js');
    assert.equal(lastCarriageSegment('10%\r50%\r100%'), '100%');
    assert.equal(lastCarriageSegment('windows line\r'), 'windows line');
    assert.equal(lastCarriageSegment('plain'), 'plain');
  });
});

describe('ui incident formatting', () => {
  test('human durations are short and never read "0s" for a real span', async () => {
    const { humanSeconds, offset } = await ui('format.js');
    assert.equal(humanSeconds(null), '—');
    assert.equal(humanSeconds(0), '0s');
    // Sub-second spans are shown as such, not rounded to "<1s".
    assert.equal(humanSeconds(0.2), '0.2s');
    assert.equal(humanSeconds(0.04), '40ms');
    assert.equal(humanSeconds(0.97), '0.9s');
    assert.equal(humanSeconds(42.4), '42s');
    assert.equal(humanSeconds(252), '4m 12s');
    assert.equal(humanSeconds(240), '4m');
    assert.equal(humanSeconds(7500), '2h 5m');
    assert.equal(humanSeconds(3 * 86400 + 4 * 3600 + 59), '3d 4h');
    assert.equal(offset('2024-01-01T00:00:00Z', '2024-01-01T00:01:05Z'), '+1m 5s');
  });

  test('job and pipeline durations: sub-second when finished, whole seconds while running', async () => {
    const { spanText } = await ui('format.js');
    assert.equal(spanText('2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.350Z'), '0.4 s');
    assert.equal(spanText('2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.012Z'), '12 ms');
    assert.equal(spanText('2024-01-01T00:00:00Z', '2024-01-01T00:02:05Z'), '2 min 5 s');
    assert.equal(spanText('2024-01-01T00:00:00Z', null, Date.parse('2024-01-01T00:00:00.400Z')), '0 s');
    assert.equal(spanText(null, null), '—');
  });

  test('open incidents sort first, newest first within each state', async () => {
    const { sortOpenFirst } = await ui('views/incidents.js');
    const rows = [
      { id: 1, state: 'resolved', opened_at: '2024-01-03T00:00:00Z' },
      { id: 2, state: 'open', opened_at: '2024-01-01T00:00:00Z' },
      { id: 3, state: 'resolved', opened_at: '2024-01-04T00:00:00Z' },
      { id: 4, state: 'open', opened_at: '2024-01-02T00:00:00Z' },
    ];
    assert.deepEqual(
      sortOpenFirst(rows).map((r: { id: number }) => r.id),
      [4, 2, 3, 1],
    );
  });
});
