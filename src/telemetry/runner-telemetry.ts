/**
 * The runner's observability: stage spans (children of the coordinator's job span through
 * the payload's trace_context) and an optional Prometheus /metrics listener.
 * Built from what the orchestrator already reports in the final job update (stages,
 * image_pulls), so the job code needs no telemetry calls. Costs nothing when tracing is
 * off and no metrics listener is asked for.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JobPayload, JobUpdateRequest } from '../protocol/runner-api.js';
import { createRunnerMetrics, type RunnerMetrics } from './metrics.js';
import { recordStageSpan } from './runner-spans.js';
import { initTracing, type Tracing } from './tracing.js';

export interface RunnerTelemetryOptions {
  /** Serve GET /metrics on this port (0 = a free one); omit for no listener and no metrics. */
  metricsPort?: number;
  /** Listen address of the metrics listener (default 127.0.0.1). */
  metricsHost?: string;
}

export interface RunnerTelemetry {
  tracing: Tracing;
  /** Null without a metrics listener. */
  metrics: RunnerMetrics | null;
  /** http://host:port of the metrics listener, once listening. */
  metricsUrl: string | null;
  jobStarted(job: JobPayload): void;
  /** The final update as sent: spans for every stage, metrics for stages and pulls. */
  jobFinished(job: JobPayload, final: JobUpdateRequest, executor: string): void;
  close(): Promise<void>;
}

/** `--metrics-listen host:port` (or `:port`, or `port`) → {host, port}. */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:(\[[^\]]+\]|[^:]*):)?(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new Error(`--metrics-listen must be host:port (e.g. 127.0.0.1:9252), got ${JSON.stringify(s)}`);
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '') || '127.0.0.1';
  return { host, port };
}

export async function createRunnerTelemetry(o: RunnerTelemetryOptions = {}): Promise<RunnerTelemetry> {
  const tracing = initTracing('faultline-runner');
  const metrics = o.metricsPort !== undefined ? createRunnerMetrics(undefined, { defaultMetrics: true }) : null;
  let server: Server | null = null;
  let metricsUrl: string | null = null;
  let running = 0;

  if (metrics) {
    const srv = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n');
        return;
      }
      metrics.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)),
      );
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(o.metricsPort, o.metricsHost ?? '127.0.0.1', () => resolve());
    });
    server = srv;
    const a = srv.address() as AddressInfo;
    metricsUrl = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    metrics.runnerJobsRunning.set(0);
  }

  return {
    tracing,
    metrics,
    metricsUrl,
    jobStarted() {
      if (metrics) metrics.runnerJobsRunning.set(++running);
    },
    jobFinished(job, final, executor) {
      if (metrics) metrics.runnerJobsRunning.set((running = Math.max(0, running - 1)));
      const pulls = final.image_pulls ?? [];
      for (const s of final.stages ?? []) {
        const start = new Date(s.start);
        const end = new Date(s.end);
        metrics?.recordStage(s.stage, executor, (end.getTime() - start.getTime()) / 1000);
        // pull_image spans come one per attempt from the pull records below.
        if (tracing.enabled && !(s.stage === 'pull_image' && pulls.length > 0))
          recordStageSpan(tracing.tracer, job, s.stage, start, end, { 'faultline.executor': executor, ...(s.attributes ?? {}) });
      }
      for (const p of pulls) {
        metrics?.recordImagePull(p);
        if (!tracing.enabled) continue;
        const start = new Date(p.at);
        recordStageSpan(tracing.tracer, job, 'pull_image', start, new Date(start.getTime() + Math.max(0, p.duration_ms)), {
          'faultline.executor': executor,
          'faultline.image': p.image,
          'faultline.registry': p.registry,
          'faultline.pull.policy': p.policy,
          'faultline.pull.outcome': p.outcome,
          ...(p.kind ? { 'faultline.pull.error_kind': p.kind } : {}),
        });
      }
    },
    async close() {
      if (server) {
        const s = server;
        const closed = new Promise<void>((r) => s.close(() => r()));
        s.closeAllConnections(); // Prometheus keeps its scrape connection alive
        await closed;
      }
      await tracing.shutdown();
    },
  };
}
