/**
 * Secrets: generation, hashing, and the hashed `api_tokens` table. The runner registration
 * token lives there too, under a reserved name, so every coordinator of one database accepts
 * it; it is never valid as an API token, nor an API token as it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Sql } from './engine.js';

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
export const newToken = (prefix: string): string => `${prefix}${randomBytes(24).toString('base64url')}`;

export function hashEquals(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The registration token's row name: not a name an API token can have (they are plain words). */
export const REGISTRATION_TOKEN_NAME = '@registration';

export type TokenChange = 'created' | 'unchanged' | 'replaced';

export class ApiTokenStore {
  constructor(private readonly sql: Sql) {}
  /** Set the API token with this name (the `default` one is the coordinator's own). */
  async set(name: string, plain: string, now: number): Promise<TokenChange> {
    if (name === REGISTRATION_TOKEN_NAME) throw new Error(`"${name}" is reserved for the registration token`);
    return this.put(name, plain, now);
  }
  /** Whether an API token with this name is stored (its value is not: only its hash). */
  async has(name: string): Promise<boolean> {
    return (await this.hashOf(name)) !== undefined;
  }
  /** An API token; the registration token is not one. */
  async isValid(plain: string): Promise<boolean> {
    const row = await this.sql.get('SELECT id FROM api_tokens WHERE token_hash = ? AND name <> ?', [
      sha256(plain),
      REGISTRATION_TOKEN_NAME,
    ]);
    return row !== undefined;
  }
  setRegistration(plain: string, now: number): Promise<TokenChange> {
    return this.put(REGISTRATION_TOKEN_NAME, plain, now);
  }
  hasRegistration(): Promise<boolean> {
    return this.has(REGISTRATION_TOKEN_NAME);
  }
  /** The registration token; an API token is not one. */
  async isRegistration(plain: string): Promise<boolean> {
    const hash = await this.hashOf(REGISTRATION_TOKEN_NAME);
    return hash !== undefined && hashEquals(hash, sha256(plain));
  }
  private async hashOf(name: string): Promise<string | undefined> {
    return (await this.sql.get<{ token_hash: string }>('SELECT token_hash FROM api_tokens WHERE name = ?', [name]))?.token_hash;
  }
  private async put(name: string, plain: string, now: number): Promise<TokenChange> {
    const before = await this.hashOf(name);
    const hash = sha256(plain);
    if (before !== undefined && hashEquals(before, hash)) return 'unchanged';
    await this.sql.run(
      `INSERT INTO api_tokens (name, token_hash, created_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at`,
      [name, hash, now],
    );
    return before !== undefined ? 'replaced' : 'created';
  }
}
