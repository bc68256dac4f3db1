/**
 * GitLab CI compatibility corpus (issue 10): every case in test/corpus/gitlab-ci through `faultline lint`.
 * Floors: ≥ 100 cases each citing its public source, ≥ 95 % of the valid ones accepted (with the warnings
 * their meta expects, e.g. naming an include lint cannot reach), every broken one refused naming its line.
 * The refused valid cases are printed with their first error, so a failure says what to fix.
 * A few cases also go through the real binary (bin/faultline.js) to tie the in-process run to the CLI.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join, relative, resolve } from 'node:path';
import { ceilingFor, formatSummary, judge, loadCorpus, parseLintOutput, runCorpus, summarize, type CaseMeta } from './compat-corpus.js';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '../..');
// Issue 10's target is 95 %; this floor is today's figure (88/89 = 98.9 %), ratcheted so that it
// can only go up. What still fails: gitlab-template-kaniko-rules-exists expects a "no jobs"
// warning, but GitLab documents CI_PROJECT_DIR as job-only (not seen by rules:), so its
// `$KANIKO_BUILD_CONTEXT != $CI_PROJECT_DIR` rule holds there as it does here.
const ACCEPTANCE_FLOOR = 0.98;
const MIN_CASES = 100;

describe('GitLab CI compatibility corpus', () => {
  const cases = loadCorpus();

  test('the corpus has at least 100 cases, each citing a public .gitlab-ci.yml', () => {
    assert.ok(cases.length >= MIN_CASES, `only ${cases.length} cases`);
    for (const c of cases) {
      assert.match(c.source, /^https:\/\/github\.com\/[^/]+\/[^/]+\/blob\//, `${c.id}: source must be a file URL`);
      assert.ok(c.repo && c.path, `${c.id}: repo and path are required`);
      assert.ok(c.source.includes(c.repo) && c.source.endsWith(c.path), `${c.id}: source URL must name repo and path`);
      assert.ok(Array.isArray(c.reproduces) && c.reproduces.length > 0, `${c.id}: say what structure it reproduces`);
      assert.ok(c.expected === 'valid' || c.expected === 'broken', `${c.id}: expected must be valid or broken`);
      if (c.expected === 'broken') {
        assert.ok(c.line !== undefined || (c.lines?.length ?? 0) > 0, `${c.id}: a broken case names its line`);
        assert.ok(c.why, `${c.id}: a broken case says why`);
      }
    }
    const broken = cases.filter((c) => c.expected === 'broken').length;
    assert.ok(broken >= 10, `only ${broken} broken cases`);
  });

  test(`≥ ${ACCEPTANCE_FLOOR * 100} % of the valid cases are accepted (target 95 %) and every broken one is refused naming its line`, async () => {
    const results = await runCorpus(ROOT, cases);
    const s = summarize(results);
    console.log(formatSummary(s, 'faultline lint'));
    assert.equal(s.valid + s.broken, cases.length);
    assert.ok(
      s.acceptance >= ACCEPTANCE_FLOOR,
      `valid accepted ${s.accepted}/${s.valid} (${(s.acceptance * 100).toFixed(1)} %) < ${ACCEPTANCE_FLOOR * 100} %:\n` +
        s.refusedValid.map((r) => `  ${r.meta.id}: ${r.reason}`).join('\n'),
    );
    assert.deepEqual(
      s.failedBroken.map((r) => `${r.meta.id}: ${r.reason}`),
      [],
      'every broken case must be refused with an error on its line',
    );
  });

  test('the judge itself can fail: a refusal of a valid case, an acceptance of a broken one, a wrong line', () => {
    const valid = { id: 'v', expected: 'valid', warns: ['remote.example'] } as unknown as CaseMeta;
    const broken = { id: 'b', expected: 'broken', line: 7 } as unknown as CaseMeta;
    const refusedAt = (line: number) => ({ exitCode: 1, output: [], diagnostics: parseLintOutput([`f.yml:${line}:3: error: boom`]) });
    const accepted = (warning?: string) => ({
      exitCode: 0,
      output: [],
      diagnostics: parseLintOutput(warning ? [`f.yml:1:1: warning: ${warning}`] : []),
    });
    assert.equal(judge(valid, refusedAt(2)).pass, false);
    assert.equal(judge(valid, accepted()).pass, false, 'an expected warning is missing');
    assert.equal(judge(valid, accepted('include remote.example could not be fetched')).pass, true);
    assert.equal(judge(broken, accepted()).pass, false);
    assert.equal(judge(broken, refusedAt(8)).pass, false, 'wrong line');
    assert.equal(judge(broken, refusedAt(7)).pass, true);
  });

  test('a few cases through the real CLI (bin/faultline.js lint) agree with the in-process run', async () => {
    const pick = ['gnome-glib-only-except', 'broken-unquoted-colon-echo', 'broken-needs-missing-job', 'qemu-local-includes'];
    const chosen = pick.map((id) => cases.find((c) => c.id === id)).filter((c): c is CaseMeta => c !== undefined);
    assert.equal(chosen.length, pick.length, 'the CLI sample cases exist');
    const inProcess = await runCorpus(ROOT, chosen);
    await Promise.all(
      chosen.map(async (c, i) => {
        const cli = await runCli(c.file);
        const viaCli = judge(c, cli);
        assert.equal(
          viaCli.refused,
          inProcess[i].refused,
          `${c.id}: CLI exit ${cli.exitCode} vs in-process ${inProcess[i].outcome.exitCode}\n${cli.output.join('\n')}`,
        );
        assert.equal(viaCli.pass, inProcess[i].pass, `${c.id}: CLI and in-process verdicts differ`);
      }),
    );
  });
});

/** Runs `node bin/faultline.js lint FILE` from the case's folder, as a user in that repository would. */
function runCli(file: string): Promise<{ exitCode: number; output: string[]; diagnostics: ReturnType<typeof parseLintOutput> }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/faultline.js'), 'lint', relative(dirname(file), file) || file], {
      cwd: dirname(file),
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', GIT_CEILING_DIRECTORIES: ceilingFor(file) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const output = out.split('\n').map((l) => l.replace(/\x1b\[[0-9;]*m/g, ''));
      resolvePromise({ exitCode: code ?? 1, output, diagnostics: parseLintOutput(output) });
    });
  });
}
