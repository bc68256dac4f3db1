/**
 * Tools a test needs from the machine (promtool, podman, chromium …).
 * Locally a missing tool skips the test with a reason; under CI=true it fails:
 * CI installs everything, so a missing tool there is a broken install, not a skip.
 */
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

export function hasTool(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Returns true when the tools are there; otherwise skips (locally) or throws (CI). */
export function requireTools(t: TestContext, ...cmds: string[]): boolean {
  const missing = cmds.filter((c) => !hasTool(c));
  if (missing.length === 0) return true;
  const msg = `missing tool(s): ${missing.join(', ')} (install them: see .ci/run)`;
  if (process.env.CI === 'true') throw new Error(msg);
  t.skip(msg);
  return false;
}
