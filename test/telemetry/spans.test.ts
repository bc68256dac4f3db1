/**
 * The span tree of real pipeline runs.
 *  1. In-process: createCoordinator + startRunner (shell executor) with an
 *     InMemorySpanExporter: RUN <name> SERVER span → job spans → runner stage spans.
 *  2. Over OTLP/HTTP (JSON): coordinator and runner as CHILD PROCESSES with
 *     OTEL_EXPORTER_OTLP_ENDPOINT pointing at a tiny receiver in this test; the runner's
 *     spans join the coordinator's trace across processes.
 */
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createCoordinator, type Coordinator } from '../../src/coordinator/index.js';
import type { PipelineJson } from '../../src/protocol/user-api.js';
import { silentLogger } from '../../src/runner/logger.js';
import { startRunner, type RunnerHandle } from '../../src/runner/index.js';
import { initTracing, type Tracing } from '../../src/telemetry/tracing.js';
import { jobsByName, startCoordinator, startRunnerProcess, userApi, type CoordinatorProc, type Proc } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';

const YAML = `stages: [test]
ok:
  script: [echo fine]
  after_script: [echo after]
build:
  script:
    - "echo 'FAIL src/sum.test.js'"
    - "echo 'Tests:       1 failed, 3 passed, 4 total'"
    - exit 1
infra:
  script:
    - "echo 'tar: ./x: Cannot write: No space left on device'"
    - exit 1
`;
const STAGES = ['prepare_executor', 'get_sources', 'step_script', 'cleanup'];

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('span tree of a pipeline run (in-process, in-memory exporter)', () => {
  const tmp = tempDir();
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let c: Coordinator;
  let runner: RunnerHandle;
  let p: PipelineJson;
  let spans: ReadableSpan[];

  before(async () => {
    tracing = initTracing('faultline-test', exporter);
    assert.ok(tracing.enabled && tracing.owner);
    c = await createCoordinator({ dataDir: `${tmp.path}/data`, longPollMs: 500 });
    assert.ok(c.telemetry.spans, 'the coordinator creates CI spans when tracing is on');
    runner = await startRunner({
      url: c.url,
      registrationToken: c.registrationToken,
      name: 'span-runner',
      executor: 'shell',
      concurrency: 3,
      heartbeatMs: 300,
      buildsDir: `${tmp.path}/builds`,
      logger: silentLogger,
    });
    const api = userApi(c.url, c.apiToken);
    const created = await api.createPipeline(YAML, { name: 'spans-demo' });
    p = await api.waitPipeline(created.id);
    await c.idle();
    // The runner records its stage spans right after its final update: wait for all three jobs.
    spans = await until('runner stage spans of the three jobs', () => {
      const s = exporter.getFinishedSpans();
      return (
        s.filter((x) => x.name === 'cleanup').length === 3 &&
        s.some((x) => x.name === 'RUN spans-demo') &&
        s.filter((x) => x.attributes['cicd.pipeline.task.run.result']).length === 3 &&
        s
      );
    });
  });
  after(async () => {
    await runner?.stop({ timeoutMs: 2000 });
    await c?.close();
    await tracing?.shutdown();
    tmp.dispose();
  });

  test('one SERVER span RUN <name> with the pipeline result', () => {
    const roots = spans.filter((s) => s.name === 'RUN spans-demo');
    assert.equal(roots.length, 1);
    const root = roots[0]!;
    assert.equal(root.kind, SpanKind.SERVER);
    assert.equal(root.parentSpanContext, undefined);
    assert.equal(root.attributes['cicd.pipeline.name'], 'spans-demo');
    assert.equal(root.attributes['cicd.pipeline.run.id'], String(p.id));
    assert.equal(root.attributes['cicd.pipeline.result'], 'failure', 'a build failure makes the pipeline a failure');
  });

  test('job spans are children of the pipeline span, with cicd.pipeline.task.* attributes and results', () => {
    const root = spans.find((s) => s.name === 'RUN spans-demo')!;
    const jobs = jobsByName(p);
    for (const [name, result] of [
      ['ok', 'success'],
      ['build', 'failure'],
      ['infra', 'error'],
    ] as const) {
      const s = spans.filter((x) => x.attributes['cicd.pipeline.task.name'] === name);
      assert.equal(s.length, 1, `one span for job ${name}`);
      const js = s[0]!;
      assert.equal(js.name, name);
      assert.equal(js.kind, SpanKind.INTERNAL);
      assert.equal(js.spanContext().traceId, root.spanContext().traceId);
      assert.equal(js.parentSpanContext?.spanId, root.spanContext().spanId);
      assert.equal(js.attributes['cicd.pipeline.task.run.id'], String(jobs[name]!.id));
      assert.equal(js.attributes['cicd.pipeline.task.run.result'], result);
      assert.equal(js.attributes['cicd.worker.name'], 'span-runner');
      assert.match(String(js.attributes['cicd.pipeline.task.run.url.full']), new RegExp(`/#/jobs/${jobs[name]!.id}$`));
    }
  });

  test('a failed job span carries error.type, faultline.failure.class and cause: build vs infra', () => {
    const byName = (n: string) => spans.find((x) => x.attributes['cicd.pipeline.task.name'] === n)!;
    const build = byName('build');
    assert.equal(build.attributes['error.type'], 'script_failure');
    assert.equal(build.attributes['faultline.failure.class'], 'build');
    assert.equal(build.attributes['faultline.failure.cause'], 'test_failure');
    assert.equal(build.status.code, 2);
    const infra = byName('infra');
    assert.equal(infra.attributes['error.type'], 'script_failure');
    assert.equal(infra.attributes['faultline.failure.class'], 'infra');
    assert.equal(infra.attributes['faultline.failure.cause'], 'disk_full');
    assert.equal(byName('ok').attributes['error.type'], undefined);
  });

  test('runner stage spans are children of their job span', () => {
    for (const name of ['ok', 'build', 'infra']) {
      const job = spans.find((x) => x.attributes['cicd.pipeline.task.name'] === name)!;
      const children = spans.filter((s) => s.parentSpanContext?.spanId === job.spanContext().spanId);
      const expected = name === 'ok' ? ['prepare_executor', 'get_sources', 'step_script', 'after_script', 'cleanup'] : STAGES;
      assert.deepEqual(children.map((s) => s.name).sort(), [...expected].sort(), `stage spans of ${name}`);
      for (const s of children) {
        assert.equal(s.spanContext().traceId, job.spanContext().traceId);
        assert.equal(s.attributes['faultline.stage'], s.name);
        assert.equal(s.attributes['faultline.executor'], 'shell');
      }
    }
    assert.deepEqual(c.telemetry.spans!.openSpans, { pipelines: 0, jobs: 0 }, 'every started span ended');
  });
});

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: Array<{ key: string; value: { stringValue?: string } }>;
}

/** A minimal OTLP/HTTP JSON receiver: POST /v1/traces. */
function otlpReceiver(): Promise<{ server: Server; url: string; spans: Array<OtlpSpan & { service: string }>; requests: number }> {
  const state = { spans: [] as Array<OtlpSpan & { service: string }>, requests: 0 };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).includes('json')) {
        res.writeHead(415).end();
        return;
      }
      state.requests++;
      const doc = JSON.parse(body) as {
        resourceSpans: Array<{ resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
      };
      for (const rs of doc.resourceSpans) {
        const service = rs.resource.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const ss of rs.scopeSpans) for (const s of ss.spans) state.spans.push({ ...s, service });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      resolve(Object.assign(state, { server, url }) as never);
    }),
  );
}

describe('spans over OTLP/HTTP from child processes', () => {
  const tmp = tempDir();
  let rx: Awaited<ReturnType<typeof otlpReceiver>>;
  let coord: CoordinatorProc;
  let runner: Proc;

  before(async () => {
    rx = await otlpReceiver();
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_SERVICE_NAME: '' };
    coord = await startCoordinator({ dataDir: `${tmp.path}/data`, env: { ...env } });
    runner = await startRunnerProcess({
      url: coord.url,
      registrationToken: coord.registrationToken,
      name: 'otlp-runner',
      env: { ...env, FAULTLINE_RUNNER_LOG_LEVEL: 'warn' },
      extraArgs: ['--builds-dir', `${tmp.path}/builds`],
    });
  });
  after(async () => {
    await runner?.kill();
    await coord?.kill();
    rx?.server.close();
    tmp.dispose();
  });

  test('the coordinator and the runner export one connected trace', async () => {
    const api = userApi(coord.url, coord.apiToken);
    const p = await api.createPipeline(`fail:\n  script:\n    - "echo 'No space left on device'"\n    - exit 1\n`, { name: 'otlp-demo' });
    const done = await api.waitPipeline(p.id);
    assert.equal(done.failure_class, 'infra');
    const attr = (s: OtlpSpan, k: string) => s.attributes?.find((a) => a.key === k)?.value.stringValue;
    const spans = await until('OTLP spans of the coordinator and the runner', () => {
      const s = rx.spans;
      return (
        s.some((x) => x.name === 'RUN otlp-demo') &&
        s.some((x) => x.name === 'fail' && attr(x, 'cicd.pipeline.task.run.result')) &&
        s.some((x) => x.name === 'cleanup') &&
        s
      );
    });
    assert.ok(rx.requests >= 1);
    const root = spans.find((s) => s.name === 'RUN otlp-demo')!;
    const job = spans.find((s) => s.name === 'fail')!;
    assert.equal(root.service, 'faultline-coordinator');
    assert.equal(root.kind, 2, 'SERVER (OTLP enum)');
    assert.equal(job.service, 'faultline-coordinator');
    assert.equal(job.parentSpanId, root.spanId);
    assert.equal(job.traceId, root.traceId);
    assert.equal(attr(job, 'cicd.pipeline.task.run.result'), 'error');
    assert.equal(attr(job, 'faultline.failure.cause'), 'disk_full');
    const stages = spans.filter((s) => s.parentSpanId === job.spanId);
    assert.deepEqual(stages.map((s) => s.name).sort(), [...STAGES].sort());
    for (const s of stages) {
      assert.equal(s.service, 'faultline-runner', 'stage spans come from the runner process');
      assert.equal(s.traceId, root.traceId);
    }
  });
});

describe('HTTP auto-instrumentation is opt-in (child processes over OTLP/HTTP)', () => {
  const httpSpan = (s: OtlpSpan) => s.attributes?.some((a) => a.key === 'http.request.method' || a.key === 'http.method') ?? false;

  for (const optIn of [false, true]) {
    test(
      optIn ? 'FAULTLINE_OTEL_INSTRUMENTATIONS=http: API requests become HTTP spans' : 'by default: CI spans only, no HTTP spans',
      async () => {
        const tmp = tempDir();
        const rx = await otlpReceiver();
        const env: Record<string, string> = { OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_SERVICE_NAME: '' };
        if (optIn) env.FAULTLINE_OTEL_INSTRUMENTATIONS = 'http';
        const coord = await startCoordinator({ dataDir: `${tmp.path}/data`, env });
        try {
          const api = userApi(coord.url, coord.apiToken);
          const p = await api.createPipeline('manual-only:\n  when: manual\n  script: echo\n', { name: 'http-demo' });
          await api.pipeline(p.id);
          await api.cancelPipeline(p.id);
          await until('the pipeline span', () => rx.spans.some((s) => s.name === 'RUN http-demo'));
          await new Promise((r) => setTimeout(r, 300));
          assert.equal(rx.spans.some(httpSpan), optIn, JSON.stringify(rx.spans.map((s) => s.name)));
        } finally {
          await coord.kill();
          rx.server.close();
          tmp.dispose();
        }
      },
    );
  }
});
