/**
 * Composite status: one small pure fold over a priority table, in the spirit of
 * GitLab's `Gitlab::Ci::Status::Composite` and Woodpecker's `MergeStatusValues`.
 *
 * Every job is first reduced to a composite key (its status, refined by how it
 * counts: a `warn` failure is `warned`, an unplayed manual job is `manual` /
 * `optional` / `ignored` by its mode). A composite is then the first row of a
 * table whose condition holds on the set of keys present. Because only the
 * *counts* per key matter, a `CompositeCounter` keeps them incrementally and
 * answers in O(#keys), whatever the number of jobs.
 */
import type { ManualMode, Outcome } from './model.js';
import type { JobStatus, PipelineStatus } from './status.js';

export const COMPOSITE_KEYS = [
  'created',
  'pending',
  'running',
  'canceling',
  /** Unplayed `manual: required`: blocks what comes after it. */
  'manual',
  /** Unplayed `manual: optional`: later stages go on; jobs that need it are skipped. */
  'optional',
  /** Unplayed `manual: ignored`: as if absent. */
  'ignored',
  'success',
  /** Failed with outcome `warn`: counts as success, with warnings. */
  'warned',
  'failed',
  'canceled',
  'skipped',
] as const;
export type CompositeKey = (typeof COMPOSITE_KEYS)[number];
const KEY_INDEX: Record<CompositeKey, number> = Object.fromEntries(COMPOSITE_KEYS.map((k, i) => [k, i])) as Record<CompositeKey, number>;

/** What a composite is computed from: one job's latest attempt. */
export interface StatusInput {
  status: JobStatus;
  /** Set once the job finished (JobState.outcome). */
  outcome?: Outcome | null;
  /** JobSpec.manual (null for jobs that are not `when: manual`). */
  manual?: ManualMode | null;
}

export function compositeKey(input: StatusInput): CompositeKey {
  switch (input.status) {
    case 'failed':
      return input.outcome === 'warn' ? 'warned' : 'failed';
    case 'manual':
      return input.manual === 'required' ? 'manual' : input.manual === 'optional' ? 'optional' : 'ignored';
    default:
      return input.status;
  }
}

/**
 * Keys that still have something to happen before jobs after them may be
 * decided (for both stage order and needs).
 */
export const UNSETTLED_KEYS: readonly CompositeKey[] = ['created', 'pending', 'running', 'canceling', 'manual'];

/**
 * - `needs`: what a DAG job sees of its needs. `pending` = not complete yet, wait.
 *   Unplayed optional → skipped; unplayed ignored → absent; a failed need wins over
 *   skipped ones so that `when: on_failure` sees it.
 * - `stage`: a stage's status (GitLab's table); also what a stage-mode job sees of
 *   all earlier stages (there skipped counts as success, like GitLab).
 * - `pipeline`: like `stage`, but a waiting required manual job shows as `blocked`.
 */
export const COMPOSITE_KINDS = ['needs', 'stage', 'pipeline'] as const;
export type CompositeKind = (typeof COMPOSITE_KINDS)[number];

export type CompositeStatus = PipelineStatus;

export interface CompositeResult {
  status: CompositeStatus;
  /** A `warn` failure (success_with_warnings) is among the inputs. */
  warnings: boolean;
}

type Row = readonly [CompositeStatus, 'any' | 'only', readonly CompositeKey[]] | readonly [CompositeStatus, 'else'];

const NEUTRAL: readonly CompositeKey[] = ['warned', 'ignored', 'optional'];

function stageTable(manualAs: CompositeStatus): readonly Row[] {
  return [
    ['canceling', 'any', ['canceling']],
    ['skipped', 'only', ['skipped', 'ignored', 'optional']],
    ['success', 'only', ['success', 'skipped', ...NEUTRAL]],
    ['created', 'only', ['created', ...NEUTRAL]],
    ['canceled', 'only', ['canceled', 'success', 'skipped', ...NEUTRAL]],
    ['pending', 'only', ['pending', 'created', 'skipped', ...NEUTRAL]],
    ['running', 'any', ['running', 'pending']],
    [manualAs, 'any', ['manual']],
    ['running', 'any', ['created']],
    ['failed', 'else'],
  ];
}

/** The priority tables: first matching row wins. */
export const COMPOSITE_TABLES: Readonly<Record<CompositeKind, readonly Row[]>> = {
  needs: [
    ['pending', 'any', UNSETTLED_KEYS],
    ['failed', 'any', ['failed']],
    ['canceled', 'any', ['canceled']],
    ['skipped', 'any', ['skipped', 'optional']],
    ['success', 'else'],
  ],
  stage: stageTable('manual'),
  pipeline: stageTable('blocked'),
};

/** Counts per composite key; add/remove are O(1), status is O(#keys). */
export class CompositeCounter {
  private readonly counts = new Array<number>(COMPOSITE_KEYS.length).fill(0);
  private total = 0;

  static of(inputs: Iterable<StatusInput>): CompositeCounter {
    const c = new CompositeCounter();
    for (const i of inputs) c.add(compositeKey(i));
    return c;
  }

  add(key: CompositeKey, n = 1): void {
    this.counts[KEY_INDEX[key]] += n;
    this.total += n;
  }

  remove(key: CompositeKey, n = 1): void {
    const i = KEY_INDEX[key];
    if (this.counts[i] < n) throw new Error(`composite counter: no ${key} to remove`);
    this.counts[i] -= n;
    this.total -= n;
  }

  move(from: CompositeKey, to: CompositeKey): void {
    if (from === to) return;
    this.remove(from);
    this.add(to);
  }

  /** Adds every count of another counter (O(#keys)). */
  merge(other: CompositeCounter): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    this.total += other.total;
  }

  count(key: CompositeKey): number {
    return this.counts[KEY_INDEX[key]];
  }

  size(): number {
    return this.total;
  }

  any(keys: readonly CompositeKey[]): boolean {
    return keys.some((k) => this.counts[KEY_INDEX[k]] > 0);
  }

  only(keys: readonly CompositeKey[]): boolean {
    let n = 0;
    for (const k of keys) n += this.counts[KEY_INDEX[k]];
    return n === this.total;
  }

  /** Nothing unsettled: everything is terminal or an unplayed non-blocking manual job. */
  settled(): boolean {
    return !this.any(UNSETTLED_KEYS);
  }

  status(kind: CompositeKind): CompositeResult {
    return { status: foldTable(this, COMPOSITE_TABLES[kind]), warnings: this.count('warned') > 0 };
  }
}

function foldTable(c: CompositeCounter, table: readonly Row[]): CompositeStatus {
  for (const row of table) {
    if (row[1] === 'else') return row[0];
    if (row[1] === 'any' ? c.any(row[2]) : c.only(row[2])) return row[0];
  }
  throw new Error('composite table has no else row');
}

/** The composite of a list of jobs (for a stage, a needs set or a whole pipeline). */
export function composite(inputs: Iterable<StatusInput>, kind: CompositeKind): CompositeResult {
  return CompositeCounter.of(inputs).status(kind);
}
