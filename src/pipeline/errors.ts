/** Errors of the pure pipeline engine: an event or model the engine refuses. */

export const ENGINE_ERROR_CODES = [
  /** The model itself is unusable (unknown need, cycle, bad stage index …). */
  'invalid_model',
  /** Stored states do not match the model. */
  'invalid_state',
  /** The event names a job the pipeline does not have. */
  'unknown_job',
  /** The event does not apply to the job's (or pipeline's) current status. */
  'invalid_transition',
] as const;
export type EngineErrorCode = (typeof ENGINE_ERROR_CODES)[number];

/** Thrown for events that cannot apply; the coordinator answers them with 409. */
export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    /** The job the error is about, when there is one. */
    readonly job: string | null = null,
  ) {
    super(message);
  }
}
