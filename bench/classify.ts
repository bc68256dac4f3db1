/**
 * Classifier performance, against baselines measured in the same run:
 *  - log scan: Classifier over a 10 MB synthetic job log with 500 rules vs
 *    `grep -E -c -f patterns.txt` over the same file with the same log patterns
 *    (target ≥ 0.5× grep's MB/s);
 *  - structured conditions (reason/stage/exit_codes/executor): our compiled closures vs
 *    json-rules-engine evaluating the same conditions for the same facts (target ≥ 10×);
 *  - memory: RSS / heap growth while classifying a 10 MB log with the default 1 MiB
 *    window (bounded by the window, not by log size or rule count).
 * Runnable alone: `node --import tsx bench/classify.ts` prints a table + one JSON line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Engine } from 'json-rules-engine';
import {
  Classifier,
  compileRuleSet,
  ruleSchema,
  SHIPPED_RULES_DIR,
  type RuleDef,
  type RuleInput,
  type RuleSet,
} from '../src/classify/index.js';
import { loadRules } from '../src/coordinator/rules/index.js';
import { FAILURE_REASONS, FAILURE_STAGES, type FailureReport } from '../src/protocol/failure.js';
import { median } from './percentile.js';

const LOG_BYTES = 10 * 1024 * 1024;
const RULE_COUNT = 500;

function prng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Lines of the kind a CI log is made of: package managers, compilers, tests, services. */
const LINE_TEMPLATES: Array<(n: number) => string> = [
  (n) => `npm warn deprecated inflight@1.0.${n % 9}: This module is not supported, and leaks memory.`,
  (n) => `  ✓ renders the cart row ${n} (${n % 40} ms)`,
  (n) =>
    `[INFO] Downloading from central: https://repo.maven.apache.org/maven2/org/acme/lib${n % 300}/1.${n % 20}.0/lib${n % 300}-1.${n % 20}.0.pom`,
  (n) => `ok  \texample.com/shop/internal/pkg${n % 50}\t0.0${n % 90}s`,
  (n) =>
    `2024-05-14T09:12:${String(n % 60).padStart(2, '0')}.${n % 1000}Z INFO  http request handled method=GET path=/api/v1/orders/${n} status=200 duration_ms=${n % 97}`,
  (n) => `gcc -O2 -Wall -Iinclude -c src/module_${n % 200}.c -o build/module_${n % 200}.o`,
  (n) => `   Compiling crate-${n % 400} v0.${n % 30}.1`,
  (n) => `Collecting package-${n % 500}==1.${n % 12}.${n % 7}`,
  (n) => `  Downloading package_${n % 500}-1.${n % 12}.0-py3-none-any.whl (${n % 900} kB)`,
  (n) => `PASS src/components/Widget${n % 80}.test.tsx`,
  (n) => `Step ${n % 20}/20 : RUN apt-get install -y --no-install-recommends libpq-dev`,
  (n) => `\x1b[0;m\x1b[32;1m$ make -j4 target-${n % 60}\x1b[0;m`,
  (n) => `test tests::case_${n} ... ok`,
  (n) => `    at Object.<anonymous> (/builds/acme/web/node_modules/lib${n % 70}/index.js:${n % 400}:${n % 80})`,
  (n) => `warning: unused variable \`tmp_${n % 90}\``,
  (n) => `[${n % 24}/${(n % 24) + 10}] Linking CXX executable bin/tool_${n % 30}`,
];

export function syntheticLog(bytes = LOG_BYTES, seed = 7): Buffer {
  const rnd = prng(seed);
  const parts: string[] = [];
  let size = 0;
  for (let n = 0; size < bytes; n++) {
    const line = LINE_TEMPLATES[Math.floor(rnd() * LINE_TEMPLATES.length)]!(n) + '\n';
    parts.push(line);
    size += Buffer.byteLength(line);
  }
  // one real failure near the end, as a job log has
  parts.push('FAIL src/cart/totals.test.ts\n', 'Tests:       1 failed, 311 passed, 312 total\n');
  return Buffer.from(parts.join(''));
}

const TOOLS = [
  'terraform',
  'helm',
  'kubectl',
  'ansible',
  'gradle',
  'sbt',
  'bazel',
  'nx',
  'turbo',
  'poetry',
  'pnpm',
  'yarn',
  'composer',
  'bundler',
  'dotnet',
  'swift',
  'flutter',
  'deno',
  'bun',
  'mix',
];
const PHRASES = [
  'Error acquiring the state lock',
  'failed to fetch chart',
  'unable to recognize manifest',
  'UNREACHABLE! => changed',
  'Could not resolve all files for configuration',
  'Failed to download artifact',
  'remote cache is unavailable',
  'failed to restore cache',
  'lockfile is out of date',
  'checksum mismatch for',
  'certificate has expired',
  'quota exceeded for',
  'rate limit exceeded',
  'connection pool exhausted',
  'deadline exceeded while',
  'segmentation fault in',
  'signature verification failed',
  'license check failed',
  'snapshot mismatch in',
  'flaky test detected in',
  'coverage below threshold',
  'dependency cycle detected',
  'unsupported engine',
  'peer dependency conflict',
  'integrity check failed',
];

/** Realistic extra rules: literal-ish log patterns + structured conditions. */
export function generatedRules(n: number, seed = 11): RuleInput[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const out: RuleInput[] = [];
  for (let i = 0; i < n; i++) {
    const tool = TOOLS[i % TOOLS.length]!;
    const phrase = PHRASES[Math.floor(i / TOOLS.length) % PHRASES.length]!;
    const match: RuleInput['match'] = {
      reason: [pick(FAILURE_REASONS), pick(FAILURE_REASONS)],
      log_any: [`${tool}(\\[\\d+\\])?: ${phrase.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} [^ ]+`, `${tool.toUpperCase()}_E${1000 + i}\\b`],
    };
    if (rnd() < 0.5) match.stage = [pick(FAILURE_STAGES)];
    if (rnd() < 0.3) match.exit_codes = [1 + Math.floor(rnd() * 130), 137];
    if (rnd() < 0.3) match.executor = [pick(['docker', 'shell', 'kubernetes', 'custom'])];
    out.push({
      id: `gen-${tool}-${i}`,
      version: 1,
      description: `${tool}: ${phrase}`,
      match,
      class: rnd() < 0.5 ? 'infra' : 'build',
      cause: `${tool}_${i}`,
      summary: `${tool}: {match}`,
    });
  }
  return out;
}

function benchRules(): RuleSet {
  const shipped = loadRules(SHIPPED_RULES_DIR);
  if (!shipped.ok) throw new Error('shipped rules invalid');
  const defs: Array<{ def: RuleDef }> = shipped.rules.rules.map((r) => ({ def: r.def }));
  for (const g of generatedRules(RULE_COUNT - defs.length)) defs.push({ def: ruleSchema.parse(g) });
  return compileRuleSet(defs);
}

/** RE2 syntax → GNU ERE for grep (inline (?i) dropped: grep then runs case-sensitive). */
function toERE(src: string): string {
  return src
    .replace(/\(\?i\)/g, '')
    .replace(/\(\?i:/g, '(')
    .replace(/\(\?:/g, '(')
    .replace(/\\d/g, '[0-9]')
    .replace(/\\S/g, '[^[:space:]]')
    .replace(/\\s/g, '[[:space:]]')
    .replace(/\\t/g, '\t');
}

function time(fn: () => void, runs: number): number {
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    ts.push(performance.now() - t);
  }
  return median(ts);
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

function reportFor(i: number): FailureReport {
  return {
    reason: FAILURE_REASONS[i % FAILURE_REASONS.length]!,
    stage: FAILURE_STAGES[(i * 7) % FAILURE_STAGES.length]!,
    exit_code: i % 5 === 0 ? null : (i * 13) % 140,
    executor: ['docker', 'shell', 'kubernetes', 'custom'][i % 4]!,
    message: null,
    image: null,
    registry: null,
  };
}

async function structuredBench(rules: RuleSet, facts: number) {
  const reports = Array.from({ length: facts }, (_, i) => reportFor(i));
  // ours: every rule's structured conditions for every fact (no first-match shortcut)
  let hitsOurs = 0;
  const oursMs = time(() => {
    hitsOurs = 0;
    for (const r of reports) for (const rule of rules.rules) if (rule.structured(r)) hitsOurs++;
  }, 5);

  const engine = new Engine([], { allowUndefinedFacts: true });
  rules.rules.forEach((rule, i) => {
    const m = rule.def.match;
    const all: Array<{ fact: string; operator: string; value: unknown }> = [];
    if (m.reason) all.push({ fact: 'reason', operator: 'in', value: m.reason });
    if (m.stage) all.push({ fact: 'stage', operator: 'in', value: m.stage });
    if (m.exit_codes) all.push({ fact: 'exit_code', operator: 'in', value: m.exit_codes });
    if (m.executor) all.push({ fact: 'executor', operator: 'in', value: m.executor });
    if (m.kind) all.push({ fact: 'kind', operator: 'in', value: m.kind });
    if (all.length === 0) all.push({ fact: 'reason', operator: 'in', value: [...FAILURE_REASONS] });
    engine.addRule({ conditions: { all }, event: { type: rule.id }, priority: 1, name: String(i) });
  });
  // json-rules-engine has no regex operator; rules with image/registry conditions count
  // as structured-only there, which only flatters it.
  let hitsJre = 0;
  const t = performance.now();
  for (const r of reports) {
    const res = await engine.run({ ...r, kind: r.kind ?? null });
    hitsJre += res.events.length;
  }
  const jreMs = performance.now() - t;
  return { oursMs, jreMs, hitsOurs, hitsJre, evals: facts * rules.rules.length };
}

export async function benchClassify(): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(join(tmpdir(), 'faultline-bench-classify-'));
  try {
    const rules = benchRules();
    const log = syntheticLog();
    const logPath = join(dir, 'job.log');
    const patPath = join(dir, 'patterns.txt');
    writeFileSync(logPath, log);
    writeFileSync(patPath, rules.patterns.map((p) => toERE(p.source)).join('\n') + '\n');
    const mb = log.length / (1024 * 1024);
    const rep: FailureReport = { ...reportFor(0), reason: 'script_failure', stage: 'step_script', exit_code: 1, executor: 'docker' };

    // 1. memory first (RSS only grows): the default window, then the whole log for contrast
    const windowed = new Classifier(rules);
    const whole = new Classifier(rules, { windowBytes: log.length + 1 });
    const rssGrowth = (c: Classifier) => {
      const before = process.memoryUsage().rss;
      let peak = before;
      for (let i = 0; i < 10; i++) {
        c.classify(rep, log);
        peak = Math.max(peak, process.memoryUsage().rss);
      }
      return (peak - before) / 2 ** 20;
    };
    const heapBefore = process.memoryUsage().heapUsed;
    const windowRss = rssGrowth(windowed);
    const heapDelta = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    const wholeRss = rssGrowth(whole);
    const windowMs = time(() => windowed.classify(rep, log), 9);

    // 2. the whole 10 MB through the classifier (window = whole log) vs grep
    const verdict = whole.classify(rep, log);
    const classifyMs = time(() => whole.classify(rep, log), 7);
    let grepOut = '';
    const grepMs = time(() => {
      const g = spawnSync('grep', ['-E', '-c', '-f', patPath, logPath], { encoding: 'utf8' });
      if (g.status !== 0 && g.status !== 1) throw new Error(`grep failed: ${g.stderr}`);
      grepOut = g.stdout.trim();
    }, 5);
    const classifyMBs = mb / (classifyMs / 1000);
    const grepMBs = mb / (grepMs / 1000);

    // 3. structured conditions vs json-rules-engine
    const s = await structuredBench(rules, 400);
    if (s.hitsOurs !== s.hitsJre) throw new Error(`structured mismatch: ours ${s.hitsOurs} vs json-rules-engine ${s.hitsJre}`);

    return {
      classify_log_mb: round(mb),
      classify_rules: rules.rules.length,
      classify_log_patterns: rules.patterns.length,
      classify_verdict: `${verdict.class}/${verdict.cause}`,
      classify_whole_log_ms: round(classifyMs),
      classify_mb_per_s: round(classifyMBs, 1),
      grep_mb_per_s: round(grepMBs, 1),
      grep_matching_lines: Number(grepOut),
      classify_over_grep_ratio: round(classifyMBs / grepMBs),
      classify_default_window_ms: round(windowMs, 3),
      structured_evals: s.evals,
      structured_ns_per_eval: round((s.oursMs * 1e6) / s.evals, 1),
      jre_ns_per_eval: round((s.jreMs * 1e6) / s.evals, 1),
      structured_over_jre_ratio: round(s.jreMs / s.oursMs, 1),
      classify_window_rss_growth_mb: round(windowRss, 1),
      classify_window_heap_delta_mb: round(heapDelta, 1),
      classify_whole_log_rss_growth_mb: round(wholeRss, 1),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const TARGETS: Partial<Record<string, (v: number) => boolean>> = {
  classify_over_grep_ratio: (v) => v >= 0.5,
  structured_over_jre_ratio: (v) => v >= 10,
  classify_window_rss_growth_mb: (v) => v <= 32, // a few windows' worth, not the 10 MB log × runs
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = await benchClassify();
  const rows = Object.entries(results).map(([k, v]) => {
    const t = TARGETS[k];
    const verdict = t && typeof v === 'number' ? (t(v) ? 'meets target' : 'MISSES target') : '';
    return `${k.padEnd(34)} ${String(v).padStart(16)}  ${verdict}`;
  });
  console.log(['metric'.padEnd(34) + ' ' + 'value'.padStart(16), ...rows].join('\n'));
  console.log(JSON.stringify(results));
}
