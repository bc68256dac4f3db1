import { readFileSync } from 'node:fs';
import { compilePipeline } from '../../config/index.js';
import { green, red, yellow } from '../format.js';

/** `faultline lint FILE`: exit 0 when valid (warnings allowed), 1 when refused. */
export function lintCommand(file: string): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    console.error(red(`cannot read ${file}: ${(e as Error).message}`));
    return 2;
  }
  const result = compilePipeline(text);
  for (const w of result.warnings) console.log(yellow(`${file}:${w.line}:${w.column}: warning: ${w.message}`));
  if (!result.ok) {
    for (const e of result.errors) console.log(red(`${file}:${e.line}:${e.column}: error: ${e.message}`));
    console.log(red(`${result.errors.length} error(s): pipeline refused`));
    return 1;
  }
  const m = result.model;
  console.log(green(`${file}: valid — ${m.jobs.length} job(s) in ${m.stages.length} stage(s)`));
  return 0;
}
