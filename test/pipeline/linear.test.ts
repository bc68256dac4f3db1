/**
 * Work stays linear in jobs + edges over a whole pipeline run: counted with the
 * engine's own work counters (examinations + counter updates), not timed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PipelineEngine } from '../../src/pipeline/index.js';
import type { JobSpec, PipelineModel } from '../../src/pipeline/index.js';
import { job, model, rng } from './helpers.js';

const STAGES10 = Array.from({ length: 10 }, (_, s) => `s${s}`);

/** n DAG jobs, each needing up to `fanIn` random earlier jobs. */
function dagModel(n: number, fanIn: number, seed = 1): { m: PipelineModel; edges: number } {
  const r = rng(seed);
  let edges = 0;
  const jobs: JobSpec[] = [];
  for (let i = 0; i < n; i++) {
    const needs = new Set<string>();
    for (let k = 0; k < fanIn && i > 0; k++) needs.add(`j${Math.floor(r() * i)}`);
    edges += needs.size;
    jobs.push(job(`j${i}`, { stage: STAGES10[Math.floor((i * 10) / n)], needs: [...needs] }));
  }
  return { m: model(jobs, STAGES10), edges };
}

function stageModel(n: number): PipelineModel {
  return model(
    Array.from({ length: n }, (_, i) => job(`j${i}`, { stage: STAGES10[Math.floor((i * 10) / n)] })),
    STAGES10,
  );
}

/** Runs the pipeline to the end, one job event at a time; returns total work. */
function runAll(m: PipelineModel, failEvery = 0): { work: number; events: number; status: string } {
  const e = PipelineEngine.create(m);
  let events = 1;
  e.apply({ type: 'start' });
  let k = 0;
  for (;;) {
    const pending = e.states().filter((s) => s.status === 'pending'); // test-side scan, not counted
    if (pending.length === 0) break;
    for (const s of pending) {
      e.apply({ type: 'job_started', name: s.name });
      const fail = failEvery > 0 && ++k % failEvery === 0;
      e.apply({ type: 'job_finished', name: s.name, result: fail ? 'failed' : 'success', exit_code: fail ? 1 : 0 });
      events += 2;
    }
  }
  const states = e.states();
  assert.ok(
    states.every((s) => ['success', 'failed', 'skipped'].includes(s.status)),
    'every job ended',
  );
  return { work: e.stats.examinations + e.stats.counter_updates, events, status: e.summary().status };
}

describe('linear work', () => {
  test('1,000-job DAG: work is O(jobs + edges)', () => {
    const { m, edges } = dagModel(1000, 4);
    const r = runAll(m);
    assert.equal(r.status, 'success');
    const bound = 6 * (m.jobs.length + edges);
    assert.ok(r.work <= bound, `work ${r.work} > ${bound} (jobs ${m.jobs.length}, edges ${edges})`);
    // A rescan per event would cost ~ events × jobs = millions.
    assert.ok(r.work < (r.events * m.jobs.length) / 50, `work ${r.work} looks quadratic`);
  });

  test('DAG work doubles (not quadruples) when the pipeline doubles', () => {
    const a = dagModel(1000, 4);
    const b = dagModel(2000, 4);
    const wa = runAll(a.m).work / (a.m.jobs.length + a.edges);
    const wb = runAll(b.m).work / (b.m.jobs.length + b.edges);
    assert.ok(wb / wa < 1.3, `work per job+edge grew from ${wa.toFixed(2)} to ${wb.toFixed(2)}`);
  });

  test('1,000-job stage pipeline (10 stages): work is O(jobs)', () => {
    const m = stageModel(1000);
    const r = runAll(m);
    assert.equal(r.status, 'success');
    assert.ok(r.work <= 6 * m.jobs.length, `work ${r.work} > ${6 * m.jobs.length}`);
    const r2 = runAll(stageModel(2000));
    assert.ok(r2.work <= 6 * 2000, `work ${r2.work} for 2,000 jobs`);
  });

  test('with failures (skips propagate) work stays linear', () => {
    const { m, edges } = dagModel(1000, 3, 7);
    const r = runAll(m, 17);
    assert.equal(r.status, 'failed');
    assert.ok(r.work <= 6 * (m.jobs.length + edges), `work ${r.work}`);
    const rs = runAll(stageModel(1000), 97);
    assert.ok(rs.work <= 6 * 1000, `stage work ${rs.work}`);
  });

  test('a wide fan-in job is examined once, not once per need', () => {
    const jobs = Array.from({ length: 999 }, (_, i) => job(`p${i}`, { needs: [] }));
    jobs.push(job('sink', { needs: jobs.map((j) => j.name) }));
    const m = model(jobs);
    const e = PipelineEngine.create(m);
    e.apply({ type: 'start' });
    const before = e.stats.examinations;
    for (const j of jobs.slice(0, -1)) {
      e.apply({ type: 'job_started', name: j.name });
      e.apply({ type: 'job_finished', name: j.name, result: 'success', exit_code: 0 });
    }
    assert.equal(e.state('sink').status, 'pending');
    assert.equal(e.stats.examinations - before, 1);
  });
});
