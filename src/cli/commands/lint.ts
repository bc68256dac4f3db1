import { readFileSync } from 'node:fs';
import { compilePipeline } from '../../config/index.js';
import { green, red, yellow } from '../format.js';

/**
 * `faultline lint FILE [--executor E]`: exit 0 when valid (warnings allowed), 1 when refused.
 * With an executor, also what that executor would do with the jobs: `image:` ignored by
 * shell (one warning), `services:` refused by every executor but docker.
 */
export function lintCommand(file: string, opts: { executor?: string } = {}): number {
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
  const ex = opts.executor;
  if (ex) {
    const withImage = m.jobs.filter((j) => j.image);
    if (ex === 'shell' && withImage.length)
      console.log(yellow(`${file}:${withImage[0]!.line}:1: warning: image: is ignored by the shell executor (jobs: ${withImage.map((j) => j.name).join(', ')})`));
    const withServices = m.jobs.filter((j) => j.services?.length);
    if (ex !== 'docker' && withServices.length)
      console.log(
        yellow(`${file}:${withServices[0]!.line}:1: warning: services: needs the docker executor; the ${ex} executor refuses these jobs (${withServices.map((j) => j.name).join(', ')})`),
      );
  }
  console.log(green(`${file}: valid — ${m.jobs.length} job(s) in ${m.stages.length} stage(s)`));
  return 0;
}
