/**
 * The loggers of the long-running commands: human lines when the log goes to a terminal,
 * JSON lines (pino's own) otherwise, or as `--log-format` says (bin: FAULTLINE_LOG_FORMAT).
 */
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { dim, red, safe, yellow } from './format.js';

export type LogFormat = 'human' | 'json';
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);

export function logFormat(fd: 1 | 2): LogFormat {
  const f = process.env.FAULTLINE_LOG_FORMAT;
  if (f === 'human' || f === 'json') return f;
  return (fd === 1 ? process.stdout : process.stderr).isTTY ? 'human' : 'json';
}

/** One pino JSON line as `12:00:01 WARN  runner: message key=value`, neutralised for the terminal. */
export function humanLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return safe(json);
  }
  const level = LEVELS[Number(o.level)] ?? String(o.level);
  const paint = Number(o.level) >= 50 ? red : Number(o.level) >= 40 ? yellow : (s: string) => s;
  const time = new Date(Number(o.time) || Date.now()).toISOString().slice(11, 19);
  const extra = Object.entries(o)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${dim(time)} ${paint(level.padEnd(5))} ${o.name ? `${String(o.name)}: ` : ''}${safe(String(o.msg ?? ''))}${extra ? ' ' + dim(safe(extra)) : ''}`;
}

export function cliLogger(name: string, level: string, fd: 1 | 2 = 1): Logger {
  const out = fd === 1 ? process.stdout : process.stderr;
  if (logFormat(fd) === 'json') return pino({ name, level }, pino.destination(fd));
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) out.write(humanLine(l) + '\n');
      done();
    },
  });
  return pino({ name, level }, stream);
}
