/**
 * `needs:` checks over the jobs that made it into the pipeline: targets must
 * exist (optional needs on excluded jobs are dropped), may not sit in a later
 * stage, and must not form cycles. Cycles are found with one iterative DFS, so
 * a 1,000-job DAG costs O(jobs + edges).
 */
import { didYouMean, type Diagnostics } from './diagnostics.js';
import type { CompiledJob, NeedRef } from './job.js';
import type { Pos } from './yaml-source.js';
import { selectorMatches } from './parallel.js';

export function resolveNeeds(
  included: readonly CompiledJob[],
  visibleNames: ReadonlySet<string>,
  hiddenNames: ReadonlySet<string>,
  diag: Diagnostics,
): void {
  const byName = new Map(included.map((j) => [j.spec.name, j]));
  // Instances of a parallel job, by the name written in the YAML.
  const groups = new Map<string, CompiledJob[]>();
  for (const j of included) {
    if (j.spec.name === j.base) continue;
    const g = groups.get(j.base);
    if (g) g.push(j);
    else groups.set(j.base, [j]);
  }
  const edgePos = new Map<string, Map<string, Edge>>();

  for (const job of included) {
    if (job.needs === null) continue;
    const resolved: string[] = [];
    const positions = new Map<string, Edge>();
    for (const n of job.needs) {
      // A need on a parallel job means all its instances, or those the matrix selector picks.
      const group = groups.get(n.name);
      let targets: CompiledJob[] = group ?? (byName.has(n.name) ? [byName.get(n.name)!] : []);
      if (n.matrix) {
        // `$[[ matrix.X ]]` in a selector is the needing job's own matrix value (GitLab 16.3+).
        const own = (v: string) => v.replace(/\$\[\[\s*matrix\.([A-Za-z_][A-Za-z0-9_]*)\s*\]\]/g, (_m, k: string) => job.matrix[k] ?? '');
        const selectors = n.matrix.map((sel) => Object.fromEntries(Object.entries(sel).map(([k, v]) => [k, own(v)])));
        targets = targets.filter((t) => selectors.some((sel) => selectorMatches(sel, t.matrix)));
        if (targets.length === 0 && (group || byName.has(n.name))) {
          diag.error(n.path, n.pos, `no instance of '${n.name}' matches parallel: matrix: ${JSON.stringify(n.matrix)}`);
          continue;
        }
      }
      for (const target of targets) addEdge(job, target, n, resolved, positions, diag);
      if (targets.length === 0) {
        if (visibleNames.has(n.name)) {
          if (!n.optional) {
            diag.error(
              n.path,
              n.pos,
              `needs '${n.name}', but that job is not in this pipeline (left out by its rules or when: never); add optional: true if that is expected`,
            );
          }
        } else if (hiddenNames.has(n.name)) {
          diag.error(n.path, n.pos, `'${n.name}' is a hidden template (its name starts with a dot), not a job; it cannot be needed`);
        } else {
          diag.error(n.path, n.pos, `needs '${n.name}', but there is no job with that name${didYouMean(n.name, visibleNames)}`);
        }
      }
    }
    job.spec.needs = resolved;
    edgePos.set(job.spec.name, positions);
  }
  findCycles(included, edgePos, diag);
}

function addEdge(
  job: CompiledJob,
  target: CompiledJob,
  n: NeedRef,
  resolved: string[],
  positions: Map<string, Edge>,
  diag: Diagnostics,
): void {
  if (target.spec.stage_index > job.spec.stage_index) {
    diag.error(
      n.path,
      n.pos,
      `'${n.name}' is in stage '${target.spec.stage}', which runs after this job's stage '${job.spec.stage}'; a job can only need jobs of its own or earlier stages`,
    );
    return;
  }
  const name = target.spec.name;
  if (positions.has(name)) return; // duplicate need: harmless
  positions.set(name, { pos: n.pos, path: n.path });
  resolved.push(name);
}

interface Edge {
  pos: Pos;
  path: string;
}

function findCycles(jobs: readonly CompiledJob[], edges: Map<string, Map<string, Edge>>, diag: Diagnostics): void {
  const state = new Map<string, 1 | 2>(); // 1 = on the current path, 2 = done
  for (const start of jobs) {
    const s = start.spec.name;
    if (state.has(s)) continue;
    const stack: { name: string; next: string[]; i: number }[] = [{ name: s, next: [...(edges.get(s)?.keys() ?? [])], i: 0 }];
    const path = [s];
    state.set(s, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.i < top.next.length) {
        const n = top.next[top.i++]!;
        const st = state.get(n);
        if (st === undefined) {
          state.set(n, 1);
          path.push(n);
          stack.push({ name: n, next: [...(edges.get(n)?.keys() ?? [])], i: 0 });
        } else if (st === 1) {
          const cycle = [...path.slice(path.indexOf(n)), n];
          const e = edges.get(top.name)!.get(n)!;
          diag.error(e.path, e.pos, `needs cycle: ${cycle.join(' → ')}`);
        }
      } else {
        state.set(top.name, 2);
        stack.pop();
        path.pop();
      }
    }
  }
}
