/**
 * Prints the compatibility corpus figures for a source tree (default: this one), e.g. to compare
 * main with a helper's worktree: `node --import tsx test/config/compat-corpus-report.ts /work/wt/x [--json]`.
 */
import { resolve } from 'node:path';
import { formatSummary, runCorpus, summarize } from './compat-corpus.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const tree = resolve(args.find((a) => !a.startsWith('--')) ?? new URL('../..', import.meta.url).pathname);
const results = await runCorpus(tree);
const s = summarize(results);
if (json) {
  const row = (r: (typeof results)[number]) => ({ id: r.meta.id, expected: r.meta.expected, pass: r.pass, reason: r.reason ?? null });
  console.log(JSON.stringify({ tree, ...s, refusedValid: s.refusedValid.map(row), failedBroken: s.failedBroken.map(row) }, null, 2));
} else {
  console.log(formatSummary(s, tree));
}
