/**
 * Variable expansion as GitLab does it for a job's variables: `$VAR` and `${VAR}`
 * inside a value are replaced by that variable's (itself expanded) value, `$$` is
 * a literal `$`, an undefined reference becomes empty (the runner's os.Expand), and
 * a variable declared `expand: false` (raw) is passed as written and is not expanded
 * where it is referenced either. A reference cycle is left as written.
 */

export interface ExpandableVariable {
  key: string;
  value: string;
  /** `expand: false`: the value is used literally. */
  raw?: boolean;
}

const REF = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * Expands every variable against the others. Later entries with the same key win
 * (the list is in precedence order, lowest first). Each variable is expanded once
 * (memoised), so the cost is linear in the total length of the values.
 */
export function expandVariables<T extends ExpandableVariable>(list: readonly T[]): T[] {
  const byKey = new Map<string, T>();
  for (const v of list) byKey.set(v.key, v);
  const done = new Map<string, string>();
  const active = new Set<string>();

  const resolve = (key: string): string | null => {
    const hit = done.get(key);
    if (hit !== undefined) return hit;
    const v = byKey.get(key);
    if (!v) return null;
    if (v.raw) {
      done.set(key, v.value);
      return v.value;
    }
    if (active.has(key)) return null; // cycle: the caller keeps the reference as written
    active.add(key);
    const out = v.value.replace(REF, (m, braced: string | undefined, bare: string | undefined) => {
      if (m === '$$') return '$';
      const name = (braced ?? bare)!;
      if (!byKey.has(name)) return '';
      const r = resolve(name);
      return r === null ? m : r;
    });
    active.delete(key);
    done.set(key, out);
    return out;
  };

  return [...byKey.values()].map((v) => ({ ...v, value: resolve(v.key) ?? v.value }));
}

/** One string expanded against a set of (already expanded) values; `$$` → `$`, unknown → ''. */
export function expandString(text: string, vars: Readonly<Record<string, string | undefined>>): string {
  return text.replace(REF, (m, braced: string | undefined, bare: string | undefined) => {
    if (m === '$$') return '$';
    return vars[(braced ?? bare)!] ?? '';
  });
}

/** GitLab's slugs (CI_COMMIT_REF_SLUG, CI_ENVIRONMENT_SLUG's base, CI_JOB_NAME_SLUG): lower-case, [a-z0-9-], ≤ 63 chars, no dash at either end. */
export const slugify = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
