/**
 * CLI start-up (issue 13): `faultline --version` and `faultline lint` of a generated
 * 200-job file, each next to a bare `node -e 0` in the same run, interleaved so machine
 * load hits all three alike. Median wall time of several runs. Measures what users run:
 * the compiled dist/ (built first when stale, as `npm ci` would have).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './percentile.js';

const ROOT = new URL('../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/faultline.js');

function jobs200(): string {
  const out = ['stages: [build, test, deploy]', 'default:', '  image: node:20', ''];
  for (let i = 0; i < 200; i++) {
    const stage = i < 50 ? 'build' : i < 180 ? 'test' : 'deploy';
    out.push(`job_${i}:`, `  stage: ${stage}`, '  script:', `    - echo job ${i}`, '    - npm test -- part' + (i % 7));
    if (stage === 'test') out.push('  needs: [job_' + (i % 50) + ']');
    if (i % 10 === 0) out.push('  rules:', '    - if: $CI_COMMIT_BRANCH == "main"', '    - changes: [src/**/*]');
    out.push('');
  }
  return out.join('\n');
}

function wall(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'ignore', env: { ...process.env, NO_COLOR: '1' } });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return performance.now() - t0;
}

export function benchCliStartup(): Record<string, number | string> {
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'ignore' });
  if (build.status !== 0) throw new Error('npm run build failed');
  const dir = mkdtempSync(join(tmpdir(), 'faultline-bench-cli-'));
  try {
    const file = join(dir, '.gitlab-ci.yml');
    writeFileSync(file, jobs200());
    const bare: number[] = [];
    const version: number[] = [];
    const lint: number[] = [];
    wall([BIN, 'lint', file]); // warm the file cache
    for (let i = 0; i < 9; i++) {
      bare.push(wall(['-e', '0']));
      version.push(wall([BIN, '--version']));
      lint.push(wall([BIN, 'lint', file]));
    }
    const b = median(bare);
    return {
      cli_node_bare_ms: Math.round(b),
      cli_version_ms: Math.round(median(version)),
      cli_lint_200_jobs_ms: Math.round(median(lint)),
      cli_version_over_node_ratio: Number((median(version) / b).toFixed(2)),
      cli_lint_200_over_node_ratio: Number((median(lint) / b).toFixed(2)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
