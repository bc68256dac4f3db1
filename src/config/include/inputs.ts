/**
 * `spec: inputs` headers and `$[[ inputs.x ]]` interpolation, as GitLab documents them
 * (docs.gitlab.com/ee/ci/yaml/inputs.html): inputs are strings unless `type:` says
 * number, boolean or array; an input without `default:` is mandatory; `options:` and
 * `regex:` restrict the value; a block may pipe the value through up to three of
 * `expand_vars`, `truncate(offset, length)` and `posix_escape`. A string that is one
 * block and nothing else takes the input's type (so `parallel: $[[ inputs.n ]]` is a
 * number). Only files with a header are interpolated; `$[[ matrix.X ]]` is left for
 * the parallel: matrix pass.
 */
import RE2 from 're2';
import { describe, didYouMean, joinPath, type Diagnostics } from '../diagnostics.js';
import type { Vars } from '../expression.js';
import { isPlainMap, keyPos, locOf, START, valuePos, type PlainMap, type Pos } from '../yaml-source.js';

export type InputValue = string | number | boolean | unknown[];
const TYPES = ['string', 'number', 'boolean', 'array'] as const;
type InputType = (typeof TYPES)[number];
const INPUT_KEYS = ['default', 'description', 'options', 'regex', 'type'];
const MAX_FUNCTIONS = 3;
const MAX_BLOCK = 1024; // "the string inside an interpolation block must not exceed 1 KB"
const MAX_STRING = 1024 * 1024; // "a string containing an interpolation block must not exceed 1 MB"

interface InputSpec {
  name: string;
  type: InputType;
  default?: InputValue | null;
  options?: unknown[];
  regex?: RE2;
  regexText?: string;
  pos: Pos;
}

/** What interpolation can see: the inputs and, for a component, its own facts. */
export interface InterpolationContext {
  inputs: Record<string, InputValue | null>;
  component?: Record<string, string>;
  variables: Vars;
}

/** Read a `spec:` header; null when it is unusable (errors reported). */
export function readSpec(header: PlainMap, where: string, diag: Diagnostics): { inputs: InputSpec[]; component: string[] } | null {
  const spec = header.spec;
  const specPos = valuePos(header, 'spec', START);
  if (spec === null || spec === undefined) return { inputs: [], component: [] };
  if (!isPlainMap(spec)) {
    diag.error('spec', specPos, `${where}: expected a map with inputs:, got ${describe(spec)}`);
    return null;
  }
  let good = true;
  for (const k of Object.keys(spec)) {
    if (k !== 'inputs' && k !== 'component') {
      diag.error(
        joinPath('spec', k),
        keyPos(spec, k, specPos),
        `unknown key '${k}'${didYouMean(k, ['inputs', 'component'])} (a spec: header holds inputs: and component:)`,
      );
      good = false;
    }
  }
  const component: string[] = [];
  if (spec.component !== undefined) {
    const c = spec.component;
    const ok = Array.isArray(c) && c.every((x) => typeof x === 'string' && ['name', 'sha', 'version', 'reference'].includes(x));
    if (!ok) {
      diag.error('spec.component', valuePos(spec, 'component', specPos), 'expected a list of name, sha, version, reference');
      good = false;
    } else component.push(...(c as string[]));
  }
  const inputs: InputSpec[] = [];
  const raw = spec.inputs;
  const rawPos = valuePos(spec, 'inputs', specPos);
  if (raw !== undefined && raw !== null && !isPlainMap(raw)) {
    diag.error('spec.inputs', rawPos, `expected a map of input names, got ${describe(raw)}`);
    return null;
  }
  for (const name of Object.keys(raw ?? {})) {
    const def = (raw as PlainMap)[name];
    const path = joinPath('spec.inputs', name);
    const pos = valuePos(raw, name, rawPos);
    const one = readInput(name, def, path, pos, diag);
    if (one) inputs.push(one);
    else good = false;
  }
  return good ? { inputs, component } : null;
}

function readInput(name: string, def: unknown, path: string, pos: Pos, diag: Diagnostics): InputSpec | null {
  if (!/^[\w-]+$/.test(name)) {
    diag.error(path, pos, `'${name}' is not a valid input name (letters, digits, _ and -)`);
    return null;
  }
  const out: InputSpec = { name, type: 'string', pos };
  if (def === null || def === undefined) return out;
  if (!isPlainMap(def)) {
    diag.error(path, pos, `expected a map with default:, type:, options:, regex:, description:, got ${describe(def)}`);
    return null;
  }
  let good = true;
  for (const k of Object.keys(def)) {
    if (!INPUT_KEYS.includes(k)) {
      diag.error(joinPath(path, k), keyPos(def, k, pos), `unknown key '${k}'${didYouMean(k, INPUT_KEYS)}`);
      good = false;
    }
  }
  if (def.type !== undefined) {
    if (typeof def.type === 'string' && (TYPES as readonly string[]).includes(def.type)) out.type = def.type as InputType;
    else {
      diag.error(joinPath(path, 'type'), valuePos(def, 'type', pos), `expected one of ${TYPES.join(', ')}, got ${describe(def.type)}`);
      good = false;
    }
  }
  if (def.options !== undefined) {
    if (Array.isArray(def.options) && def.options.length > 0) out.options = def.options;
    else {
      diag.error(
        joinPath(path, 'options'),
        valuePos(def, 'options', pos),
        `expected a list of allowed values, got ${describe(def.options)}`,
      );
      good = false;
    }
  }
  if (def.regex !== undefined) {
    const text = typeof def.regex === 'string' ? def.regex : null;
    const body = text?.match(/^\/(.*)\/$/s)?.[1] ?? text;
    try {
      if (body === null) throw new Error(`expected a regular expression string, got ${describe(def.regex)}`);
      out.regex = new RE2(body);
      out.regexText = text!;
      if (out.type !== 'string') throw new Error('regex: applies only to inputs of type string');
    } catch (e) {
      diag.error(joinPath(path, 'regex'), valuePos(def, 'regex', pos), (e as Error).message);
      good = false;
    }
  }
  if ('default' in def) {
    out.default = def.default as InputValue | null;
    if (def.default !== null) {
      const bad = checkValue(out, def.default);
      if (bad) {
        diag.error(joinPath(path, 'default'), valuePos(def, 'default', pos), `\`${name}\` input: default value ${bad}`);
        good = false;
      }
    }
  }
  return good ? out : null;
}

/** Why `v` is not acceptable for `spec`, or null. */
function checkValue(spec: InputSpec, v: unknown): string | null {
  const typeOk = spec.type === 'array' ? Array.isArray(v) : spec.type === 'string' ? typeof v === 'string' : typeof v === spec.type;
  if (!typeOk) return `is not ${spec.type === 'array' ? 'an array' : `a ${spec.type}`} (got ${describe(v)})`;
  if (spec.options && !spec.options.some((o) => o === v)) {
    return `\`${String(v)}\` cannot be used because it is not in the list of allowed options (${spec.options.map(String).join(', ')})`;
  }
  if (spec.regex && typeof v === 'string' && !spec.regex.test(v)) return `does not match required RegEx pattern ${spec.regexText}`;
  return null;
}

/**
 * The inputs' values for one include: the given ones checked against the spec, the
 * others from defaults. Null when any is wrong (reported at `at`).
 */
export function bindInputs(
  specs: InputSpec[],
  given: PlainMap | undefined,
  where: string,
  at: { path: string; pos: Pos },
  diag: Diagnostics,
): Record<string, InputValue | null> | null {
  const out: Record<string, InputValue | null> = {};
  let good = true;
  const names = new Set(specs.map((s) => s.name));
  for (const k of Object.keys(given ?? {})) {
    if (!names.has(k)) {
      const hint = didYouMean(k, names);
      diag.error(
        joinPath(at.path, k),
        keyPos(given, k, at.pos),
        `unknown input '${k}' for ${where}${hint}${names.size ? ` (its spec: defines ${[...names].join(', ')})` : ' (its spec: defines no inputs)'}`,
      );
      good = false;
    }
  }
  for (const s of specs) {
    if (given && s.name in given) {
      const v = given[s.name];
      const bad = checkValue(s, v);
      if (bad) {
        diag.error(joinPath(at.path, s.name), valuePos(given, s.name, at.pos), `\`${s.name}\` input: provided value ${bad}`);
        good = false;
      } else out[s.name] = v as InputValue;
    } else if ('default' in s) out[s.name] = s.default ?? null;
    else {
      diag.error(at.path, at.pos, `\`${s.name}\` input: required value has not been provided (${where} declares it without a default)`);
      good = false;
    }
  }
  return good ? out : null;
}

const BLOCK = /\$\[\[(.*?)\]\]/gs;

/** Replace every `$[[ … ]]` block in the document, in place. */
export function interpolate(root: unknown, ctx: InterpolationContext, where: string, diag: Diagnostics): unknown {
  const fail = (pos: Pos, msg: string) => diag.error('', pos, `${where}: ${msg}`);
  const str = (s: string, pos: Pos): unknown => {
    if (!s.includes('$[[')) return s;
    if (s.length > MAX_STRING) {
      fail(pos, 'a string containing an interpolation block must not exceed 1 MB');
      return s;
    }
    const whole = /^\$\[\[(.*?)\]\]$/s.exec(s);
    if (whole && !whole[1]!.includes(']]')) {
      const r = evalBlock(whole[1]!, ctx);
      if (r === SKIP) return s;
      if (typeof r === 'object' && r !== null && 'error' in r) return (fail(pos, r.error), s);
      return r;
    }
    return s.replace(BLOCK, (m, inner: string) => {
      const r = evalBlock(inner, ctx);
      if (r === SKIP) return m;
      if (typeof r === 'object' && r !== null && 'error' in r) return (fail(pos, r.error), m);
      return r === null ? '' : Array.isArray(r) ? JSON.stringify(r) : String(r);
    });
  };
  const walk = (v: unknown, pos: Pos): unknown => {
    if (typeof v === 'string') return str(v, pos);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = walk(v[i], valuePos(v, i, pos));
      return v;
    }
    if (isPlainMap(v)) {
      const keys = Object.keys(v);
      const loc = locOf(v);
      const renamed = keys.some((k) => k.includes('$[['));
      const pairs = keys.map((k) => {
        const nk = k.includes('$[[') ? String(str(k, keyPos(v, k, pos))) : k;
        return [k, nk, walk(v[k], valuePos(v, k, pos))] as const;
      });
      if (renamed) {
        for (const k of keys) delete v[k];
        const entries = loc?.entries;
        for (const [k, nk, val] of pairs) {
          v[nk] = val;
          const e = entries?.get(k);
          if (e && entries && nk !== k) {
            entries.delete(k);
            entries.set(nk, e);
          }
        }
      } else for (const [k, , val] of pairs) v[k] = val;
      return v;
    }
    return v;
  };
  return walk(root, START);
}

const SKIP = Symbol('not ours');
type BlockResult = InputValue | null | { error: string } | typeof SKIP;

function evalBlock(inner: string, ctx: InterpolationContext): BlockResult {
  if (inner.length > MAX_BLOCK) return { error: 'the string inside an interpolation block must not exceed 1 KB' };
  const parts = inner.split('|').map((p) => p.trim());
  const access = parts[0]!;
  const m = /^([a-z_]+)\.([\w-]+)$/.exec(access);
  if (!m) return { error: `invalid interpolation access pattern '${access}' (expected inputs.<name>)` };
  const [, scope, key] = m;
  if (scope === 'matrix') return SKIP; // parallel: matrix, resolved per job later
  let value: InputValue | null;
  if (scope === 'inputs') {
    if (!(key! in ctx.inputs)) return { error: `unknown interpolation key: \`${key}\`${didYouMean(key!, Object.keys(ctx.inputs))}` };
    value = ctx.inputs[key!]!;
  } else if (scope === 'component') {
    if (!ctx.component || !(key! in ctx.component))
      return { error: `unknown interpolation key: \`component.${key}\` (list it in spec: component:)` };
    value = ctx.component[key!]!;
  } else return { error: `unknown interpolation key: \`${scope}\`` };
  const fns = parts.slice(1);
  if (fns.length > MAX_FUNCTIONS) return { error: `too many functions in interpolation block (at most ${MAX_FUNCTIONS})` };
  for (const f of fns) {
    const r = applyFunction(f, value, ctx.variables);
    if (typeof r === 'object' && r !== null && 'error' in r) return r;
    value = r;
  }
  return value;
}

function applyFunction(f: string, v: InputValue | null, vars: Vars): InputValue | { error: string } {
  const s = v === null ? '' : Array.isArray(v) ? JSON.stringify(v) : String(v);
  if (f === 'expand_vars') return s.replace(/\$(?:\{(\w+)\}|(\w+))/g, (m, a?: string, b?: string) => vars[(a ?? b)!] ?? m);
  // Ruby's Shellwords.escape, which GitLab uses.
  if (f === 'posix_escape') return s === '' ? "''" : s.replace(/[^A-Za-z0-9_\-.,:+/@\n]/g, (c) => `\\${c}`).replace(/\n/g, "'\n'");
  const t = /^truncate\(\s*(\d+)\s*,\s*(\d+)\s*\)$/.exec(f);
  if (t) return s.substr(Number(t[1]), Number(t[2]));
  return {
    error: `no function matching \`${f}\`: check that the function name, arguments, and types are correct (known: expand_vars, truncate(offset, length), posix_escape)`,
  };
}
