/**
 * `extends:` resolution, GitLab semantics: parents (a name or a list, later ones
 * win) are resolved recursively, then deep-merged with the job on top — maps merge
 * key by key, everything else (lists included) is replaced. Entry positions travel
 * with the merged values, so a mistake inherited from a template is reported at
 * the template's line.
 */
import { didYouMean, describe, joinPath, type Diagnostics } from './diagnostics.js';
import { isPlainMap, locOf, newMap, valuePos, type PlainMap, type Pos } from './yaml-source.js';

export function deepMerge(base: PlainMap, over: PlainMap): PlainMap {
  const out = newMap(locOf(over)?.self ?? locOf(base)?.self ?? { line: 1, column: 1 });
  const entries = locOf(out)!.entries;
  for (const src of [base, over]) {
    const srcEntries = locOf(src)?.entries;
    for (const k of Object.keys(src)) {
      const prev = out[k];
      const next = src[k];
      out[k] = src === over && isPlainMap(prev) && isPlainMap(next) ? deepMerge(prev, next) : next;
      const e = srcEntries?.get(k);
      if (e) entries.set(k, e);
    }
  }
  return out;
}

/**
 * Returns every top-level map with `extends` applied and removed. `top` is the
 * whole configuration (jobs, hidden templates and keywords alike).
 */
export function resolveExtends(
  top: PlainMap,
  names: readonly string[],
  jobPos: (name: string) => Pos,
  diag: Diagnostics,
): Map<string, PlainMap> {
  const done = new Map<string, PlainMap>();
  const stack: string[] = [];

  const resolve = (name: string): PlainMap => {
    const hit = done.get(name);
    if (hit) return hit;
    const raw = top[name] as PlainMap;
    if (!('extends' in raw)) {
      done.set(name, raw);
      return raw;
    }
    stack.push(name);
    const ext = raw.extends;
    const extPos = valuePos(raw, 'extends', jobPos(name));
    const path = joinPath(name, 'extends');
    let parents: { name: string; pos: Pos }[] = [];
    if (typeof ext === 'string') parents = [{ name: ext, pos: extPos }];
    else if (Array.isArray(ext) && ext.every((e) => typeof e === 'string')) {
      parents = (ext as string[]).map((n, i) => ({ name: n, pos: valuePos(ext, i, extPos) }));
    } else diag.error(path, extPos, `expected a job name or a list of job names, got ${describe(ext)}`);

    let merged: PlainMap = newMap(locOf(raw)!.self);
    for (const p of parents) {
      if (stack.includes(p.name)) {
        const cycle = [...stack.slice(stack.indexOf(p.name)), p.name];
        diag.error(path, p.pos, `extends cycle: ${cycle.join(' → ')}`);
        continue;
      }
      if (!Object.prototype.hasOwnProperty.call(top, p.name)) {
        diag.error(path, p.pos, `there is no job or template named '${p.name}'${didYouMean(p.name, Object.keys(top))}`);
        continue;
      }
      if (!isPlainMap(top[p.name])) {
        diag.error(path, p.pos, `'${p.name}' is not a job or template (it is ${describe(top[p.name])})`);
        continue;
      }
      merged = deepMerge(merged, resolve(p.name));
    }
    const own = newMap(locOf(raw)!.self);
    const ownEntries = locOf(own)!.entries;
    for (const k of Object.keys(raw)) {
      if (k === 'extends') continue;
      own[k] = raw[k];
      const e = locOf(raw)?.entries.get(k);
      if (e) ownEntries.set(k, e);
    }
    const result = deepMerge(merged, own);
    stack.pop();
    done.set(name, result);
    return result;
  };

  for (const n of names) resolve(n);
  return done;
}
