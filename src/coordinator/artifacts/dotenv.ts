/**
 * `artifacts: reports: dotenv` as GitLab reads it: `KEY=VALUE` lines, no quotes processing
 * beyond stripping one pair, no multi-line values, no variable expansion; the file is at
 * most 5 KiB and holds at most 20 variables (GitLab's default limits); a bad line fails the
 * whole report with a message naming it.
 */
export const DOTENV_MAX_BYTES = 5 * 1024;
export const DOTENV_MAX_VARIABLES = 20;

export type DotenvResult = { ok: true; variables: Record<string, string> } | { ok: false; message: string };

export function parseDotenv(text: string, file: string): DotenvResult {
  if (Buffer.byteLength(text) > DOTENV_MAX_BYTES)
    return { ok: false, message: `${file}: dotenv report is ${Buffer.byteLength(text)} bytes; the limit is ${DOTENV_MAX_BYTES} bytes` };
  const variables: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) return { ok: false, message: `${file}:${i + 1}: expected KEY=VALUE, got ${JSON.stringify(line.slice(0, 80))}` };
    let value = m[2]!;
    const q = /^(['"])(.*)\1$/.exec(value);
    if (q) value = q[2]!;
    variables[m[1]!] = value;
  }
  const n = Object.keys(variables).length;
  if (n > DOTENV_MAX_VARIABLES)
    return { ok: false, message: `${file}: dotenv report defines ${n} variables; the limit is ${DOTENV_MAX_VARIABLES}` };
  return { ok: true, variables };
}
