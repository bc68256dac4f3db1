import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PipelineEngine, EngineError, displayStatus } from '../../src/pipeline/index.js';
import type { DisplayStatus, JobSpec, PipelineStatus, Transition } from '../../src/pipeline/index.js';
import { events, job, model } from './helpers.js';

interface Row {
  name: string;
  jobs: JobSpec[];
  stages?: string[];
  events: string[];
  /** Display statuses of the named jobs after the events. */
  expect: Record<string, DisplayStatus>;
  pipeline: PipelineStatus;
  warnings?: boolean;
  halted_by?: string;
  attempts?: Record<string, number>;
  notes?: Record<string, RegExp>;
  /** Checked against every transition of the last event. */
  lastTransitions?: (ts: Transition[]) => void;
}

const fail = { on_status: { success: 'continue', failure: 'warn', exit_codes: {} } } as const;

const ROWS: Row[] = [
  // ── stage order ──
  {
    name: 'stage mode: later stage waits for the earlier one',
    jobs: [job('a', { stage: 'build' }), job('b')],
    events: ['start'],
    expect: { a: 'pending', b: 'created' },
    pipeline: 'pending',
  },
  {
    name: 'a running job makes the pipeline running',
    jobs: [job('a', { stage: 'build' }), job('b')],
    events: ['start', 'started a'],
    expect: { a: 'running', b: 'created' },
    pipeline: 'running',
  },
  {
    name: 'stage mode: all succeed',
    jobs: [job('a', { stage: 'build' }), job('b'), job('c', { stage: 'deploy' })],
    events: ['start', 'run a', 'run b', 'run c'],
    expect: { a: 'success', b: 'success', c: 'success' },
    pipeline: 'success',
    warnings: false,
  },
  {
    name: 'stage mode: a failure skips on_success jobs of all later stages',
    jobs: [job('a', { stage: 'build' }), job('a2', { stage: 'build' }), job('b'), job('c', { stage: 'deploy' })],
    events: ['start', 'started a', 'fail a', 'run a2'],
    expect: { a: 'failed', a2: 'success', b: 'skipped', c: 'skipped' },
    pipeline: 'failed',
    notes: { b: /predecessor failed/ },
  },
  {
    name: 'stage mode: the next stage waits until every job of the stage is done',
    jobs: [job('a', { stage: 'build' }), job('a2', { stage: 'build' }), job('b')],
    events: ['start', 'run a'],
    expect: { a: 'success', a2: 'pending', b: 'created' },
    pipeline: 'running',
  },
  {
    name: 'on_failure runs after a failure, is skipped otherwise',
    jobs: [job('a', { stage: 'build' }), job('n', { when: 'on_failure' })],
    events: ['start', 'started a', 'fail a'],
    expect: { a: 'failed', n: 'pending' },
    pipeline: 'running',
  },
  {
    name: 'stage mode: a skipped on_failure job does not skip later stages (GitLab)',
    jobs: [job('a', { stage: 'build' }), job('n', { when: 'on_failure' }), job('d', { stage: 'deploy' })],
    events: ['start', 'run a'],
    expect: { a: 'success', n: 'skipped', d: 'pending' },
    pipeline: 'running',
  },
  {
    name: 'always runs after a failure',
    jobs: [job('a', { stage: 'build' }), job('c', { when: 'always', stage: 'deploy' }), job('b')],
    events: ['start', 'started a', 'fail a', 'run c'],
    expect: { a: 'failed', b: 'skipped', c: 'success' },
    pipeline: 'failed',
  },
  // ── DAG ──
  {
    name: 'needs [] starts at once, whatever its stage',
    jobs: [job('a', { stage: 'build' }), job('d', { stage: 'deploy', needs: [] })],
    events: ['start'],
    expect: { a: 'pending', d: 'pending' },
    pipeline: 'pending',
  },
  {
    name: 'DAG: a job starts when its needs are done, not its stage',
    jobs: [job('a', { stage: 'build' }), job('b', { stage: 'build' }), job('d', { stage: 'deploy', needs: ['a'] })],
    events: ['start', 'run a'],
    expect: { a: 'success', b: 'pending', d: 'pending' },
    pipeline: 'running',
  },
  {
    name: 'DAG: a skipped need skips its on_success dependent, transitively',
    jobs: [job('a', { needs: [] }), job('b', { needs: ['a'] }), job('c', { needs: ['b'] }), job('x', { needs: [] })],
    events: ['start', 'started a', 'fail a', 'run x'],
    expect: { a: 'failed', b: 'skipped', c: 'skipped', x: 'success' },
    pipeline: 'failed',
    notes: { c: /skipped/ },
  },
  {
    name: 'DAG: on_failure sees a failed need even beside a skipped one',
    jobs: [job('a', { needs: [] }), job('s', { needs: [], when: 'on_failure' }), job('n', { needs: ['a', 's'], when: 'on_failure' })],
    events: ['start', 'started a', 'fail a'],
    expect: { a: 'failed', s: 'skipped', n: 'pending' },
    pipeline: 'running',
  },
  {
    name: 'stage-mode job waits for DAG jobs of earlier stages',
    jobs: [job('a', { stage: 'build', needs: [] }), job('b', { stage: 'build', needs: ['a'] }), job('c')],
    events: ['start', 'run a'],
    expect: { a: 'success', b: 'pending', c: 'created' },
    pipeline: 'running',
  },
  // ── on_status ──
  {
    name: 'warn: failed with warnings counts as success',
    jobs: [job('a', { stage: 'build', ...fail }), job('b')],
    events: ['start', 'started a', 'fail a', 'run b'],
    expect: { a: 'success_with_warnings', b: 'success' },
    pipeline: 'success',
    warnings: true,
  },
  {
    name: 'exit_codes: mapped code warns, other codes fail',
    jobs: [
      job('a', { stage: 'build', on_status: { success: 'continue', failure: 'fail_pipeline', exit_codes: { '3': 'warn' } } }),
      job('a2', { stage: 'build', on_status: { success: 'continue', failure: 'fail_pipeline', exit_codes: { '3': 'warn' } } }),
      job('b'),
    ],
    events: ['start', 'started a', 'exit a 3', 'started a2', 'exit a2 4'],
    expect: { a: 'success_with_warnings', a2: 'failed', b: 'skipped' },
    pipeline: 'failed',
  },
  {
    name: 'DAG: a warn need lets on_success dependents run',
    jobs: [job('a', { needs: [], ...fail }), job('b', { needs: ['a'] })],
    events: ['start', 'started a', 'fail a'],
    expect: { a: 'success_with_warnings', b: 'pending' },
    pipeline: 'pending',
  },
  {
    name: 'pass_pipeline by exit code: halts, skips the rest, cancels running jobs',
    jobs: [
      job('check', { stage: 'build', on_status: { success: 'continue', failure: 'fail_pipeline', exit_codes: { '42': 'pass_pipeline' } } }),
      job('lint', { stage: 'build', interruptible: 'graceful' }),
      job('other', { stage: 'build', interruptible: true }),
      job('waiting', { stage: 'build', when: 'manual', manual: 'required' }),
      job('b'),
    ],
    events: ['start', 'started lint', 'started other', 'started check', 'exit check 42'],
    expect: { check: 'success', lint: 'canceling', other: 'canceling', waiting: 'skipped', b: 'skipped' },
    pipeline: 'canceling',
    halted_by: 'check',
    notes: { b: /^pipeline passed early by job check$/, waiting: /passed early/ },
    lastTransitions: (ts) => {
      assert.equal(ts.find((t) => t.name === 'lint')?.graceful, true);
      assert.equal(ts.find((t) => t.name === 'other')?.graceful, false);
    },
  },
  {
    name: 'pass_pipeline: pipeline ends success with warnings once canceled jobs end',
    jobs: [
      job('check', { stage: 'build', on_status: { success: 'pass_pipeline', failure: 'fail_pipeline', exit_codes: {} } }),
      job('lint', { stage: 'build' }),
      job('b'),
    ],
    events: ['start', 'started lint', 'started check', 'ok check', 'canceled lint'],
    expect: { check: 'success', lint: 'canceled', b: 'skipped' },
    pipeline: 'success',
    warnings: true,
    halted_by: 'check',
  },
  {
    name: 'pass_pipeline keeps the exit code of the halting job',
    jobs: [job('check', { on_status: { success: 'continue', failure: 'pass_pipeline', exit_codes: {} } })],
    events: ['start', 'started check', 'exit check 7'],
    expect: { check: 'success' },
    pipeline: 'success',
    halted_by: 'check',
  },
  // ── manual ──
  {
    name: 'manual required (stage mode): blocks later stages, pipeline blocked',
    jobs: [job('m', { stage: 'build', manual: 'required' }), job('a', { stage: 'build' }), job('b')],
    events: ['start', 'run a'],
    expect: { m: 'manual', a: 'success', b: 'created' },
    pipeline: 'blocked',
  },
  {
    name: 'manual required: playing it unblocks',
    jobs: [job('m', { stage: 'build', manual: 'required' }), job('b')],
    events: ['start', 'play m', 'run m'],
    expect: { m: 'success', b: 'pending' },
    pipeline: 'running',
  },
  {
    name: 'manual required (DAG): blocks only its dependents',
    jobs: [job('m', { needs: [], manual: 'required' }), job('x', { needs: ['m'] }), job('y', { needs: [], stage: 'deploy' })],
    events: ['start', 'run y'],
    expect: { m: 'manual', x: 'created', y: 'success' },
    pipeline: 'blocked',
  },
  {
    name: 'manual optional: later stages go on, jobs that need it are skipped, pipeline success',
    jobs: [
      job('m', { stage: 'build', manual: 'optional' }),
      job('a', { stage: 'build' }),
      job('x', { needs: ['m', 'a'] }),
      job('d', { stage: 'deploy' }),
    ],
    events: ['start', 'run a', 'run d'],
    expect: { m: 'manual', a: 'success', x: 'skipped', d: 'success' },
    pipeline: 'success',
    warnings: false,
  },
  {
    name: 'manual optional played early: dependents wait for it',
    jobs: [job('m', { needs: [], manual: 'optional' }), job('a', { needs: [] }), job('x', { needs: ['m', 'a'] })],
    events: ['start', 'play m', 'run a'],
    expect: { m: 'pending', a: 'success', x: 'created' },
    pipeline: 'running',
  },
  {
    name: 'manual optional played late: the jobs skipped for it are decided again',
    jobs: [job('m', { needs: [], manual: 'optional' }), job('x', { needs: ['m'] }), job('y', { needs: ['x'] })],
    events: ['start', 'play m', 'run m'],
    expect: { m: 'success', x: 'pending', y: 'created' },
    pipeline: 'running',
  },
  {
    name: 'manual ignored: as if absent for needs and stages; pipeline success',
    jobs: [job('m', { stage: 'build', manual: 'ignored' }), job('x', { needs: ['m'] }), job('d', { stage: 'deploy' })],
    events: ['start', 'run x', 'run d'],
    expect: { m: 'manual', x: 'success', d: 'success' },
    pipeline: 'success',
  },
  {
    name: 'manual ignored played: counts for jobs not yet decided',
    jobs: [job('m', { stage: 'build', manual: 'ignored' }), job('a', { stage: 'build' }), job('b')],
    events: ['start', 'play m', 'run a'],
    expect: { m: 'pending', a: 'success', b: 'created' },
    pipeline: 'running',
  },
  {
    name: 'manual ignored played and failed: later undecided jobs are skipped',
    jobs: [job('m', { stage: 'build', manual: 'ignored' }), job('a', { stage: 'build' }), job('b')],
    events: ['start', 'play m', 'started m', 'fail m', 'run a'],
    expect: { m: 'failed', a: 'success', b: 'skipped' },
    pipeline: 'failed',
  },
  {
    name: 'a manual job after a failure is skipped',
    jobs: [job('a', { stage: 'build' }), job('m', { manual: 'required' })],
    events: ['start', 'started a', 'fail a'],
    expect: { a: 'failed', m: 'skipped' },
    pipeline: 'failed',
  },
  {
    name: 'only non-blocking manual jobs left: success',
    jobs: [job('a', { stage: 'build' }), job('m', { manual: 'ignored' }), job('o', { manual: 'optional' })],
    events: ['start', 'run a'],
    expect: { a: 'success', m: 'manual', o: 'manual' },
    pipeline: 'success',
  },
  // ── retry ──
  {
    name: 'automatic retry: a failed attempt becomes a new pending attempt',
    jobs: [job('a', { stage: 'build', retry: { max: 1, when: ['always'] } }), job('b')],
    events: ['start', 'started a', 'fail a'],
    expect: { a: 'pending', b: 'created' },
    pipeline: 'pending',
    attempts: { a: 2 },
    lastTransitions: (ts) => {
      assert.deepEqual(
        ts.map((t) => [t.from, t.to, t.new_attempt ?? false]),
        [
          ['running', 'failed', false],
          ['failed', 'pending', true],
        ],
      );
    },
  },
  {
    name: 'automatic retry: stops after max',
    jobs: [job('a', { stage: 'build', retry: { max: 1, when: ['always'] } }), job('b')],
    events: ['start', 'started a', 'fail a', 'started a', 'fail a'],
    expect: { a: 'failed', b: 'skipped' },
    pipeline: 'failed',
    attempts: { a: 2 },
  },
  {
    name: 'automatic retry: when infrastructure skips build failures',
    jobs: [job('a', { retry: { max: 2, when: ['infrastructure'] } })],
    events: ['start', 'started a', 'fail a'],
    expect: { a: 'failed' },
    pipeline: 'failed',
    attempts: { a: 1 },
  },
  {
    name: 'automatic retry: when infrastructure retries infra failures',
    jobs: [job('a', { retry: { max: 2, when: ['infrastructure'] } })],
    events: ['start', 'started a', 'infra a'],
    expect: { a: 'pending' },
    pipeline: 'pending',
    attempts: { a: 2 },
  },
  // retry: exit_codes (GitLab's Gitlab::Ci::Build::AutoRetry): alone, only the listed codes are
  // retried; with when:, a failure is retried when its reason OR its exit code matches.
  {
    name: 'retry exit_codes alone: a listed exit code is retried',
    jobs: [job('a', { retry: { max: 2, when: [], exit_codes: [137, 255] } })],
    events: ['start', 'started a', 'exit a 137'],
    expect: { a: 'pending' },
    pipeline: 'pending',
    attempts: { a: 2 },
  },
  {
    name: 'retry exit_codes alone: another exit code is not retried',
    jobs: [job('a', { retry: { max: 2, when: [], exit_codes: [137] } })],
    events: ['start', 'started a', 'exit a 1'],
    expect: { a: 'failed' },
    pipeline: 'failed',
    attempts: { a: 1 },
  },
  {
    name: 'retry exit_codes alone: a failure without an exit code (infra) is not retried',
    jobs: [job('a', { retry: { max: 2, when: [], exit_codes: [137] } })],
    events: ['start', 'started a', 'infra a'],
    expect: { a: 'failed' },
    pipeline: 'failed',
    attempts: { a: 1 },
  },
  {
    name: 'retry exit_codes with when: the reason matches though the code does not',
    jobs: [job('a', { retry: { max: 2, when: ['runner_system_failure'], exit_codes: [137] } })],
    events: ['start', 'started a', 'infra a'],
    expect: { a: 'pending' },
    pipeline: 'pending',
    attempts: { a: 2 },
  },
  {
    name: 'retry exit_codes with when: the code matches though the reason does not',
    jobs: [job('a', { retry: { max: 2, when: ['runner_system_failure'], exit_codes: [137] } })],
    events: ['start', 'started a', 'exit a 137'],
    expect: { a: 'pending' },
    pipeline: 'pending',
    attempts: { a: 2 },
  },
  {
    name: 'retry exit_codes: stops after max',
    jobs: [job('a', { retry: { max: 1, when: [], exit_codes: [3] } })],
    events: ['start', 'started a', 'exit a 3', 'started a', 'exit a 3'],
    expect: { a: 'failed' },
    pipeline: 'failed',
    attempts: { a: 2 },
  },
  {
    name: 'automatic retry: canceled jobs are never retried',
    jobs: [job('a', { retry: { max: 2, when: ['always'] } })],
    events: ['start', 'started a', 'cancel a', 'canceled a'],
    expect: { a: 'canceled' },
    pipeline: 'canceled',
    attempts: { a: 1 },
  },
  {
    name: 'infra failures use on_status.failure too (allow_failure covers them)',
    jobs: [job('a', { stage: 'build', ...fail }), job('b')],
    events: ['start', 'started a', 'infra a'],
    expect: { a: 'success_with_warnings', b: 'pending' },
    pipeline: 'pending',
  },
  {
    name: 'job_retry: new attempt; skipped dependents are decided again',
    jobs: [job('a', { stage: 'build' }), job('b'), job('c', { needs: ['b'], stage: 'deploy' })],
    events: ['start', 'started a', 'fail a', 'retry a', 'run a'],
    expect: { a: 'success', b: 'pending', c: 'created' },
    pipeline: 'running',
    attempts: { a: 2, b: 1 },
  },
  {
    name: 'job_retry: the pipeline status follows the latest attempts',
    jobs: [job('a', { needs: [] }), job('b', { needs: [] })],
    events: ['start', 'run b', 'started a', 'fail a', 'retry a', 'run a'],
    expect: { a: 'success', b: 'success' },
    pipeline: 'success',
    attempts: { a: 2 },
  },
  {
    name: 'job_retry of a canceled pipeline resumes it',
    jobs: [job('a', { stage: 'build' }), job('b')],
    events: ['start', 'pcancel', 'retry a'],
    expect: { a: 'pending', b: 'created' },
    pipeline: 'pending',
    attempts: { a: 2, b: 2 },
  },
  {
    name: 'job_retry while a predecessor runs again: the new attempt waits (created)',
    jobs: [job('a', { needs: [] }), job('b', { needs: ['a'] })],
    events: ['start', 'run a', 'run b', 'retry a', 'retry b'],
    expect: { a: 'pending', b: 'created' },
    pipeline: 'pending',
    attempts: { a: 2, b: 2 },
  },
  {
    name: 'job_retry after an early pass resumes the pipeline',
    jobs: [job('p', { stage: 'build', on_status: { success: 'pass_pipeline', failure: 'fail_pipeline', exit_codes: {} } }), job('b')],
    events: ['start', 'run p', 'retry p'],
    expect: { p: 'pending', b: 'created' },
    pipeline: 'pending',
    attempts: { p: 2, b: 1 },
  },
  // ── cancel ──
  {
    name: 'job_cancel of a pending job: canceled, dependents skipped',
    jobs: [job('a', { stage: 'build' }), job('b')],
    events: ['start', 'cancel a'],
    expect: { a: 'canceled', b: 'skipped' },
    pipeline: 'canceled',
  },
  {
    name: 'job_cancel of a running job: canceling, then canceled',
    jobs: [job('a', { interruptible: 'graceful' })],
    events: ['start', 'started a', 'cancel a'],
    expect: { a: 'canceling' },
    pipeline: 'canceling',
    lastTransitions: (ts) => assert.equal(ts[0].graceful, true),
  },
  {
    name: 'pipeline_cancel: pending/created/manual canceled, running canceling',
    jobs: [job('a', { stage: 'build' }), job('r', { stage: 'build' }), job('m', { stage: 'build', manual: 'optional' }), job('b')],
    events: ['start', 'started r', 'pcancel'],
    expect: { a: 'canceled', r: 'canceling', m: 'canceled', b: 'canceled' },
    pipeline: 'canceling',
  },
  {
    name: 'pipeline_cancel: canceled once all jobs end; nothing new starts',
    jobs: [job('r', { stage: 'build' }), job('b'), job('c', { when: 'always', stage: 'deploy' })],
    events: ['start', 'started r', 'pcancel', 'ok r'],
    expect: { r: 'success', b: 'canceled', c: 'canceled' },
    pipeline: 'canceled',
  },
  {
    name: 'pipeline_cancel only_interruptible: no-op once a non-interruptible job ran',
    jobs: [job('a', { stage: 'build', interruptible: false }), job('i', { stage: 'build', interruptible: true })],
    events: ['start', 'started i', 'started a', 'autocancel'],
    expect: { a: 'running', i: 'running' },
    pipeline: 'running',
  },
  {
    name: 'pipeline_cancel only_interruptible: cancels while only interruptible jobs ran',
    jobs: [job('i', { stage: 'build', interruptible: true }), job('a', { interruptible: false })],
    events: ['start', 'started i', 'autocancel'],
    expect: { i: 'canceling', a: 'canceled' },
    pipeline: 'canceling',
    notes: { a: /redundant/ },
  },
  {
    name: 'pipeline_cancel before start',
    jobs: [job('a'), job('b')],
    events: ['pcancel'],
    expect: { a: 'canceled', b: 'canceled' },
    pipeline: 'canceled',
  },
];

describe('engine rules (table)', () => {
  for (const row of ROWS) {
    test(row.name, () => {
      const e = PipelineEngine.create(model(row.jobs, row.stages));
      let last: Transition[] = [];
      let summary = e.summary();
      for (const ev of events(...row.events)) {
        const r = e.apply(ev);
        last = r.transitions;
        summary = r.pipeline;
      }
      const got = Object.fromEntries(Object.keys(row.expect).map((n) => [n, displayStatus(e.state(n))]));
      assert.deepEqual(got, row.expect);
      assert.equal(summary.status, row.pipeline);
      assert.deepEqual(e.summary(), summary);
      if (row.warnings !== undefined) assert.equal(summary.warnings, row.warnings);
      assert.equal(summary.halted_by, row.halted_by ?? null);
      for (const [n, a] of Object.entries(row.attempts ?? {})) assert.equal(e.state(n).attempt, a, `attempt of ${n}`);
      for (const [n, re] of Object.entries(row.notes ?? {})) assert.match(e.state(n).note ?? '', re, `note of ${n}`);
      row.lastTransitions?.(last);
    });
  }
});

describe('engine details', () => {
  test('transitions carry from/to and the pass_pipeline note', () => {
    const e = PipelineEngine.create(
      model([job('p', { stage: 'build', on_status: { success: 'pass_pipeline', failure: 'fail_pipeline', exit_codes: {} } }), job('b')]),
    );
    e.apply({ type: 'start' });
    e.apply({ type: 'job_started', name: 'p' });
    const r = e.apply({ type: 'job_finished', name: 'p', result: 'success', exit_code: 0 });
    assert.deepEqual(r.transitions, [
      { name: 'p', from: 'running', to: 'success' },
      { name: 'b', from: 'created', to: 'skipped', note: 'pipeline passed early by job p' },
    ]);
    assert.deepEqual(r.pipeline, { status: 'success', halted_by: 'p', warnings: true });
    assert.equal(e.state('p').exit_code, 0);
    assert.equal(e.state('p').outcome, 'pass_pipeline');
  });

  test('job_requeued: a running job its runner never received is pending again; any other state refuses it', () => {
    const e = PipelineEngine.create(model([job('a', { stage: 'build' }), job('b')]));
    e.apply({ type: 'start' });
    e.apply({ type: 'job_started', name: 'a' });
    const r = e.apply({ type: 'job_requeued', name: 'a' });
    assert.deepEqual(r.transitions, [{ name: 'a', from: 'running', to: 'pending' }]);
    assert.equal(r.pipeline.status, 'pending');
    assert.equal(e.state('a').attempt, 1, 'the same attempt: nothing of it ran');
    assert.throws(() => e.apply({ type: 'job_requeued', name: 'a' }), EngineError);
    assert.throws(() => e.apply({ type: 'job_requeued', name: 'b' }), EngineError);
    e.apply({ type: 'job_started', name: 'a' });
    const done = e.apply({ type: 'job_finished', name: 'a', result: 'success', exit_code: 0 });
    assert.ok(done.transitions.some((t) => t.name === 'b' && t.to === 'pending'));
  });

  test('stuck pending job can be failed by the coordinator', () => {
    const e = PipelineEngine.create(model([job('a')]));
    e.apply({ type: 'start' });
    const r = e.apply({
      type: 'job_finished',
      name: 'a',
      result: 'failed',
      exit_code: null,
      failure_reason: 'stuck_pending_no_matching_runners',
      failure_class: 'infra',
    });
    assert.equal(r.pipeline.status, 'failed');
  });

  test('start is idempotent', () => {
    const e = PipelineEngine.create(model([job('a', { stage: 'build' }), job('b')]));
    e.apply({ type: 'start' });
    assert.deepEqual(e.apply({ type: 'start' }).transitions, []);
  });

  test('stage summaries use the stage table', () => {
    const e = PipelineEngine.create(model([job('a', { stage: 'build', ...fail }), job('m', { manual: 'required' })]));
    for (const ev of events('start', 'started a', 'fail a')) e.apply(ev);
    assert.deepEqual(
      e.stageSummaries().map((s) => [s.name, s.status, s.warnings]),
      [
        ['build', 'success', true],
        ['test', 'manual', false],
        ['deploy', 'skipped', false],
      ],
    );
  });

  test('restore rebuilds an identical engine', () => {
    const m = model([job('a', { stage: 'build' }), job('b'), job('m', { manual: 'required' }), job('c', { stage: 'deploy' })]);
    const e = PipelineEngine.create(m);
    for (const ev of events('start', 'run a')) e.apply(ev);
    const r = PipelineEngine.restore(m, e.states().reverse(), e.meta());
    assert.deepEqual(r.states(), e.states());
    assert.deepEqual(r.summary(), e.summary());
    assert.deepEqual(r.apply({ type: 'start' }).transitions, []);
    for (const ev of events('run b', 'play m', 'run m')) assert.deepEqual(r.apply(ev), e.apply(ev));
    assert.equal(r.state('c').status, 'pending');
  });
});

describe('engine errors', () => {
  const m = model([job('a', { stage: 'build' }), job('b'), job('m', { stage: 'build', manual: 'optional' })]);
  const cases: [string, string[], RegExp][] = [
    ['unknown job', ['start', 'started nope'], /no job named "nope"/],
    ['finishing a job that is not running', ['start', 'ok a'], /cannot finish job "a": it is pending/],
    ['starting a created job', ['start', 'started b'], /cannot start job "b": it is created/],
    ['playing a non-manual job', ['start', 'play a'], /cannot play job "a": it is pending \(expected manual\)/],
    ['retrying a running job', ['start', 'started a', 'retry a'], /cannot retry job "a": it is running/],
    ['retrying a skipped job', ['start', 'started a', 'fail a', 'retry b'], /cannot retry job "b": it is skipped/],
    ['canceling a finished job', ['start', 'run a', 'cancel a'], /cannot cancel job "a": it is success/],
    ['events before start', ['started a'], /has not started/],
  ];
  for (const [name, evs, re] of cases) {
    test(name, () => {
      const e = PipelineEngine.create(m);
      const all = events(...evs);
      for (const ev of all.slice(0, -1)) e.apply(ev);
      const before = e.states();
      assert.throws(
        () => e.apply(all.at(-1)!),
        (err: unknown) => err instanceof EngineError && re.test(err.message),
      );
      assert.deepEqual(e.states(), before, 'a refused event changes nothing');
    });
  }

  test('retrying a job its predecessors no longer allow', () => {
    const mm = model([job('a', { needs: [] }), job('b', { needs: ['a'] })]);
    const e = PipelineEngine.create(mm);
    for (const ev of events('start', 'run a', 'run b', 'retry a', 'started a', 'fail a')) e.apply(ev);
    assert.throws(() => e.apply({ type: 'job_retry', name: 'b' }), /predecessors no longer allow it/);
  });

  const bad: [string, JobSpec[], RegExp][] = [
    ['unknown need', [job('a', { needs: ['zz'] })], /jobs\.a\.needs: unknown job "zz"/],
    ['self need', [job('a', { needs: ['a'] })], /cannot need itself/],
    ['needs cycle', [job('a', { needs: ['b'] }), job('b', { needs: ['a'] })], /dependency cycle/],
    [
      'cycle through stage order',
      [job('a', { stage: 'build', needs: ['c'] }), job('c', { stage: 'deploy' })],
      /jobs\.(a|c)\.needs: dependency cycle/,
    ],
    ['duplicate name', [job('a'), job('a')], /duplicate job name/],
  ];
  for (const [name, jobs, re] of bad) {
    test(`bad model: ${name}`, () => {
      assert.throws(
        () => PipelineEngine.create(model(jobs)),
        (err: unknown) => err instanceof EngineError && err.code === 'invalid_model' && re.test(err.message),
      );
    });
  }

  test('restore refuses states that do not match the model', () => {
    const e = PipelineEngine.create(m);
    assert.throws(() => PipelineEngine.restore(m, e.states().slice(1), e.meta()), /no stored state for job "a"/);
    assert.throws(() => PipelineEngine.restore(m, [...e.states(), { ...e.states()[0], name: 'zz' }], e.meta()), /unknown job "zz"/);
  });
});
