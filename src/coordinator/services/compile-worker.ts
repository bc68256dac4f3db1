/**
 * Worker-thread side of PipelineCompiler: compiles `.gitlab-ci.yml` text off the coordinator's
 * event loop. One request at a time, answered by id.
 */
import { parentPort } from 'node:worker_threads';
import { compileRequest, type PipelineCompileRequest } from './compile-request.js';

parentPort?.on('message', (m: { id: number; req: PipelineCompileRequest }) => {
  // The compiler never throws on input; an include source's failure is a compile error too.
  void compileRequest(m.req).then(
    (result) => parentPort!.postMessage({ id: m.id, result }),
    (err: Error) =>
      parentPort!.postMessage({
        id: m.id,
        result: {
          ok: false,
          errors: [{ path: '', line: 1, column: 1, message: `internal error while compiling: ${err?.message ?? String(err)}` }],
          warnings: [],
        },
      }),
  );
});
