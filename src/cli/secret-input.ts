/**
 * Secrets on the command line are visible to every local user (ps, /proc/<pid>/cmdline,
 * which jobs can read too). They come from a file (`--…-file`, mode 0600) or the
 * environment instead; the plain flag still works but warns.
 */
import { readFileSync } from 'node:fs';
import { yellow } from './format.js';

export function readSecret(o: { value?: string; file?: string; env: string; flag: string }): string | undefined {
  if (o.value !== undefined && o.file !== undefined) throw new Error(`${o.flag} and ${o.flag}-file are mutually exclusive`);
  if (o.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(o.file, 'utf8');
    } catch (err) {
      throw new Error(`${o.flag}-file ${o.file}: ${(err as Error).message}`, { cause: err });
    }
    const t = text.trim();
    if (!t) throw new Error(`${o.flag}-file ${o.file} is empty`);
    return t;
  }
  if (o.value !== undefined) {
    console.error(
      yellow(
        `warning: ${o.flag} on the command line is visible to every local user and to jobs (ps, /proc/<pid>/cmdline); use ${o.flag}-file or ${o.env}`,
      ),
    );
    return o.value;
  }
  return process.env[o.env] || undefined;
}
