/**
 * `!reference [.job, key, …]` resolution. Like GitLab, references are looked up in
 * the configuration as written (before `extends`), may point at values that hold
 * references themselves (up to 10 levels), and are replaced in place.
 */
import type { Diagnostics } from './diagnostics.js';
import { isPlainMap, Reference } from './yaml-source.js';

const MAX_NESTING = 10;

/** A reference that cannot be resolved is reported and left in place, so later checks skip it quietly. */
export function resolveReferences(root: unknown, diag: Diagnostics): void {
  walk(root, root, diag, 0);
}

function walk(v: unknown, root: unknown, diag: Diagnostics, depth: number): unknown {
  if (v instanceof Reference) return resolveOne(v, root, diag, depth);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = walk(v[i], root, diag, depth);
  } else if (isPlainMap(v)) {
    for (const k of Object.keys(v)) v[k] = walk(v[k], root, diag, depth);
  }
  return v;
}

function resolveOne(ref: Reference, root: unknown, diag: Diagnostics, depth: number): unknown {
  const shown = `!reference [${ref.path.map((p) => String(p)).join(', ')}]`;
  if (depth >= MAX_NESTING) {
    diag.error('', ref.pos, `${shown}: references nest more than ${MAX_NESTING} levels deep (a reference cycle?)`);
    return ref;
  }
  if (ref.path.length === 0 || ref.path.some((p) => typeof p !== 'string')) {
    diag.error('', ref.pos, `${shown}: expected a list of key names, e.g. !reference [.setup, script]`);
    return ref;
  }
  let cur: unknown = root;
  const walked: string[] = [];
  for (const key of ref.path as string[]) {
    if (cur instanceof Reference) cur = resolveOne(cur, root, diag, depth + 1);
    if (cur instanceof Reference) return ref; // already reported
    if (!isPlainMap(cur) || !(key in cur)) {
      const where = walked.length ? `'${walked.join('.')}' has no key '${key}'` : `there is no top-level key '${key}'`;
      diag.error('', ref.pos, `${shown}: ${where}`);
      return ref;
    }
    walked.push(key);
    cur = cur[key];
  }
  return walk(cur, root, diag, depth + 1);
}
