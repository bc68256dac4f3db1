/**
 * The registration and API tokens: given (option/env), else read from the data dir,
 * else generated once and saved there with mode 0600. The API token is stored hashed
 * in the DB; the plain one in `<dataDir>/api-token` is for the local CLI.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from './store/index.js';
import { newToken } from './store/tokens.js';

function fileToken(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const t = readFileSync(path, 'utf8').trim();
  return t || undefined;
}

function save(path: string, token: string): void {
  if (fileToken(path) === token) return;
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // mode is ignored when the file already existed
}

export function setupTokens(store: Store, dataDir: string, opts: { registrationToken?: string; apiToken?: string }) {
  const regPath = join(dataDir, 'registration-token');
  const registrationToken =
    opts.registrationToken ?? process.env.FAULTLINE_REGISTRATION_TOKEN ?? fileToken(regPath) ?? newToken('flreg_');
  save(regPath, registrationToken);

  const apiPath = join(dataDir, 'api-token');
  const apiToken = opts.apiToken ?? process.env.FAULTLINE_API_TOKEN ?? fileToken(apiPath) ?? newToken('flapi_');
  save(apiPath, apiToken);
  store.apiTokens.set('default', apiToken, Date.now());
  return { registrationToken, apiToken };
}
