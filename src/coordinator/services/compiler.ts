/**
 * Compiles pipelines without blocking the coordinator: a large `.gitlab-ci.yml` (25,000 jobs, or
 * anchors expanded up to the parser's limit) takes seconds of CPU, during which the event loop
 * would answer nothing — runners' heartbeats included. Small files without aliases compile inline
 * (a worker round trip costs more than they do); everything else goes to one worker thread,
 * shared by the process and started on first use.
 */
import { Worker } from 'node:worker_threads';
import type { CompileResult } from '../../config/index.js';
import { compileRequest, type PipelineCompileRequest } from './compile-request.js';

/** Below this size and without aliases, compiling costs well under a millisecond per KiB. */
const INLINE_MAX_CHARS = 16 * 1024;
/** A YAML alias (`*name` after a space, a flow indicator or a line start): its expansion can be large. */
const ALIAS = /(?:^|[\s[{,])\*[^\s[\]{},]/m;

export function compilesInline(yaml: string): boolean {
  return yaml.length <= INLINE_MAX_CHARS && !ALIAS.test(yaml);
}

type Pending = { resolve: (r: CompileResult) => void; reject: (e: Error) => void };

class CompileWorker {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  compile(req: PipelineCompileRequest): Promise<CompileResult> {
    const w = this.start();
    const id = this.nextId++;
    return new Promise<CompileResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.ref(); // keep the process alive while a compile is outstanding
      w.postMessage({ id, req });
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    // From dist/ (compiled JavaScript) the worker module loads as it is. From the sources the
    // worker has no tsx loader of its own (bin/faultline.js registers it in-process only):
    // register it, then load the TypeScript worker module.
    const compiled = import.meta.url.endsWith('.js');
    const entry = new URL(compiled ? './compile-worker.js' : './compile-worker.ts', import.meta.url).href;
    const tsx = compiled ? null : import.meta.resolve('tsx/esm/api');
    const code = tsx
      ? `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`
      : `import(${JSON.stringify(entry)});`;
    const w = new Worker(code, { eval: true, execArgv: [], name: 'faultline-compiler' });
    w.unref();
    w.on('message', (m: { id: number; result: CompileResult }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0) w.unref();
      p?.resolve(m.result);
    });
    const fail = (err: Error) => {
      if (this.worker !== w) return;
      this.worker = null; // the next compile starts a fresh one
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    w.on('error', (err) => fail(new Error(`the pipeline compiler worker failed: ${err.message}`)));
    w.on('exit', (code) => fail(new Error(`the pipeline compiler worker exited (code ${code})`)));
    this.worker = w;
    return w;
  }
}

const shared = new CompileWorker();

/** A pipeline compile (includes resolved), off the event loop unless the file is small and alias-free. */
export function compileOffThread(req: PipelineCompileRequest): Promise<CompileResult> {
  if (typeof req.yaml === 'string' && compilesInline(req.yaml)) return compileRequest(req);
  return shared.compile(req);
}
