/**
 * `dependencies:` checks, as GitLab makes them: every name is a job of this
 * pipeline in an earlier stage, and when the job uses `needs:` it must need it.
 * (faultline passes no artifacts, so beyond these checks the keyword changes nothing.)
 */
import { didYouMean, joinPath, type Diagnostics } from './diagnostics.js';
import type { CompiledJob } from './job.js';
import { valuePos } from './yaml-source.js';

export function checkDependencies(included: readonly CompiledJob[], visibleNames: ReadonlySet<string>, diag: Diagnostics): void {
  const byBase = new Map<string, CompiledJob[]>();
  for (const j of included) {
    for (const key of new Set([j.base, j.spec.name])) {
      const g = byBase.get(key);
      if (g) g.push(j);
      else byBase.set(key, [j]);
    }
  }
  for (const job of included) {
    const deps = job.dependencies;
    if (!deps) continue;
    deps.names.forEach((name, i) => {
      const path = joinPath(deps.path, i);
      const pos = valuePos(deps.names, i, deps.pos);
      const targets = byBase.get(name);
      if (!targets) {
        // GitLab checks dependencies against the whole file, before rules: a job its rules left
        // out of this pipeline is no error — there are simply no artifacts of it to download.
        if (visibleNames.has(name))
          diag.warn(path, pos, `depends on '${name}', which its rules leave out of this pipeline: no artifacts of it are downloaded`);
        else diag.error(path, pos, `depends on '${name}', but there is no job with that name${didYouMean(name, visibleNames)}`);
        return;
      }
      if (targets.some((t) => t.spec.stage_index >= job.spec.stage_index && !(job.spec.needs ?? []).includes(t.spec.name))) {
        diag.error(
          path,
          pos,
          `'${name}' is not in an earlier stage than '${job.spec.stage}'; dependencies: can only name jobs of earlier stages`,
        );
        return;
      }
      if (job.spec.needs !== null && !targets.every((t) => job.spec.needs!.includes(t.spec.name))) {
        diag.error(path, pos, `'${name}' must also be listed in needs: (GitLab: dependencies of a job with needs: must be part of needs)`);
      }
    });
  }
}
