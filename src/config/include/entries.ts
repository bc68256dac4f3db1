/**
 * The `include:` value → a list of entries, each with one location. GitLab's shapes:
 * a string (a URL is `remote`, anything else `local`), a list of strings and maps, or
 * one map with exactly one of local / remote / project(+file, ref) / template /
 * component, plus rules:, inputs: and (remote) integrity:. `$VAR`s in locations are
 * expanded with the variables include: may see (predefined and pipeline variables —
 * not the file's own variables:, as in GitLab).
 */
import { describe, didYouMean, joinPath, type Diagnostics } from '../diagnostics.js';
import type { Vars } from '../expression.js';
import { isPlainMap, keyPos, valuePos, type PlainMap, type Pos } from '../yaml-source.js';

/** A `$VAR` / `${VAR}` left in an address after expansion: the variable is not set here. */
export const UNSET_VARIABLE = /\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/;

export type Location =
  | { kind: 'local'; path: string }
  | { kind: 'remote'; url: string; integrity?: string }
  | { kind: 'project'; project: string; file: string; ref?: string }
  | { kind: 'template'; name: string }
  | { kind: 'component'; address: string };

export interface Entry {
  loc: Location;
  rules?: unknown;
  rulesPos?: Pos;
  inputs?: PlainMap;
  inputsPos?: Pos;
  path: string;
  pos: Pos;
}

const KINDS = ['local', 'remote', 'project', 'template', 'component'] as const;
const EXTRA: Record<string, readonly string[]> = {
  local: ['rules', 'inputs'],
  remote: ['rules', 'inputs', 'integrity', 'cache'],
  project: ['file', 'ref', 'rules', 'inputs'],
  template: ['rules', 'inputs'],
  component: ['rules', 'inputs'],
};
const ALL_KEYS = [...KINDS, 'file', 'ref', 'rules', 'inputs', 'integrity', 'cache'];

const isUrl = (s: string) => /^https?:\/\//i.test(s);

export function expandVars(s: string, vars: Vars): string {
  return s.replace(/\$(?:\{(\w+)\}|(\w+))/g, (m, a?: string, b?: string) => vars[(a ?? b)!] ?? m);
}

export function readEntries(raw: unknown, pos: Pos, vars: Vars, diag: Diagnostics): Entry[] {
  const out: Entry[] = [];
  const items = Array.isArray(raw) ? raw : [raw];
  items.forEach((it, i) => {
    const path = Array.isArray(raw) ? joinPath('include', i) : 'include';
    const at = Array.isArray(raw) ? valuePos(raw, i, pos) : pos;
    if (typeof it === 'string') {
      const s = expandVars(it, vars);
      if (s.trim() === '') diag.error(path, at, 'the include location is empty');
      else out.push({ loc: isUrl(s) ? { kind: 'remote', url: s } : { kind: 'local', path: s }, path, pos: at });
      return;
    }
    if (!isPlainMap(it)) {
      diag.error(
        path,
        at,
        `expected a file path, a URL or a map with local:, remote:, project:, template: or component:, got ${describe(it)}`,
      );
      return;
    }
    out.push(...readMap(it, path, at, vars, diag));
  });
  return out;
}

function readMap(m: PlainMap, path: string, at: Pos, vars: Vars, diag: Diagnostics): Entry[] {
  const kinds = KINDS.filter((k) => m[k] !== undefined);
  if (kinds.length !== 1) {
    diag.error(
      path,
      at,
      kinds.length === 0
        ? `an include needs one of ${KINDS.join(', ')}${didYouMean(Object.keys(m)[0] ?? '', KINDS)}`
        : `an include has exactly one of ${KINDS.join(', ')}; this one has ${kinds.join(' and ')}`,
    );
    return [];
  }
  const kind = kinds[0]!;
  let good = true;
  for (const k of Object.keys(m)) {
    if (k === kind || EXTRA[kind]!.includes(k)) continue;
    const where = keyPos(m, k, at);
    if (ALL_KEYS.includes(k)) diag.error(joinPath(path, k), where, `${k}: cannot be used with include:${kind}`);
    else diag.error(joinPath(path, k), where, `unknown key '${k}'${didYouMean(k, ALL_KEYS)}`);
    good = false;
  }
  const str = (k: string): string | null => {
    const v = m[k];
    if (typeof v === 'string' && v.trim() !== '') return expandVars(v, vars);
    diag.error(joinPath(path, k), valuePos(m, k, at), `expected a non-empty string, got ${describe(v)}`);
    good = false;
    return null;
  };
  const base: Omit<Entry, 'loc'> = { path, pos: at };
  if (m.rules !== undefined) Object.assign(base, { rules: m.rules, rulesPos: valuePos(m, 'rules', at) });
  if (m.inputs !== undefined) {
    if (isPlainMap(m.inputs)) Object.assign(base, { inputs: m.inputs, inputsPos: valuePos(m, 'inputs', at) });
    else {
      diag.error(
        joinPath(path, 'inputs'),
        valuePos(m, 'inputs', at),
        `expected a map of input names and values, got ${describe(m.inputs)}`,
      );
      good = false;
    }
  }
  if (m.cache !== undefined)
    diag.warn(
      joinPath(path, 'cache'),
      keyPos(m, 'cache', at),
      'include:remote cache: is not supported by faultline; the file is fetched every time',
    );
  const locs: Location[] = [];
  if (kind === 'local') {
    const p = str('local');
    if (p) locs.push({ kind, path: p });
  } else if (kind === 'remote') {
    const u = str('remote');
    // An address still holding $VAR names a variable not set here: unreachable, not malformed.
    if (u && !isUrl(u) && !UNSET_VARIABLE.test(u)) {
      diag.error(
        joinPath(path, 'remote'),
        valuePos(m, 'remote', at),
        `Remote file \`${u}\` is not a valid address (expected an http:// or https:// URL)`,
      );
      good = false;
    } else if (u) {
      const integrity = m.integrity === undefined ? undefined : str('integrity');
      if (integrity && !/^sha256-[A-Za-z0-9+/]+=*$/.test(integrity)) {
        diag.error(joinPath(path, 'integrity'), valuePos(m, 'integrity', at), 'expected sha256-<base64 digest>, as GitLab does');
        good = false;
      }
      locs.push(integrity ? { kind, url: u, integrity } : { kind, url: u });
    }
  } else if (kind === 'project') {
    const project = str('project');
    const ref = m.ref === undefined ? undefined : (str('ref') ?? undefined);
    const f = m.file;
    const files =
      typeof f === 'string' ? [f] : Array.isArray(f) && f.length > 0 && f.every((x) => typeof x === 'string') ? (f as string[]) : null;
    if (!files) {
      diag.error(
        joinPath(path, 'file'),
        f === undefined ? at : valuePos(m, 'file', at),
        f === undefined
          ? 'include:project needs file: (a path or a list of paths)'
          : `expected a file path or a list of file paths, got ${describe(f)}`,
      );
      good = false;
    } else if (project)
      for (const file of files)
        locs.push(
          ref === undefined ? { kind, project, file: expandVars(file, vars) } : { kind, project, file: expandVars(file, vars), ref },
        );
  } else if (kind === 'template') {
    const t = str('template');
    if (t) locs.push({ kind, name: t });
  } else {
    const c = str('component');
    if (c) locs.push({ kind, address: c });
  }
  return good ? locs.map((loc) => ({ ...base, loc })) : [];
}
