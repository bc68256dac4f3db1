/**
 * Loads rules/classification/*.yml: files in name order, rules in file order (the order
 * breaks ties between equally weighted evidence, see README.md). All-or-nothing: any error in any file → no RuleSet, so the caller keeps its old one.
 * Every error names file, line and column.
 */
import { LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { ZodIssue } from 'zod';
import { issueOffset, issuePath, unknownFieldsMessage } from '../util/yaml-zod.js';
import { compilePattern, compileRuleSet, type RuleOrigin, type RuleSet } from './ruleset.js';
import { ruleFileSchema, type RuleDef } from './schema.js';

export interface RuleError {
  file: string;
  line: number;
  column: number;
  message: string;
}

export type LoadResult = { ok: true; rules: RuleSet } | { ok: false; errors: RuleError[] };

export function formatRuleError(e: RuleError): string {
  return `${e.file}:${e.line}:${e.column}: ${e.message}`;
}

type Parsed = { ok: true; rules: Array<{ def: RuleDef; origin: RuleOrigin }> } | { ok: false; errors: RuleError[] };

/** Parse and validate one file's text (regexes included). `file` is used in messages only. */
export function parseRuleFile(text: string, file: string): Parsed {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number, message: string): RuleError => {
    const { line, col } = lc.linePos(offset);
    return { file, line, column: col, message };
  };
  if (doc.errors.length > 0) {
    return { ok: false, errors: doc.errors.map((e) => at(e.pos[0], `YAML: ${e.message.split('\n')[0]}`)) };
  }
  let data: unknown;
  try {
    data = doc.toJS() ?? { rules: [] }; // an empty file holds no rules
  } catch (e) {
    // e.g. an alias to an anchor that does not exist: refuse the file, never throw.
    return { ok: false, errors: [at(0, `YAML: ${(e as Error).message.split('\n')[0]}`)] };
  }
  const res = ruleFileSchema.safeParse(data);
  if (!res.success) {
    return { ok: false, errors: res.error.issues.map((i) => issueError(doc, mostSpecific(i), data, at)) };
  }
  const errors: RuleError[] = [];
  const rules = res.data.rules.map((def, i) => {
    const idNode = doc.getIn(['rules', i, 'id'], true) as Node | undefined;
    const pos = lc.linePos(idNode?.range?.[0] ?? 0);
    // RE2 refuses what it cannot run in linear time (backreferences, lookarounds): say where.
    for (const [path, source] of patternsOf(def)) {
      try {
        compilePattern(source);
      } catch (e) {
        const node = (doc.getIn(['rules', i, 'match', ...path], true) ?? doc.getIn(['rules', i, 'match', path[0]!], true)) as
          Node | undefined;
        errors.push(
          at(
            node?.range?.[0] ?? 0,
            `rule ${def.id}: match.${path.join('.')}: invalid RE2 pattern ${JSON.stringify(source)}: ${(e as Error).message}`,
          ),
        );
      }
    }
    return { def, origin: { file, line: pos.line, column: pos.col } };
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, rules };
}

function patternsOf(def: RuleDef): Array<[Array<string | number>, string]> {
  const m = def.match;
  const out: Array<[Array<string | number>, string]> = [];
  for (const k of ['image', 'registry', 'message', 'command'] as const) if (m[k] !== undefined) out.push([[k], m[k]]);
  for (const k of ['log', 'log_any'] as const) {
    const raw = m[k];
    // a single string was normalised to [s]; the lookup falls back to the field's node
    raw?.forEach((s, j) => out.push([[k, j], s]));
  }
  return out;
}

/**
 * A `x | [x]` union reports "Invalid input" at the field; the branch error with the
 * deepest path (an offending list item) or else a non-type error says more.
 */
function mostSpecific(issue: ZodIssue): ZodIssue {
  if (issue.code !== 'invalid_union') return issue;
  const all = issue.unionErrors.flatMap((e) => e.issues).map(mostSpecific);
  all.sort((a, b) => b.path.length - a.path.length || Number(a.code === 'invalid_type') - Number(b.code === 'invalid_type'));
  return all[0] ?? issue;
}

/** Map a zod issue to the YAML node it concerns (the offending key for unknown fields). */
function issueError(doc: Document, issue: ZodIssue, data: unknown, at: (offset: number, message: string) => RuleError): RuleError {
  const path = issue.path;
  const offset = issueOffset(doc, issue);
  const where = issuePath(path);
  const id = ruleIdAt(data, path);
  const msg = issue.code === 'unrecognized_keys' ? unknownFieldsMessage(issue.keys) : issue.message;
  return at(offset, `${id ? `rule ${id}: ` : ''}${where}: ${msg}`);
}

function ruleIdAt(data: unknown, path: ReadonlyArray<string | number>): string | null {
  if (path[0] !== 'rules' || typeof path[1] !== 'number') return null;
  const rules = (data as { rules?: unknown })?.rules;
  const r = Array.isArray(rules) ? rules[path[1]] : undefined;
  return r && typeof r === 'object' && typeof (r as { id?: unknown }).id === 'string' ? (r as { id: string }).id : null;
}

/** One rule file as read by the caller: its text, or why it could not be read. */
export type RuleText = { file: string; text: string } | { file: string; error: string };

/**
 * Every rule file of a directory, already read (in load order), → one rule set. All-or-nothing.
 * `dir` names the set in messages. The reading itself is the caller's (src/coordinator/rules).
 */
export function loadRuleTexts(dir: string, texts: readonly RuleText[]): LoadResult {
  const errors: RuleError[] = [];
  const all: Array<{ def: RuleDef; origin: RuleOrigin }> = [];
  for (const t of texts) {
    if ('error' in t) {
      errors.push({ file: t.file, line: 0, column: 0, message: `cannot read: ${t.error}` });
      continue;
    }
    const parsed = parseRuleFile(t.text, t.file);
    if (parsed.ok) all.push(...parsed.rules);
    else errors.push(...parsed.errors);
  }
  const files = texts.map((t) => t.file);
  const firstSeen = new Map<string, RuleOrigin>();
  for (const { def, origin } of all) {
    const prev = firstSeen.get(def.id);
    if (prev) {
      errors.push({ ...origin, message: `rule ${def.id}: duplicate id (first defined at ${prev.file}:${prev.line})` });
    } else firstSeen.set(def.id, origin);
  }
  if (errors.length > 0) return { ok: false, errors };
  try {
    return { ok: true, rules: compileRuleSet(all, files) };
  } catch (e) {
    // e.g. RE2.Set refusing the combined automaton
    return { ok: false, errors: [{ file: dir, line: 0, column: 0, message: (e as Error).message }] };
  }
}
