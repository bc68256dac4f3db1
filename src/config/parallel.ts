/**
 * `parallel: N` and `parallel: matrix:` → the job's instances, named as GitLab names
 * them (`test 1/3`; `build: [linux, amd64]`, values in key order), each with
 * CI_NODE_INDEX / CI_NODE_TOTAL and, for a matrix, its variables.
 */
import { describe, joinPath, type Diagnostics } from './diagnostics.js';
import { isPlainMap, valuePos, type Pos } from './yaml-source.js';

export interface Instance {
  name: string;
  /** CI_NODE_INDEX/TOTAL and the matrix variables of this instance. */
  variables: Record<string, string>;
  /** The matrix assignment (empty for parallel: N). */
  matrix: Record<string, string>;
}

/** GitLab's limit on the instances of one job. */
export const MAX_PARALLEL = 200;

/** null when the job has no (valid) parallel:; errors are reported. */
export function readParallel(raw: unknown, name: string, at: Pos, diag: Diagnostics): Instance[] | null {
  const path = joinPath(name, 'parallel');
  if (raw === undefined || raw === null) return null;
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw) || raw < 1 || raw > MAX_PARALLEL) {
      diag.error(path, at, `expected a whole number from 1 to ${MAX_PARALLEL}, got ${describe(raw)}`);
      return null;
    }
    if (raw === 1) return null; // GitLab: parallel: 1 is an ordinary job
    return Array.from({ length: raw }, (_, i) => ({
      name: `${name} ${i + 1}/${raw}`,
      variables: { CI_NODE_INDEX: String(i + 1), CI_NODE_TOTAL: String(raw) },
      matrix: {},
    }));
  }
  if (!isPlainMap(raw) || !Array.isArray(raw.matrix) || Object.keys(raw).some((k) => k !== 'matrix')) {
    diag.error(path, at, `expected a number or a map with matrix: (a list of variable maps), got ${describe(raw)}`);
    return null;
  }
  const mat = raw.matrix;
  const mpos = valuePos(raw, 'matrix', at);
  const combos: Record<string, string>[] = [];
  let bad = false;
  mat.forEach((entry, i) => {
    const epos = valuePos(mat, i, mpos);
    if (!isPlainMap(entry) || Object.keys(entry).length === 0) {
      diag.error(joinPath(path, 'matrix', i), epos, `expected a map of variables to a value or a list of values, got ${describe(entry)}`);
      bad = true;
      return;
    }
    let acc: Record<string, string>[] = [{}];
    for (const [k, v] of Object.entries(entry)) {
      const values = Array.isArray(v) ? v : [v];
      if (values.length === 0 || values.some((x) => typeof x !== 'string' && typeof x !== 'number')) {
        diag.error(joinPath(path, 'matrix', i, k), valuePos(entry, k, epos), `expected a string or a list of strings, got ${describe(v)}`);
        bad = true;
        return;
      }
      acc = acc.flatMap((a) => values.map((x) => ({ ...a, [k]: String(x) })));
    }
    combos.push(...acc);
  });
  if (bad) return null;
  if (combos.length > MAX_PARALLEL) {
    diag.error(joinPath(path, 'matrix'), mpos, `the matrix makes ${combos.length} jobs; GitLab allows at most ${MAX_PARALLEL}`);
    return null;
  }
  const names = new Set<string>();
  const out: Instance[] = [];
  combos.forEach((m, i) => {
    const n = `${name}: [${Object.values(m).join(', ')}]`;
    if (names.has(n)) {
      diag.error(joinPath(path, 'matrix'), mpos, `the matrix makes two jobs named '${n}'`);
      return;
    }
    names.add(n);
    out.push({ name: n, variables: { ...m, CI_NODE_INDEX: String(i + 1), CI_NODE_TOTAL: String(combos.length) }, matrix: m });
  });
  return out;
}

/** Does this instance fit a `needs: parallel: matrix:` selector (every key equal)? */
export function selectorMatches(selector: Record<string, string>, instance: Record<string, string>): boolean {
  const keys = Object.keys(selector);
  return keys.length === Object.keys(instance).length && keys.every((k) => instance[k] === selector[k]);
}
