/** The runner's logger: pino, or anything with the same four methods (tests pass a silent one). */
import pino, { type Logger } from 'pino';

export type RunnerLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** Default: warnings and errors on stderr, so embedded runners don't drown the CLI's output. */
export function defaultLogger(name = 'runner'): RunnerLogger {
  return pino({ name, level: process.env.FAULTLINE_RUNNER_LOG_LEVEL ?? 'warn' }, pino.destination(2));
}

export const silentLogger: RunnerLogger = pino({ level: 'silent' });
