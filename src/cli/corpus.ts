/**
 * Reads a failure-log corpus directory (`<id>.yml` + `<id>.log` pairs, CORPUS-FORMAT.md).
 * Every problem names its file; a broken case is reported, never silently dropped.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse } from 'yaml';
import { CASE_FIELDS, caseMetaSchema, type CorpusCase } from '../classify/corpus.js';

export interface CorpusLoad {
  cases: CorpusCase[];
  errors: string[];
  warnings: string[];
}

export function readCorpus(dir: string): CorpusLoad {
  const errors: string[] = [];
  const warnings: string[] = [];
  const cases: CorpusCase[] = [];
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    return { cases, errors: [`cannot read corpus directory ${dir}: ${(e as Error).message}`], warnings };
  }
  const ymls = new Set(names.filter((n) => n.endsWith('.yml')).map((n) => n.slice(0, -4)));
  for (const n of names) {
    if (n.endsWith('.log') && !ymls.has(n.slice(0, -4))) errors.push(`${join(dir, n)}: no ${n.slice(0, -4)}.yml beside it`);
  }
  for (const id of ymls) {
    const file = join(dir, `${id}.yml`);
    let data: unknown;
    try {
      data = parse(readFileSync(file, 'utf8'));
    } catch (e) {
      errors.push(`${file}: YAML: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    const res = caseMetaSchema.safeParse(data);
    if (!res.success) {
      for (const i of res.error.issues) errors.push(`${file}: ${i.path.join('.') || '(document)'}: ${i.message}`);
      continue;
    }
    const extra = Object.keys(data as object).filter((k) => !CASE_FIELDS.includes(k));
    if (extra.length > 0) warnings.push(`${file}: unknown field(s) ignored: ${extra.join(', ')}`);
    if (res.data.id !== id) {
      errors.push(`${file}: id ${JSON.stringify(res.data.id)} differs from the file name ${basename(file)}`);
      continue;
    }
    const logFile = join(dir, `${id}.log`);
    if (!existsSync(logFile)) {
      errors.push(`${file}: ${id}.log is missing`);
      continue;
    }
    cases.push({ meta: res.data, log: readFileSync(logFile) });
  }
  return { cases, errors, warnings };
}
