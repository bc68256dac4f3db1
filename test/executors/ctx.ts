/** A minimal JobContext for driving executors directly, with a collecting trace. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { JobContext } from '../../src/runner/executor.js';
import type { JobPayload } from '../../src/protocol/runner-api.js';
import type { ImageSpec } from '../../src/pipeline/model.js';

export interface TestCtx extends JobContext {
  /** Everything written to the trace, runner lines included. */
  text(): string;
  lines(): string[];
}

let nextId = 1000;

export function makeCtx(root: string, opts: { image?: ImageSpec | null; env?: Record<string, string> } = {}): TestCtx {
  const id = nextId++;
  const buildDir = join(root, `build-${id}`);
  const tmpDir = join(root, `tmp-${id}`);
  mkdirSync(buildDir, { recursive: true });
  mkdirSync(tmpDir, { recursive: true });
  let out = '';
  const job: JobPayload = {
    id,
    token: 't',
    pipeline_id: 1,
    name: 'test',
    stage: 'test',
    attempt: 1,
    image: opts.image ?? null,
    before_script: [],
    script: [],
    after_script: [],
    variables: Object.entries(opts.env ?? {}).map(([key, value]) => ({ key, value, masked: false })),
    timeout_seconds: 60,
    after_script_timeout_seconds: 60,
    interruptible: 'graceful',
    cancel_grace_seconds: 2,
    repository: null,
    git: { strategy: 'none', depth: null },
    trace_context: null,
    trace_offset: 0,
  };
  return {
    job,
    buildDir,
    tmpDir,
    env: { CI_JOB_ID: String(id), ...opts.env },
    imagePulls: [],
    trace: { write: (c) => (out += String(c)), line: (t) => (out += t + '\n') },
    text: () => out,
    lines: () => out.split('\n'),
  };
}

export const run = (signal?: AbortSignal, graceMs = 2000, extraEnv?: Record<string, string>) => ({
  signal: signal ?? new AbortController().signal,
  graceMs,
  extraEnv,
});
