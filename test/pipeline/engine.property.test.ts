/**
 * Property tests over random pipelines (stage/needs mix, when values, manual
 * modes, on_status maps, retries) driven by random schedulers.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PipelineEngine, isTerminal } from '../../src/pipeline/index.js';
import type { JobSpec, JobState, PipelineEvent, PipelineModel, EngineResult } from '../../src/pipeline/index.js';
import type { RetryWhen } from '../../src/protocol/failure.js';
import { job, model, rng } from './helpers.js';

const STAGES = ['s0', 's1', 's2', 's3'];

interface Scenario {
  m: PipelineModel;
  /** Exit code of each job per attempt (index attempt-1). */
  exits: Record<string, number[]>;
  infra: Record<string, boolean>;
}

const arbJob = fc.record({
  stage: fc.nat({ max: 3 }),
  dag: fc.boolean(),
  needs: fc.array(fc.nat(), { maxLength: 3 }),
  when: fc.constantFrom('on_success', 'on_success', 'on_success', 'on_failure', 'always', 'manual'),
  manual: fc.constantFrom('required', 'optional', 'ignored'),
  success: fc.constantFrom('continue', 'continue', 'continue', 'continue', 'pass_pipeline'),
  failure: fc.constantFrom('fail_pipeline', 'fail_pipeline', 'warn', 'pass_pipeline'),
  codes: fc.dictionary(fc.constantFrom('2', '3', '42'), fc.constantFrom('warn', 'fail_pipeline', 'pass_pipeline')),
  retry: fc.nat({ max: 2 }),
  retryWhen: fc.constantFrom<RetryWhen[][]>(['always'], ['infrastructure'], ['script_failure'], ['build']),
  interruptible: fc.constantFrom(false, true, 'graceful'),
  exits: fc.array(fc.constantFrom(0, 0, 0, 1, 2, 3, 42), { minLength: 3, maxLength: 3 }),
  infra: fc.boolean(),
});

/** Jobs sorted by stage; DAG needs point to lower indices only, so the graph is acyclic. */
const arbScenario: fc.Arbitrary<Scenario> = fc.array(arbJob, { minLength: 1, maxLength: 10 }).map((raw) => {
  const sorted = [...raw].sort((a, b) => a.stage - b.stage);
  const jobs: JobSpec[] = sorted.map((r, i) => {
    const name = `j${i}`;
    const needs = r.dag ? [...new Set(i === 0 ? [] : r.needs.map((n) => `j${n % i}`))] : null;
    return job(name, {
      stage: STAGES[r.stage],
      needs,
      when: r.when as JobSpec['when'],
      manual: r.when === 'manual' ? (r.manual as JobSpec['manual']) : null,
      on_status: {
        success: r.success as 'continue' | 'pass_pipeline',
        failure: r.failure as JobSpec['on_status']['failure'],
        exit_codes: r.codes as JobSpec['on_status']['exit_codes'],
      },
      retry: { max: r.retry, when: r.retryWhen },
      interruptible: r.interruptible as JobSpec['interruptible'],
    });
  });
  return {
    m: model(jobs, STAGES),
    exits: Object.fromEntries(sorted.map((r, i) => [`j${i}`, r.exits])),
    infra: Object.fromEntries(sorted.map((r, i) => [`j${i}`, r.infra])),
  };
});

interface DriveOpts {
  /** Which manual jobs the driver may play. */
  play: 'none' | 'required' | 'all';
  /** Probability per step of considering a cancel. */
  cancel: number;
  /** Called with each event's result (for invariants). */
  check?: (e: PipelineEngine, r: EngineResult, ev: PipelineEvent) => void;
}

function finishEvent(sc: Scenario, s: JobState): PipelineEvent {
  const code = sc.exits[s.name][Math.min(s.attempt, 3) - 1];
  if (code === 0) return { type: 'job_finished', name: s.name, result: 'success', exit_code: 0 };
  const infra = sc.infra[s.name];
  return {
    type: 'job_finished',
    name: s.name,
    result: 'failed',
    exit_code: infra ? null : code,
    failure_reason: infra ? 'runner_system_failure' : 'script_failure',
    failure_class: infra ? 'infra' : 'build',
  };
}

/** Drives the engine with random choices until nothing can happen; returns the event log. */
function drive(e: PipelineEngine, sc: Scenario, seed: number, o: DriveOpts): PipelineEvent[] {
  const r = rng(seed);
  const log: PipelineEvent[] = [];
  const spec = new Map(sc.m.jobs.map((j) => [j.name, j]));
  const apply = (ev: PipelineEvent) => {
    const res = e.apply(ev);
    log.push(ev);
    o.check?.(e, res, ev);
  };
  if (e.states().every((s) => s.status === 'created')) apply({ type: 'start' });
  for (let step = 0; step < 500; step++) {
    const st = e.states();
    const acts: PipelineEvent[] = [];
    for (const s of st) {
      if (s.status === 'pending') acts.push({ type: 'job_started', name: s.name });
      if (s.status === 'running') acts.push(finishEvent(sc, s));
      if (s.status === 'canceling')
        acts.push(r() < 0.8 ? { type: 'job_finished', name: s.name, result: 'canceled', exit_code: null } : finishEvent(sc, s));
      if (s.status === 'manual' && (o.play === 'all' || (o.play === 'required' && spec.get(s.name)!.manual === 'required'))) {
        acts.push({ type: 'job_play', name: s.name });
      }
    }
    if (acts.length === 0) return log;
    if (r() < o.cancel) {
      const open = st.filter((s) => ['created', 'pending', 'manual', 'running'].includes(s.status));
      const x = r();
      if (x < 0.2) acts.splice(0, acts.length, { type: 'pipeline_cancel', only_interruptible: r() < 0.5 });
      else if (open.length > 0) acts.splice(0, acts.length, { type: 'job_cancel', name: open[Math.floor(r() * open.length)].name });
    }
    apply(acts[Math.floor(r() * acts.length)]);
  }
  throw new Error('driver did not finish in 500 steps');
}

/** Predecessors by the model alone (independent of the engine's indexes). */
function predecessors(m: PipelineModel, name: string): JobSpec[] {
  const j = m.jobs.find((x) => x.name === name)!;
  if (j.needs !== null) return m.jobs.filter((x) => j.needs!.includes(x.name));
  return m.jobs.filter((x) => x.stage_index < j.stage_index);
}

const RUNS = { numRuns: 400 };
const seedArb = fc.integer();

describe('engine properties', () => {
  test('(a) driving every job to the end reaches a terminal pipeline (no deadlock)', () => {
    fc.assert(
      fc.property(arbScenario, seedArb, fc.constantFrom(0, 0.05), (sc, seed, cancel) => {
        const e = PipelineEngine.create(sc.m);
        drive(e, sc, seed, { play: 'none', cancel });
        // Quiescent without plays: only manual jobs, or jobs waiting on a required one, are left.
        const st = e.states();
        const spec = new Map(sc.m.jobs.map((j) => [j.name, j]));
        const requiredWaiting = st.some((s) => s.status === 'manual' && spec.get(s.name)!.manual === 'required');
        for (const s of st) {
          assert.ok(
            isTerminal(s.status) || s.status === 'manual' || (s.status === 'created' && requiredWaiting),
            `${s.name} stuck ${s.status}`,
          );
        }
        const p = e.summary().status;
        if (requiredWaiting) assert.equal(p, 'blocked');
        else assert.ok(['success', 'failed', 'canceled', 'skipped'].includes(p), `pipeline ${p}`);
        // Play everything that is left: then everything ends.
        drive(e, sc, seed + 1, { play: 'all', cancel: 0 });
        for (const s of e.states()) assert.ok(isTerminal(s.status), `${s.name} ended ${s.status}`);
        assert.ok(['success', 'failed', 'canceled', 'skipped'].includes(e.summary().status));
      }),
      RUNS,
    );
  });

  test('(b) no job is decided (pending/manual) before its predecessors are done', () => {
    fc.assert(
      fc.property(arbScenario, seedArb, (sc, seed) => {
        const spec = new Map(sc.m.jobs.map((j) => [j.name, j]));
        const e = PipelineEngine.create(sc.m);
        drive(e, sc, seed, {
          play: 'all',
          cancel: 0.03,
          check: (eng, res) => {
            for (const t of res.transitions) {
              if (t.from !== 'created' || (t.to !== 'pending' && t.to !== 'manual')) continue;
              for (const p of predecessors(sc.m, t.name)) {
                const ps = eng.state(p.name).status;
                const absent = ps === 'manual' && spec.get(p.name)!.manual !== 'required';
                assert.ok(isTerminal(ps) || absent, `${t.name} became ${t.to} while ${p.name} is ${ps}`);
              }
            }
          },
        });
      }),
      RUNS,
    );
  });

  test('(c) the final status does not depend on the order of finish events', () => {
    fc.assert(
      fc.property(arbScenario, seedArb, seedArb, (sc, s1, s2) => {
        const a = PipelineEngine.create(sc.m);
        const b = PipelineEngine.create(sc.m);
        drive(a, sc, s1, { play: 'required', cancel: 0 });
        drive(b, sc, s2, { play: 'required', cancel: 0 });
        const sa = a.summary();
        const sb = b.summary();
        assert.equal(sa.status, sb.status);
        assert.equal(sa.warnings, sb.warnings);
        assert.equal(sa.halted_by === null, sb.halted_by === null);
        // Without an early pass, which jobs were still running when it came does not matter: all must agree.
        if (sa.halted_by === null) assert.deepEqual(a.states(), b.states());
      }),
      RUNS,
    );
  });

  test('(d) restore at any point then continuing equals never restarting', () => {
    fc.assert(
      fc.property(arbScenario, seedArb, fc.nat(), (sc, seed, cutAt) => {
        const original = PipelineEngine.create(sc.m);
        const log = drive(original, sc, seed, { play: 'all', cancel: 0.05 });
        const cut = cutAt % (log.length + 1);
        const live = PipelineEngine.create(sc.m);
        for (const ev of log.slice(0, cut)) live.apply(ev);
        const restored = PipelineEngine.restore(sc.m, live.states(), live.meta());
        assert.deepEqual(restored.summary(), live.summary());
        for (const ev of log.slice(cut)) assert.deepEqual(restored.apply(ev), live.apply(ev));
        assert.deepEqual(restored.states(), original.states());
        assert.deepEqual(restored.summary(), original.summary());
      }),
      RUNS,
    );
  });

  test('(e) an engine behind, given the states that changed since (plus some that did not), equals a restore', () => {
    fc.assert(
      fc.property(arbScenario, seedArb, fc.nat(), fc.nat(), fc.nat(), (sc, seed, cutA, cutB, extra) => {
        const original = PipelineEngine.create(sc.m);
        const log = drive(original, sc, seed, { play: 'all', cancel: 0.05 });
        const [a, b] = [cutA % (log.length + 1), cutB % (log.length + 1)].sort((x, y) => x - y);
        const behind = PipelineEngine.create(sc.m);
        for (const ev of log.slice(0, a)) behind.apply(ev);
        const live = PipelineEngine.create(sc.m);
        for (const ev of log.slice(0, b)) live.apply(ev);
        const before = new Map(behind.states().map((s) => [s.name, s]));
        // What another writer's steps stored: every job that changed, and rows written unchanged.
        const written = live.states().filter((s, i) => (extra >> i) & 1 || JSON.stringify(s) !== JSON.stringify(before.get(s.name)));
        behind.overwrite(written, live.meta());
        assert.deepEqual(behind.states(), live.states());
        assert.deepEqual(behind.summary(), live.summary());
        assert.deepEqual(behind.stageSummaries(), live.stageSummaries());
        const restored = PipelineEngine.restore(sc.m, live.states(), live.meta());
        for (const ev of log.slice(b)) assert.deepEqual(behind.apply(ev), restored.apply(ev));
        assert.deepEqual(behind.states(), original.states());
        assert.deepEqual(behind.summary(), original.summary());
      }),
      RUNS,
    );
  });

  test('(e) overwrite refuses an unknown job, a job given twice or an unknown status, changing nothing', () => {
    const m = model([job('a', { stage: 's0' }), job('b', { stage: 's1' })], STAGES);
    const e = PipelineEngine.create(m);
    e.apply({ type: 'start' });
    const was = e.states();
    const a = was[0];
    for (const bad of [[{ ...a, name: 'zz' }], [a, { ...a, status: 'success' as const }], [{ ...a, status: 'lost' as never }]]) {
      assert.throws(() => e.overwrite(bad, e.meta()), /no job named|twice|unknown status/);
      assert.deepEqual(e.states(), was);
    }
    assert.throws(() => e.overwrite([], { halted_by: 'zz', canceled: false }), /zz/);
    assert.deepEqual(e.meta(), { halted_by: null, canceled: false });
  });
});
