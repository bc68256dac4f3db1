import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePipeline } from '../../src/config/index.js';
import { bigDagYaml } from '../../bench/config.js';

// Compile speed is measured by `npm run bench` (bench/config.ts), not asserted here.
test('a 1,000-job DAG with extends and rules compiles to the right model', () => {
  const r = compilePipeline(bigDagYaml(1000));
  assert.ok(
    r.ok,
    !r.ok
      ? r.errors
          .slice(0, 3)
          .map((e) => e.message)
          .join('\n')
      : '',
  );
  assert.equal(r.model.jobs.length, 1000);
  assert.deepEqual(r.model.jobs[999]!.needs, ['job_998', 'job_992', 'job_968']);
});

test('a long needs chain with a cycle at the end is found without recursion limits', () => {
  const n = 3000;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`j${i}:`, '  script: x', `  needs: [j${(i + 1) % n}]`);
  const r = compilePipeline(lines.join('\n'));
  assert.equal(r.ok, false);
  assert.ok(!r.ok);
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0]!.message, /^j2999\.needs\[0\]: needs cycle: j0 → j1 → .* → j2999 → j0$/);
});
