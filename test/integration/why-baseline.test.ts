/**
 * Evidence without a rule (issue 9, item 5) over real coordinator and runner processes:
 * a job that succeeded, then the same job (same project and name) failing with an error no
 * rule knows. The fallback verdict carries the lines the green run did not print — not the
 * lines both runs printed (numbers differing) — through the user API and `faultline why`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JobJson } from '../../src/protocol/user-api.js';
import { jobsByName, sharedSystem, spawnFaultline } from '../helpers/system.js';

const UNKNOWN = 'zorp: cannot frobnicate the widget cache (state 7f3a)';
/** Both runs print this (with different numbers): never "new". */
const common = (n: number) => `echo "fetch attempt ${n} failed, retrying in ${n * 2}s"`;

const green = `unit:\n  script:\n    - ${common(1)}\n    - echo "all good"\n`;
const failing =
  `variables:\n  MSG: "${UNKNOWN}"\nunit:\n  script:\n    - ${common(2)}\n    - echo "$MSG"\n    - exit 3\n` +
  `lonely:\n  script:\n    - echo "$MSG"\n    - exit 3\n`;
// Another project's green run of a job of the same name that printed the unknown line: not a baseline.
const otherProject = `variables:\n  MSG: "${UNKNOWN}"\nunit:\n  script:\n    - echo "$MSG"\n`;

async function why(url: string, token: string, id: number): Promise<string> {
  const p = spawnFaultline(['why', String(id)], { FAULTLINE_URL: url, FAULTLINE_API_TOKEN: token });
  const code = await p.exited;
  assert.equal(code, 0, p.output());
  return p.output();
}

describe('fallback verdicts compared with the last green run (real processes)', () => {
  const s = sharedSystem();

  test('the failure carries the lines the green run did not have, in the API and `faultline why`', async () => {
    const { api } = s;
    const g = await api.waitPipeline((await api.createPipeline(green, { project: 'why-demo' })).id);
    assert.equal(g.status, 'success', JSON.stringify(g.jobs));
    const greenId = jobsByName(g)['unit']!.id;
    const o = await api.waitPipeline((await api.createPipeline(otherProject, { project: 'why-other' })).id);
    assert.equal(o.status, 'success');

    const p = await api.waitPipeline((await api.createPipeline(failing, { project: 'why-demo' })).id);
    const unit = jobsByName(p)['unit']!;
    const f = unit.failure!;
    assert.ok(f, 'classified');
    assert.equal(f.fallback, true, `no rule matches ${UNKNOWN}: ${JSON.stringify(f)}`);
    assert.equal(f.rule, null);
    assert.equal(f.baseline_job_id, greenId, 'the last green run of the same project and job name');
    const lines = f.new_lines!;
    assert.ok(
      lines.some((l) => l.text.includes('cannot frobnicate')),
      JSON.stringify(lines),
    );
    assert.ok(!lines.some((l) => l.text.includes('fetch attempt')), `a line both runs printed is not new: ${JSON.stringify(lines)}`);
    // Line numbers point at the log line.
    const trace = (await api.trace(unit.id)).split('\n');
    for (const l of lines) assert.equal(trace[l.line - 1]?.trim(), l.text.trim(), `line ${l.line}`);
    // The same through GET /jobs/:id and /failures.
    const viaJob = await api.job(unit.id);
    assert.deepEqual(viaJob.failure!.new_lines, lines);
    const list = (await api.call<{ failures: JobJson[] }>('GET', '/api/v1/failures?job=unit')).body.failures;
    assert.equal(list.find((j) => j.id === unit.id)?.failure?.baseline_job_id, greenId);

    const out = await why(s.coord.url, s.coord.apiToken, unit.id);
    assert.match(out, /no rule matched — decided by the fallback for reason script_failure/);
    assert.match(out, new RegExp(`no rule matched; lines the last green run \\(#${greenId}\\) did not have:`));
    assert.match(out, new RegExp(`L${lines[0]!.line} \\(not in #${greenId}\\): .*cannot frobnicate`));
    assert.doesNotMatch(out, /fetch attempt/);

    // A job that never succeeded: nothing to compare with, and it says so.
    const lonely = jobsByName(p)['lonely']!.failure!;
    assert.equal(lonely.fallback, true);
    assert.equal(lonely.baseline_job_id, null);
    assert.equal(lonely.new_lines, null);
    const out2 = await why(s.coord.url, s.coord.apiToken, jobsByName(p)['lonely']!.id);
    assert.match(out2, /no earlier green run of this job/);
  });
});
