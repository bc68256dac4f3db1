/** Public surface of the pure pipeline engine (no I/O). */
export { PipelineEngine, type EngineMeta, type EngineStats, type StageSummary } from './engine.js';
export { EngineError, ENGINE_ERROR_CODES, type EngineErrorCode } from './errors.js';
export {
  composite,
  compositeKey,
  CompositeCounter,
  COMPOSITE_KEYS,
  COMPOSITE_KINDS,
  COMPOSITE_TABLES,
  UNSETTLED_KEYS,
  type CompositeKey,
  type CompositeKind,
  type CompositeResult,
  type CompositeStatus,
  type StatusInput,
} from './composite.js';
export { resolveFinish, decide, displayStatus, type Finished, type Gate, type Decision } from './rules.js';
export { buildGraph, downstream, type PipelineGraph } from './graph.js';
export * from './model.js';
export * from './status.js';
export * from './events.js';
