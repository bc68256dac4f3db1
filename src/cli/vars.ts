/** `--var KEY=VALUE` options (lint, run) → variables; the error names the bad one. */
export function parseVars(list: readonly string[] | undefined): { variables: Record<string, string> } | { error: string } {
  const variables: Record<string, string> = {};
  for (const kv of list ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) return { error: `--var ${kv}: expected KEY=VALUE` };
    variables[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return { variables };
}
