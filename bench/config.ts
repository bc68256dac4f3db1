/**
 * Compile time of large `.gitlab-ci.yml` files: 1,000 and 4,000-job DAGs with extends
 * and rules. Linear compilation keeps the 4k/1k ratio near 4.
 */
import { compilePipeline } from '../src/config/index.js';

/** n jobs across 4 stages; each job needs up to 3 jobs of earlier stages or earlier in its own. */
export function bigDagYaml(n: number): string {
  const out = ['stages: [s0, s1, s2, s3]', 'default:', '  image: alpine:3.20', '.tmpl:', '  tags: [linux]', '  retry: 1'];
  for (let i = 0; i < n; i++) {
    const stage = Math.floor((i * 4) / n);
    out.push(`job_${i}:`, '  extends: .tmpl', `  stage: s${stage}`, `  script: ["echo ${i}"]`);
    const needs = [i - 1, i - 7, i - 31].filter((x) => x >= 0).map((x) => `job_${x}`);
    if (i > 0) out.push(`  needs: [${needs.join(', ')}]`);
    out.push('  rules:', `    - if: $SKIP_${i % 10} == "yes"`, '      when: never', '    - when: on_success');
  }
  return out.join('\n') + '\n';
}

function bestMs(yaml: string): number {
  let best = Infinity;
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    const r = compilePipeline(yaml);
    best = Math.min(best, performance.now() - t0);
    if (!r.ok) throw new Error('bench pipeline refused');
  }
  return best;
}

export function benchConfig(): Record<string, number> {
  compilePipeline(bigDagYaml(200)); // warm-up
  const t1 = bestMs(bigDagYaml(1000));
  const t4 = bestMs(bigDagYaml(4000));
  return {
    config_compile_1000_jobs_ms: +t1.toFixed(1),
    config_compile_4000_jobs_ms: +t4.toFixed(1),
    config_scaling_4k_over_1k: +(t4 / t1).toFixed(2),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(benchConfig());
