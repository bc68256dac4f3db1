/** Public surface of the runner. */
export { startRunner, defaultBuildsDir, type StartRunnerOptions, type RunnerHandle } from './daemon.js';
export { loadRunnerConfig, parseRunnerConfig, RunnerConfigError, type RunnerSpec } from './config.js';
export { createExecutor, EXECUTOR_NAMES, type ExecutorFactory, type RunnerContext } from './executors/index.js';
export { runJob, startJob, type RunJobOptions, type JobHandle } from './job-runner.js';
export { RunnerClient, HttpStatusError } from './client.js';
export { TraceBuffer, Masker, MASK } from './trace.js';
export { getSources } from './sources.js';
export { BuildError, type Executor, type JobContext, type StepResult } from './executor.js';
