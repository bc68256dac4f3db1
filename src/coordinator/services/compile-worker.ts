/**
 * Worker-thread side of PipelineCompiler: compiles `.gitlab-ci.yml` text off the coordinator's
 * event loop. One request at a time, answered by id.
 */
import { parentPort } from 'node:worker_threads';
import { compilePipeline, type CompileOptions } from '../../config/index.js';

export interface CompileRequest {
  id: number;
  yaml: string;
  opts: CompileOptions;
}

parentPort?.on('message', (req: CompileRequest) => {
  // compilePipeline never throws on input; anything else is reported by the main side.
  parentPort!.postMessage({ id: req.id, result: compilePipeline(req.yaml, req.opts) });
});
