/**
 * The runner host's environment as jobs see it (the shell executor passes it on, as
 * gitlab-runner's does), minus the runner's and coordinator's own secrets: faultline's
 * token variables by name, and any variable holding a secret this process registered
 * (runner tokens, registration tokens, an embedded coordinator's tokens).
 */
const SECRET_NAME = /^FAULTLINE_(?:.*_)?(?:TOKEN|TOKEN_FILE|SECRET|PASSWORD|DATABASE_URL)$/; // a database URL may hold its password

const secrets = new Set<string>();

/** Never hand `value` to a job through the host environment. */
export function registerRunnerSecret(value: string | null | undefined): void {
  if (value && value.length >= 8) secrets.add(value);
}

export function hostEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || SECRET_NAME.test(k)) continue;
    if (secrets.size && [...secrets].some((s) => v.includes(s))) continue;
    out[k] = v;
  }
  return out;
}
