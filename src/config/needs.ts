/** Reading `needs:` entries: a name, `{job, optional, artifacts, parallel: {matrix}}`. */
import { joinPath, type Diagnostics } from './diagnostics.js';
import { NESTED_UNSUPPORTED } from './keywords.js';
import { reportUnsupported } from './check-keys.js';
import { check, needsSchema } from './schema.js';
import { isPlainMap, valuePos, type Pos } from './yaml-source.js';

export interface NeedRef {
  name: string;
  optional: boolean;
  /** `parallel: matrix:` selector: the permutations of a matrix job that are needed (each a full assignment). */
  matrix: Record<string, string>[] | null;
  /** `needs: [{job, artifacts: false}]` → false: the job's artifacts are not downloaded. */
  artifacts?: boolean;
  pos: Pos;
  path: string;
}

const isCrossPipelineNeed = (it: unknown): boolean => isPlainMap(it) && ('project' in it || 'pipeline' in it);

export function readNeeds(raw: unknown, path: string, pos: Pos, diag: Diagnostics): NeedRef[] | null {
  const parsed = check(needsSchema, raw, path, pos, diag);
  if (!parsed) return null;
  const src = raw as unknown[];
  const out: NeedRef[] = [];
  parsed.forEach((n, i) => {
    const orig = src[i];
    const itemPos = valuePos(src, i, pos);
    if (isCrossPipelineNeed(orig)) {
      reportUnsupported(diag, joinPath(path, i), itemPos, NESTED_UNSUPPORTED['needs: project/pipeline']!);
      return;
    }
    if (n === null) return;
    const namePos = isPlainMap(orig) ? valuePos(orig, 'job', itemPos) : itemPos;
    if (typeof n === 'string') {
      out.push({ name: n, optional: false, matrix: null, pos: namePos, path: joinPath(path, i) });
      return;
    }
    // A list of values selects each of them (the cross product, as parallel: matrix builds it).
    const matrix = n.parallel ? n.parallel.matrix.flatMap((m) => permutations(m)) : null;
    out.push({
      name: n.job,
      optional: n.optional ?? false,
      matrix,
      ...(n.artifacts === false ? { artifacts: false } : {}),
      pos: namePos,
      path: joinPath(path, i),
    });
  });
  return out;
}

function permutations(m: Record<string, string | number | (string | number)[]>): Record<string, string>[] {
  let out: Record<string, string>[] = [{}];
  for (const [k, v] of Object.entries(m)) {
    const values = (Array.isArray(v) ? v : [v]).map(String);
    out = out.flatMap((o) => values.map((x) => ({ ...o, [k]: x })));
  }
  return out;
}
