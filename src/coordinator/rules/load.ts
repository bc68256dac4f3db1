/**
 * Reading the rule files of a directory: the file-system half of src/classify's loader
 * (which stays pure). Used by the coordinator, the CLI and the tests.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRuleTexts, type LoadResult, type RuleText } from '../../classify/index.js';

/** Rule files of a directory, in load order. */
export function ruleFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.'))
    .sort()
    .map((n) => join(dir, n));
}


/** Load every rule file of `dir`. All-or-nothing. */
export function loadRules(dir: string): LoadResult {
  let files: string[];
  try {
    files = ruleFiles(dir);
  } catch (e) {
    return { ok: false, errors: [{ file: dir, line: 0, column: 0, message: `cannot read rules directory: ${(e as Error).message}` }] };
  }
  const texts: RuleText[] = files.map((file) => {
    try {
      return { file, text: readFileSync(file, 'utf8') };
    } catch (e) {
      return { file, error: (e as Error).message };
    }
  });
  return loadRuleTexts(dir, texts);
}
