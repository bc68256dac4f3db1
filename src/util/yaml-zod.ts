/**
 * Where in a YAML document a zod issue points: the shared bit of every config loader
 * that reports "file:line:column: field: message" (classification rules, coordinator
 * config). The .gitlab-ci.yml compiler has its own, richer diagnostics.
 */
import { isMap, isNode, isPair, isScalar, type Document } from 'yaml';
import type { ZodIssue } from 'zod';

/** Source offset of the node an issue concerns: the offending key for unknown fields, the nearest existing parent for missing ones. */
export function issueOffset(doc: Document, issue: ZodIssue): number {
  const path = issue.path;
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (!isNode(node) || !node.range) continue;
    if (issue.code === 'unrecognized_keys' && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && issue.keys.includes(String(p.key.value)));
      if (pair && isScalar(pair.key) && pair.key.range) return pair.key.range[0];
    }
    return node.range[0];
  }
  return 0;
}

/** `rules[2].match.log`, or `(file)` for the root. */
export function issuePath(path: ReadonlyArray<string | number>): string {
  return path.length
    ? path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
        .join('')
        .replace(/^\./, '')
    : '(file)';
}

/** "unknown field "x"" / "unknown fields "x", "y"". */
export function unknownFieldsMessage(keys: readonly string[]): string {
  return `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => JSON.stringify(k)).join(', ')}`;
}
