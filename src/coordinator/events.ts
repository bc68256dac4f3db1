/**
 * Typed events of the coordinator, emitted after the state change is committed.
 * One direction only: runner/user event → store → classifier → these events
 * (telemetry and the UI subscribe; nothing here feeds back into the store).
 */
import { EventEmitter } from 'node:events';
import type { ImagePullRecord, JobUpdateRequest } from '../protocol/runner-api.js';
import type { JobJson, PipelineJson } from '../protocol/user-api.js';
import type { FailureClassification } from '../protocol/failure.js';
import type { JobStatus } from '../pipeline/status.js';

export interface JobTransitionEvent {
  job_id: number;
  pipeline_id: number;
  name: string;
  attempt: number;
  from: JobStatus;
  to: JobStatus;
  new_attempt: boolean;
  at: string;
}
export interface JobFinishedEvent {
  job: JobJson;
  runner_id: number | null;
  /** That runner as the finish read it (null: none, or removed since), read once for every listener. */
  runner: { name: string; executor: string } | null;
  /** Milliseconds from queued to started, and from started to finished (null when unknown). */
  queued_ms: number | null;
  duration_ms: number | null;
  /** Per-stage timings reported by the runner (JobUpdateRequest.stages), for spans. */
  stages: NonNullable<JobUpdateRequest['stages']>;
}
export interface PipelineFinishedEvent {
  /** Without its jobs: a 30,000-job list built on each finish held the event loop for seconds. */
  pipeline: PipelineJson;
  /** A job that counts (not allow_failure) failed for job_execution_timeout. */
  timed_out: boolean;
  /** The failure of the job that decided the pipeline's class (null when nothing that counts failed). */
  decisive_failure: FailureClassification | null;
}
export interface ImagePullsEvent {
  job_id: number;
  runner_id: number | null;
  pulls: ImagePullRecord[];
}
export interface RunnerStateEvent {
  runner_id: number;
  name: string;
  state: 'online' | 'offline';
  at: string;
}

/** A runner was removed (DELETE /api/v1/runners/:id or the stale sweep); its incidents resolve. */
export interface RunnerRemovedEvent {
  runner_id: number;
  name: string;
  reason: 'deleted' | 'stale';
  at: string;
}
/** A pipeline's stored summary changed (status, finish, failure class). */
export interface PipelineChangedEvent {
  pipeline_id: number;
  status: string;
  failure_class: string | null;
  at: string;
}
/** An incident opened, changed state or resolved. */
export interface IncidentChangedEvent {
  incident_id: number;
  state: string;
  cause: string;
  /** What failed (registry host, runner, …). */
  target: string;
  at: string;
}

export interface CoordinatorEventMap {
  job_transition: [JobTransitionEvent];
  job_finished: [JobFinishedEvent];
  pipeline_finished: [PipelineFinishedEvent];
  image_pulls: [ImagePullsEvent];
  runner_state: [RunnerStateEvent];
  runner_removed: [RunnerRemovedEvent];
  pipeline_changed: [PipelineChangedEvent];
  incident_changed: [IncidentChangedEvent];
}

export class CoordinatorEvents extends EventEmitter<CoordinatorEventMap> {
  /** Emit without letting a throwing listener break the coordinator. */
  safeEmit<K extends keyof CoordinatorEventMap>(name: K, ...args: CoordinatorEventMap[K]): void {
    try {
      (this.emit as (n: K, ...a: CoordinatorEventMap[K]) => boolean)(name, ...args);
    } catch (err) {
      this.onListenerError?.(err);
    }
  }
  onListenerError?: (err: unknown) => void;
}
