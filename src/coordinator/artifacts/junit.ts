/**
 * JUnit XML → counts and failed cases. Shapes in the wild: a `<testsuites>` root (pytest ≥ 5.1,
 * jest-junit, vitest, go-junit-report v2) or a bare `<testsuite>` (surefire, older pytest);
 * suites may nest; a failure's text is in `message=` (pytest, vitest, surefire) or only in
 * the element body (jest-junit). Counts are taken from the test cases, not the attributes
 * (which some tools leave out or get wrong).
 */
import { XMLParser } from 'fast-xml-parser';
import type { ReportedTestCase } from '../../classify/index.js';

/** A failed test case: the shape the classifier takes as evidence (src/classify/reports.ts). */
export type FailedCase = ReportedTestCase;

export interface TestReportSummary {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  /** Seconds, summed over the cases. */
  time: number;
  /** The first failed/errored cases (bounded), in document order. */
  failed: FailedCase[];
}

const MAX_FAILED = 50;
const MAX_MESSAGE = 2000;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  textNodeName: '#text',
  isArray: (name) => ['testsuite', 'testcase', 'failure', 'error', 'skipped'].includes(name),
  processEntities: true,
  htmlEntities: false,
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: false,
});

type Node = Record<string, unknown>;

export function emptySummary(): TestReportSummary {
  return { tests: 0, failures: 0, errors: 0, skipped: 0, time: 0, failed: [] };
}

export class JunitParseError extends Error {
  override readonly name = 'JunitParseError';
}

/** Adds the cases of one JUnit XML document to `into`. Throws JunitParseError on non-JUnit input. */
export function addJunit(xml: string, file: string, into: TestReportSummary): TestReportSummary {
  let doc: Node;
  try {
    doc = parser.parse(xml, true) as Node;
  } catch (err) {
    throw new JunitParseError(`${file}: not well-formed XML: ${(err as Error).message}`);
  }
  const roots: Node[] = [];
  if (isNode(doc.testsuites)) roots.push(...asArray(doc.testsuites.testsuite));
  else if (doc.testsuite !== undefined) roots.push(...asArray(doc.testsuite));
  else throw new JunitParseError(`${file}: no <testsuites> or <testsuite> root element`);
  const visit = (suite: Node, parentName: string) => {
    const name = str(suite['@name']) || parentName;
    for (const c of asArray(suite.testcase)) addCase(c, name, file, into);
    for (const s of asArray(suite.testsuite)) visit(s, name);
  };
  for (const s of roots) visit(s, '');
  return into;
}

function addCase(c: Node, suite: string, file: string, into: TestReportSummary): void {
  into.tests++;
  const t = Number(str(c['@time']));
  if (Number.isFinite(t)) into.time += t;
  const failure = asArray(c.failure)[0];
  const error = asArray(c.error)[0];
  const bad = failure ?? error;
  if (bad !== undefined) {
    const kind = failure !== undefined ? 'failure' : 'error';
    if (kind === 'failure') into.failures++;
    else into.errors++;
    if (into.failed.length < MAX_FAILED)
      into.failed.push({ suite, classname: str(c['@classname']), name: str(c['@name']), kind, message: messageOf(bad), file });
    return;
  }
  if (c.skipped !== undefined) into.skipped++;
}

/** The message attribute, else the first non-empty line of the body. */
function messageOf(n: unknown): string {
  const m = isNode(n) ? str(n['@message']) : '';
  const body = isNode(n) ? str(n['#text']) : typeof n === 'string' ? n : '';
  const text = (
    m.trim() ||
    body
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.length > 0) ||
    ''
  ).trim();
  return text.length > MAX_MESSAGE ? text.slice(0, MAX_MESSAGE) + '…' : text;
}

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);
const asArray = (v: unknown): Node[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map((x) => (isNode(x) ? x : { '#text': x }));
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

/** "suite › name: message" — the one line the classifier and the UI show. */
export function caseLine(f: FailedCase): string {
  const who = [f.classname || f.suite, f.name].filter(Boolean).join(' › ');
  return `${f.kind === 'error' ? 'Test error' : 'Test failed'}: ${who}${f.message ? `: ${f.message}` : ''}`;
}
