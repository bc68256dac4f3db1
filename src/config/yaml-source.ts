/**
 * YAML text → plain JS values that remember where they came from.
 *
 * We convert yaml's AST ourselves instead of calling toJS() so that every map
 * entry and list item keeps the 1-based line/column of its key and value. The
 * positions live in a WeakMap side table keyed by the container object, which
 * survives `extends` merging (merge copies entry locations along) and lets any
 * later stage turn a path into a line/column.
 */
import { isAlias, isCollection, isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Alias, CollectionTag, Document, Node, YAMLMap, YAMLSeq } from 'yaml';

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
/** Shared by every copy of an aliased node: only mutate the loc of a map you made with newMap. */
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
  errors: (Problem & { fatal: boolean; syntax?: true })[];
  warnings: Problem[];
}

// Keep `!reference` sequences as tagged YAMLSeq nodes (no "unresolved tag" warning).
const referenceTag: CollectionTag = {
  tag: '!reference',
  collection: 'seq',
  default: false,
  resolve: (seq) => seq,
};

const MiB = 1024 * 1024;

/**
 * Limits of the same kind as GitLab's YAML loader (lib/gitlab/config/loader/yaml.rb, settings
 * max_yaml_size_bytes = 2 MB and max_yaml_depth = 150): the text before parsing, the nesting depth,
 * and the size once parsed with every alias and merge key expanded. GitLab measures the parsed
 * object's memory; we count EXPANDED_NODE_COST per node and map entry plus every string's length,
 * which is about what the expanded document would take written out.
 */
export const YAML_LIMITS = { maxBytes: 2 * MiB, maxDepth: 150, maxExpandedBytes: 16 * MiB } as const;
const EXPANDED_NODE_COST = 16;

class LimitError extends Error {
  constructor(
    message: string,
    readonly pos: Pos,
  ) {
    super(message);
  }
}

/** Work done by the last parseYaml (expanded size counted against the limit), for tests and benches. */
export interface ParseStats {
  expandedBytes: number;
}
export const lastParseStats: ParseStats = { expandedBytes: 0 };

/**
 * Parse one configuration file. Like GitLab: a duplicate key is a warning and the
 * last one wins; a file may hold two documents when the first is a `spec:` header.
 */
export function parseYaml(text: string, file?: string): ParsedYaml {
  lastParseStats.expandedBytes = 0;
  const tooBig = oversizeLine(text);
  if (tooBig !== null) {
    const message =
      `the configuration is larger than ${YAML_LIMITS.maxBytes / MiB} MiB, the most faultline reads from one file ` +
      `(like GitLab's max_yaml_size_bytes); it passes the limit on line ${tooBig}`;
    return { value: null, errors: [{ pos: { line: tooBig, column: 1 }, message, fatal: true }], warnings: [] };
  }
  const lc = new LineCounter();
  const parsed = parseAllDocuments(text, {
    lineCounter: lc,
    merge: true,
    // yaml checks unique keys by scanning every earlier key of the map (quadratic in a
    // 25,000-job top level); Converter checks them with a Set instead.
    uniqueKeys: false,
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
      } else errors.push({ pos: pos(e.pos?.[0]), message: cleanMessage(e.message), fatal: true, syntax: true });
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
  let spent = 0; // expanded size over every document of the file (see YAML_LIMITS)
  const conv = (doc: Document): unknown => {
    const c = new Converter(text, indexAliases(doc), pos, spent);
    try {
      const v = c.convert(doc.contents as Node | null, 0);
      for (const p of c.problems) errors.push({ ...p, fatal: false });
      warnings.push(...c.warnings);
      return v;
    } finally {
      spent = c.spent;
    }
  };
  let value: unknown = null;
  try {
    if (docs.length > 1) header = conv(docs[0]!) as PlainMap;
    value = conv(body);
  } catch (e) {
    if (!(e instanceof LimitError)) throw e;
    errors.push({ pos: e.pos, message: e.message, fatal: true });
    return { value: null, errors, warnings };
  } finally {
    lastParseStats.expandedBytes = spent;
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

/** The line on which `text` passes maxBytes of UTF-8, or null when it does not. */
function oversizeLine(text: string): number | null {
  if (text.length * 3 <= YAML_LIMITS.maxBytes) return null; // ≤ 3 bytes per UTF-16 unit
  const { read } = new TextEncoder().encodeInto(text, new Uint8Array(YAML_LIMITS.maxBytes));
  if (read >= text.length) return null;
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < read; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function cleanMessage(m: string): string {
  // prettyErrors is off, but keep only the first line and drop a trailing "at line …".
  return (m.split('\n')[0] ?? m).replace(/ at line \d+, column \d+:?$/, '').trim();
}

/**
 * Every alias's target, found in ONE pre-order pass (yaml's Alias.resolve(doc) walks the whole
 * document for each alias: quadratic). Same rule as yaml's: the last node carrying the anchor
 * before the alias in document order (a node containing its own alias comes before it).
 */
function indexAliases(doc: Document): Map<Alias, Node | undefined> {
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node | undefined>();
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const n = stack.pop();
    if (isPair(n)) {
      stack.push(n.value, n.key); // key first
    } else if (isAlias(n)) {
      targets.set(n, anchors.get(n.source));
    } else if (isNode(n)) {
      if (n.anchor) anchors.set(n.anchor, n);
      if (isCollection(n)) for (let i = n.items.length - 1; i >= 0; i--) stack.push(n.items[i]);
    }
  }
  return targets;
}

class Converter {
  readonly problems: Problem[] = [];
  /** Duplicate keys: GitLab keeps the last one, so they are warnings. */
  readonly warnings: Problem[] = [];
  /** Collections being converted: an alias to one of them is a cycle. */
  private readonly active = new Set<Node>();
  /** The outermost alias being expanded: where an alias bomb is reported. */
  private outerAlias: Alias | null = null;
  private readonly seqLocs = new Map<YAMLSeq, ContainerLoc>();
  private readonly mapLocs = new Map<YAMLMap, ContainerLoc>();

  constructor(
    private readonly text: string,
    private readonly targets: Map<Alias, Node | undefined>,
    private readonly pos: (offset: number | undefined) => Pos,
    /** Expanded size already spent by earlier documents of the same file. */
    public spent = 0,
  ) {}

  nodePos(n: Node | null | undefined, fallback: Pos = START): Pos {
    const r = (n as { range?: [number, number, number] } | null)?.range;
    return r ? this.pos(r[0]) : fallback;
  }

  private spend(cost: number, at: Node | null | undefined): void {
    this.spent += cost;
    if (this.spent <= YAML_LIMITS.maxExpandedBytes) return;
    const via = this.outerAlias;
    const limit = `${YAML_LIMITS.maxExpandedBytes / MiB} MiB`;
    throw new LimitError(
      via
        ? `the parsed YAML is too big: expanding the alias *${via.source} takes the configuration past ${limit} ` +
            `(the limit on its size with aliases and merge keys expanded; an alias bomb?)`
        : `the parsed YAML is too big: more than ${limit} once parsed`,
      this.nodePos(via ?? at),
    );
  }

  /** `depth`: how many collections enclose `node`. */
  convert(node: Node | null | undefined, depth: number): unknown {
    if (node == null) return null;
    if (isAlias(node)) return this.expand(node, depth);
    if (isScalar(node)) {
      const v = node.value;
      const out = typeof v === 'symbol' ? String(v.description) : v;
      this.spend(EXPANDED_NODE_COST + (typeof out === 'string' ? out.length : 0), node);
      return out;
    }
    if (!isSeq(node) && !isMap(node)) return null;
    if (depth >= YAML_LIMITS.maxDepth) {
      throw new LimitError(
        `the configuration nests more than ${YAML_LIMITS.maxDepth} lists and maps deep (the limit, like GitLab's max_yaml_depth)`,
        this.nodePos(node),
      );
    }
    this.spend(EXPANDED_NODE_COST, node);
    this.active.add(node);
    try {
      return isSeq(node) ? this.convertSeq(node, depth) : this.convertMap(node, depth);
    } finally {
      this.active.delete(node);
    }
  }

  private expand(alias: Alias, depth: number): unknown {
    const target = this.targets.get(alias);
    if (!target) {
      this.problems.push({
        pos: this.nodePos(alias),
        message: `unknown alias *${alias.source}: no anchor &${alias.source} comes before it (an anchor must be defined before its aliases)`,
      });
      return null;
    }
    if (this.active.has(target)) {
      this.problems.push({ pos: this.nodePos(alias), message: `alias *${alias.source} refers to a node that contains it` });
      return null;
    }
    const outer = this.outerAlias;
    this.outerAlias ??= alias;
    try {
      return this.convert(target, depth);
    } finally {
      this.outerAlias = outer;
    }
  }

  private convertSeq(node: YAMLSeq, depth: number): unknown[] | Reference {
    const items = node.items.map((it) => this.convert(it as Node, depth + 1));
    if (node.tag === '!reference') return new Reference(items, this.nodePos(node));
    let loc = this.seqLocs.get(node);
    if (!loc) {
      // Every copy of an aliased list has the same positions: computed once, shared (never mutated).
      const self = this.nodePos(node);
      const entries = new Map<number, EntryLoc>();
      node.items.forEach((it, i) => {
        const p = this.nodePos(it as Node, self);
        entries.set(i, { key: p, value: p });
      });
      loc = { self, entries };
      this.seqLocs.set(node, loc);
    }
    LOCS.set(items, loc);
    return items;
  }

  private convertMap(node: YAMLMap, depth: number): PlainMap {
    // Like lists, every copy of an aliased map shares one loc, recorded by the first copy.
    const cached = this.mapLocs.get(node);
    const loc = cached ?? { self: this.nodePos(node), entries: new Map() };
    const entries = cached ? null : loc.entries;
    const self = loc.self;
    const out = Object.create(null) as PlainMap;
    LOCS.set(out, loc);
    const seen = new Set<unknown>(); // scalar key values, as yaml's uniqueKeys compares them
    for (const pair of node.items) {
      const k = pair.key as Node | null;
      const v = pair.value as Node | null;
      const kPos = this.nodePos(k, self);
      if (isScalar(k) && typeof k.value === 'symbol') {
        this.merge(out, entries, v, kPos, depth);
        continue;
      }
      if (k == null || isScalar(k)) {
        const raw = k == null ? null : k.value;
        if (seen.has(raw)) {
          const at = k?.range?.[0];
          const name = at === undefined ? '' : /^[^:\n]*/.exec(this.text.slice(at))![0].trim();
          this.warnings.push({ pos: kPos, message: `duplicate key '${name}': the last one wins (as in GitLab); remove the other one` });
        }
        seen.add(raw);
      }
      let keyVal: unknown = isAlias(k) ? this.convert(k, depth + 1) : isScalar(k) ? k.value : undefined;
      if (k == null) keyVal = '';
      if (keyVal !== null && typeof keyVal === 'object') {
        this.problems.push({ pos: kPos, message: 'a map key must be a plain value, not a list or map' });
        continue;
      }
      const key = keyVal === null ? '' : String(keyVal);
      this.spend(EXPANDED_NODE_COST + key.length, k);
      out[key] = this.convert(v, depth + 1);
      entries?.set(key, { key: kPos, value: v ? this.nodePos(v, kPos) : kPos });
    }
    if (!cached) this.mapLocs.set(node, loc);
    return out;
  }

  /** `<<: *anchor` or `<<: [*a, *b]`: copy keys not set explicitly; earlier sources win. */
  private merge(out: PlainMap, entries: Map<string | number, EntryLoc> | null, v: Node | null, kPos: Pos, depth: number): void {
    const target = isAlias(v) ? this.targets.get(v) : v;
    const sources = isSeq(target) ? target.items.map((it) => it as Node) : [v];
    for (const src of sources) {
      const reported = this.problems.length;
      const m = this.convert(src, depth);
      if (!isPlainMap(m)) {
        if (this.problems.length === reported) {
          this.problems.push({ pos: this.nodePos(src, kPos), message: '<< (merge key) needs a map or a list of maps' });
        }
        continue;
      }
      const mLoc = LOCS.get(m);
      for (const key of Object.keys(m)) {
        if (key in out) continue;
        out[key] = m[key];
        const e = mLoc?.entries.get(key);
        if (e) entries?.set(key, e);
      }
    }
  }
}
