import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { harness, type Harness } from './helpers.js';

/** Every answer to bad input is a 4xx JSON `{error}` (201 allowed where the input happens to be valid). */
async function expectClientError(res: Response, allowed: number[] = []): Promise<void> {
  const text = await res.text();
  if (allowed.includes(res.status)) return;
  assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}: ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as { error?: unknown };
  assert.equal(typeof body.error, 'string', text);
  assert.ok((body.error as string).length > 0);
}

describe('bad input never crashes the coordinator', () => {
  let h: Harness;
  let job: { id: number; token: string };
  let runnerToken: string;
  before(async () => {
    h = await harness({ longPollMs: 10 });
    runnerToken = (await h.register()).token;
    await h.createPipeline('a:\n  script: x\n');
    job = (await h.request(runnerToken)).job!;
  });
  after(() => h.close());

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(h.c.url + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.c.apiToken}`, 'content-type': 'application/json', ...headers },
      body,
    });

  test('random JSON values and raw strings as pipeline bodies', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.json(),
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify({ yaml: v })),
        ),
        async (body) => {
          await expectClientError(await post('/api/v1/pipelines', body), [201]);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('random YAML texts → 201 or 422 with positions', async () => {
    const yamlish = fc.stringMatching(/^[a-z:[\]{}\-\n *&!|>"'0-9#.]{0,120}$/);
    await fc.assert(
      fc.asyncProperty(fc.oneof(yamlish, fc.string({ maxLength: 200 })), async (yaml) => {
        const res = await post('/api/v1/pipelines', JSON.stringify({ yaml }));
        const text = await res.text();
        assert.ok(res.status === 201 || res.status === 422, `status ${res.status}: ${text.slice(0, 300)}`);
        if (res.status === 422) {
          const b = JSON.parse(text) as { error: string; details: { line: number; column: number }[] };
          assert.ok(b.error.length > 0);
          for (const d of b.details) assert.ok(d.line >= 1 && d.column >= 1, JSON.stringify(d));
        }
      }),
      { numRuns: 200 },
    );
  });

  test('random runner-API bodies: register, heartbeat, request, job update', async () => {
    const body = fc.oneof(
      fc.json(),
      fc.string({ maxLength: 50 }),
      fc.jsonValue().map((v) => JSON.stringify({ state: 'failed', failure: v, exit_code: v })),
    );
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('register', 'heartbeat', 'request', 'update'), async (b, which) => {
        const headers = { 'content-type': 'application/json', 'runner-token': runnerToken, 'job-token': 'wrong' };
        const url =
          which === 'register'
            ? '/api/v1/runners/register'
            : which === 'heartbeat'
              ? '/api/v1/runners/heartbeat'
              : which === 'request'
                ? '/api/v1/jobs/request'
                : `/api/v1/jobs/${job.id}`;
        const res = await fetch(h.c.url + url, { method: which === 'update' ? 'PUT' : 'POST', headers, body: b });
        await expectClientError(res, which === 'heartbeat' ? [200] : which === 'request' ? [204] : []);
      }),
      { numRuns: 200 },
    );
  });

  test('random job updates with the right token: valid ones 200, the rest 400', async () => {
    const update = fc.record(
      {
        state: fc.oneof(fc.constantFrom('running', 'bogus'), fc.string()),
        exit_code: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)),
        failure: fc.oneof(fc.constant(null), fc.record({ reason: fc.string(), stage: fc.string() }), fc.jsonValue()),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(update, async (u) => {
        const res = await fetch(`${h.c.url}/api/v1/jobs/${job.id}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', 'job-token': job.token },
          body: JSON.stringify(u),
        });
        await expectClientError(res, [200]);
      }),
      { numRuns: 200 },
    );
  });

  test('random Content-Range headers and query strings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 30 }), fc.uint8Array({ maxLength: 64 }), async (range, bytes) => {
        const res = await fetch(`${h.c.url}/api/v1/jobs/${job.id}/trace`, {
          method: 'PATCH',
          headers: { 'job-token': job.token, 'content-range': range.replace(/[^\x20-\x7e]/g, '') },
          body: Buffer.from(bytes),
        });
        await expectClientError(res, [202]);
        const q = encodeURIComponent(range);
        const f = await fetch(`${h.c.url}/api/v1/failures?since=${q}&limit=${q}&class=${q}`, {
          headers: { authorization: `Bearer ${h.c.apiToken}` },
        });
        await expectClientError(f, [200]);
        const t = await fetch(`${h.c.url}/api/v1/jobs/${q || 'x'}/trace?offset=${q}`, {
          headers: { authorization: `Bearer ${h.c.apiToken}` },
        });
        await expectClientError(t, [200]);
      }),
      { numRuns: 200 },
    );
  });
});
