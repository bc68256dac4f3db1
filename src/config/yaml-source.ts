/**
 * YAML text → plain JS values that remember where they came from.
 *
 * We convert yaml's AST ourselves instead of calling toJS() so that every map
 * entry and list item keeps the 1-based line/column of its key and value. The
 * positions live in a WeakMap side table keyed by the container object, which
 * survives `extends` merging (merge copies entry locations along) and lets any
 * later stage turn a path into a line/column.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { CollectionTag, Document, Node } from 'yaml';

export interface Pos {
  line: number;
  column: number;
  /** The included file this position is in; absent for the file being compiled. */
  file?: string;
}
export interface EntryLoc {
  key: Pos;
  value: Pos;
}
export interface ContainerLoc {
  self: Pos;
  entries: Map<string | number, EntryLoc>;
}

const LOCS = new WeakMap<object, ContainerLoc>();

export const START: Pos = { line: 1, column: 1 };

/** A plain map as produced here: null prototype, so `__proto__` is an ordinary key. */
export type PlainMap = Record<string, unknown>;

export function isPlainMap(v: unknown): v is PlainMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Reference);
}

export function newMap(self: Pos): PlainMap {
  const m = Object.create(null) as PlainMap;
  LOCS.set(m, { self, entries: new Map() });
  return m;
}

export function locOf(container: object): ContainerLoc | undefined {
  return LOCS.get(container);
}

export function setLoc(container: object, loc: ContainerLoc): void {
  LOCS.set(container, loc);
}

/** Position of the value at `key` in `container`, else `fallback`. */
export function valuePos(container: unknown, key: string | number, fallback: Pos): Pos {
  if (typeof container !== 'object' || container === null) return fallback;
  return LOCS.get(container)?.entries.get(key)?.value ?? fallback;
}

/** Position of the key itself (for unknown-key messages), else `fallback`. */
export function keyPos(container: unknown, key: string, fallback: Pos): Pos {
  if (typeof container !== 'object' || container === null) return fallback;
  return LOCS.get(container)?.entries.get(key)?.key ?? fallback;
}

/** Walk `path` from `root`, returning the position of the deepest node found. */
export function posAt(root: unknown, path: readonly (string | number)[], fallback: Pos): Pos {
  let cur: unknown = root;
  let pos = fallback;
  for (const k of path) {
    if (typeof cur !== 'object' || cur === null) break;
    const e = LOCS.get(cur)?.entries.get(k);
    if (!e) break;
    pos = e.value;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return pos;
}

/** `!reference [job, key, …]`, resolved after parsing (see references.ts). */
export class Reference {
  constructor(
    readonly path: unknown[],
    readonly pos: Pos,
  ) {}
}

export interface Problem {
  pos: Pos;
  message: string;
}

export interface ParsedYaml {
  value: unknown;
  /** The `spec:` header document of a two-document file (GitLab's `spec: inputs`), else undefined. */
  header?: PlainMap;
  /** Syntax errors; when any is not a duplicate key, `value` should not be trusted. */
  errors: (Problem & { fatal: boolean })[];
  warnings: Problem[];
}

// Keep `!reference` sequences as tagged YAMLSeq nodes (no "unresolved tag" warning).
const referenceTag: CollectionTag = {
  tag: '!reference',
  collection: 'seq',
  default: false,
  resolve: (seq) => seq,
};

/** Budget on nodes converted through aliases: stops "billion laughs" alias bombs. */
const MAX_ALIASED_NODES = 200_000;
const MAX_DEPTH = 500;

class LimitError extends Error {
  constructor(
    message: string,
    readonly pos: Pos,
  ) {
    super(message);
  }
}

/**
 * Parse one configuration file. Like GitLab: a duplicate key is a warning and the
 * last one wins; a file may hold two documents when the first is a `spec:` header.
 */
export function parseYaml(text: string, file?: string): ParsedYaml {
  const lc = new LineCounter();
  const parsed = parseAllDocuments(text, {
    lineCounter: lc,
    merge: true,
    uniqueKeys: true,
    prettyErrors: false,
    customTags: [referenceTag],
  });
  // Empty documents (a trailing `---`, a comment before the first `---`) carry nothing.
  const all: Document[] = Array.isArray(parsed) ? parsed : [];
  const docs = all.filter((d, i) => !isEmptyDoc(d) || (i === 1 && isSpecHeader(all[0]!)));
  const pos = (offset: number | undefined): Pos => {
    const p = lc.linePos(Math.max(0, Math.min(offset ?? 0, text.length)));
    const out: Pos = { line: Math.max(1, p.line), column: Math.max(1, p.col) };
    if (file !== undefined) out.file = file;
    return out;
  };
  const errors: ParsedYaml['errors'] = [];
  const warnings: Problem[] = [];
  for (const doc of docs) {
    for (const e of doc.errors) {
      if (e.code === 'DUPLICATE_KEY') {
        const key = /^[^:\n]*/.exec(text.slice(e.pos[0]))![0].trim();
        warnings.push({ pos: pos(e.pos[0]), message: `duplicate key '${key}': the last one wins (as in GitLab); remove the other one` });
      } else errors.push({ pos: pos(e.pos?.[0]), message: cleanMessage(e.message), fatal: true });
    }
    for (const w of doc.warnings) warnings.push({ pos: pos(w.pos?.[0]), message: cleanMessage(w.message) });
  }
  if (errors.some((e) => e.fatal)) return { value: null, errors, warnings };
  if (docs.length === 0) return { value: null, errors, warnings };

  let header: PlainMap | undefined;
  let body = docs[0]!;
  if (docs.length > 1) {
    if (!isSpecHeader(docs[0]!) || docs.length > 2) {
      const at = pos((docs[1]!.contents as { range?: number[] } | null)?.range?.[0] ?? 0);
      errors.push({
        pos: at,
        message: `this file holds ${docs.length} YAML documents; a configuration is one document, or a spec: header document, then --- and the configuration`,
        fatal: true,
      });
      return { value: null, errors, warnings };
    }
    body = docs[1]!;
  }
  const conv = (doc: Document): unknown => {
    const c = new Converter(doc, pos);
    const v = c.convert(doc.contents as Node | null, 0);
    for (const p of c.problems) errors.push({ ...p, fatal: false });
    return v;
  };
  let value: unknown = null;
  try {
    if (docs.length > 1) header = conv(docs[0]!) as PlainMap;
    value = conv(body);
  } catch (e) {
    if (!(e instanceof LimitError)) throw e;
    errors.push({ pos: e.pos, message: e.message, fatal: true });
    return { value: null, errors, warnings };
  }
  return header ? { value, header, errors, warnings } : { value, errors, warnings };
}

function isEmptyDoc(doc: Document): boolean {
  const c = doc.contents as (Node & { range?: number[] }) | null;
  return c === null || (isScalar(c) && c.value === null && c.range !== undefined && c.range[0] === c.range[1]);
}

function isSpecHeader(doc: Document): boolean {
  const c = doc.contents;
  return isMap(c) && c.items.length > 0 && c.items.every((it) => isScalar(it.key) && it.key.value === 'spec');
}

function cleanMessage(m: string): string {
  // prettyErrors is off, but keep only the first line and drop a trailing "at line …".
  return (m.split('\n')[0] ?? m).replace(/ at line \d+, column \d+:?$/, '').trim();
}

class Converter {
  private aliased = 0;
  private inAlias = 0;
  readonly problems: Problem[] = [];
  private readonly active = new Set<Node>();

  constructor(
    private readonly doc: Document,
    private readonly pos: (offset: number | undefined) => Pos,
  ) {}

  nodePos(n: Node | null | undefined, fallback: Pos = START): Pos {
    const r = (n as { range?: [number, number, number] } | null)?.range;
    return r ? this.pos(r[0]) : fallback;
  }

  convert(node: Node | null | undefined, depth: number): unknown {
    if (node == null) return null;
    if (this.inAlias > 0 && ++this.aliased > MAX_ALIASED_NODES) {
      throw new LimitError('aliases expand to too many nodes (an alias bomb?)', this.nodePos(node));
    }
    if (depth > MAX_DEPTH) throw new LimitError('the document is nested too deeply', this.nodePos(node));
    if (isAlias(node)) {
      const target = node.resolve(this.doc) as Node | undefined;
      if (!target) return null; // yaml already reported the unknown anchor
      if (this.active.has(target)) {
        this.problems.push({ pos: this.nodePos(node), message: `alias *${node.source} refers to a node that contains it` });
        return null;
      }
      this.inAlias++;
      try {
        return this.convert(target, depth + 1);
      } finally {
        this.inAlias--;
      }
    }
    if (isScalar(node)) {
      const v = node.value;
      return typeof v === 'symbol' ? String(v.description) : v;
    }
    this.active.add(node);
    try {
      if (isSeq(node)) {
        const items = node.items.map((it) => this.convert(it as Node, depth + 1));
        if (node.tag === '!reference') return new Reference(items, this.nodePos(node));
        const entries = new Map<number, EntryLoc>();
        const self = this.nodePos(node);
        node.items.forEach((it, i) => {
          const p = this.nodePos(it as Node, self);
          entries.set(i, { key: p, value: p });
        });
        LOCS.set(items, { self, entries });
        return items;
      }
      if (isMap(node)) return this.convertMap(node, depth);
    } finally {
      this.active.delete(node);
    }
    return null;
  }

  private convertMap(node: import('yaml').YAMLMap, depth: number): PlainMap {
    const self = this.nodePos(node);
    const out = newMap(self);
    const entries = LOCS.get(out)!.entries;
    for (const pair of node.items) {
      const k = pair.key as Node | null;
      const v = pair.value as Node | null;
      const kPos = this.nodePos(k, self);
      if (isScalar(k) && typeof k.value === 'symbol') {
        // `<<: *anchor` or `<<: [*a, *b]`: copy keys not set explicitly; earlier sources win.
        const target = isAlias(v) ? (v.resolve(this.doc) as Node | undefined) : v;
        const sources = isSeq(target) ? target.items.map((it) => it as Node) : [v];
        for (const src of sources) {
          const m = this.convert(src, depth + 1);
          if (!isPlainMap(m)) {
            this.problems.push({ pos: this.nodePos(src, kPos), message: '<< (merge key) needs a map or a list of maps' });
            continue;
          }
          const mLoc = LOCS.get(m);
          for (const key of Object.keys(m)) {
            if (key in out) continue;
            out[key] = m[key];
            const e = mLoc?.entries.get(key);
            if (e) entries.set(key, e);
          }
        }
        continue;
      }
      let keyVal: unknown = isAlias(k) ? this.convert(k, depth + 1) : isScalar(k) ? k.value : undefined;
      if (k == null) keyVal = '';
      if (keyVal !== null && typeof keyVal === 'object') {
        this.problems.push({ pos: kPos, message: 'a map key must be a plain value, not a list or map' });
        continue;
      }
      const key = keyVal === null ? '' : String(keyVal);
      out[key] = this.convert(v, depth + 1);
      entries.set(key, { key: kPos, value: v ? this.nodePos(v, kPos) : kPos });
    }
    return out;
  }
}
