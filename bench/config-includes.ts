/**
 * Compile time of a pipeline built from includes: n jobs spread over n/100 local files
 * (each with a nested include of shared templates and a spec: inputs header), read from
 * memory so only resolution + merge + compilation is measured. Linear resolution keeps the
 * 4k/1k ratio near 4 (issue 10's target: ≤ 4.5).
 */
import { compilePipelineWithIncludes, type IncludeSources } from '../src/config/index.js';

function files(n: number): { main: string; sources: IncludeSources } {
  const perFile = 100;
  const local: Record<string, string> = { 'ci/templates.yml': '.tmpl:\n  tags: [linux]\n  retry: 1\n' };
  const main = ['stages: [s0, s1, s2, s3]', 'include:'];
  for (let f = 0; f < n / perFile; f++) {
    const out = ['spec:', '  inputs:', '    stage:', '      default: s0', '---', 'include: ci/templates.yml'];
    for (let i = f * perFile; i < (f + 1) * perFile; i++) {
      out.push(`job_${i}:`, '  extends: .tmpl', '  stage: $[[ inputs.stage ]]', `  script: ["echo ${i}"]`);
      if (i % perFile > 0) out.push(`  needs: [job_${i - 1}]`);
      out.push('  rules:', `    - if: $SKIP_${i % 10} == "yes"`, '      when: never', '    - when: on_success');
    }
    local[`ci/part${f}.yml`] = out.join('\n') + '\n';
    main.push(`  - local: ci/part${f}.yml`, '    inputs:', `      stage: s${f % 4}`);
  }
  const sources: IncludeSources = {
    local: {
      read: async (p) => (local[p] === undefined ? { ok: false, kind: 'missing', reason: 'no' } : { ok: true, text: local[p]! }),
      list: async () => Object.keys(local),
    },
  };
  return { main: main.join('\n') + '\n', sources };
}

async function bestMs(n: number): Promise<number> {
  const { main, sources } = files(n);
  let best = Infinity;
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    const r = await compilePipelineWithIncludes(main, {}, { sources });
    best = Math.min(best, performance.now() - t0);
    if (!r.ok) throw new Error(`bench pipeline refused: ${r.errors[0]?.message}`);
    if (r.model.jobs.length !== n) throw new Error(`expected ${n} jobs, got ${r.model.jobs.length}`);
  }
  return best;
}

export async function benchConfigIncludes(): Promise<Record<string, number>> {
  await bestMs(200); // warm-up
  const t1 = await bestMs(1000);
  const t4 = await bestMs(4000);
  return {
    includes_compile_1000_jobs_ms: +t1.toFixed(1),
    includes_compile_4000_jobs_ms: +t4.toFixed(1),
    includes_scaling_4k_over_1k: +(t4 / t1).toFixed(2),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await benchConfigIncludes());
