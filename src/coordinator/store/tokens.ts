/**
 * Secrets: generation, hashing, and the hashed `api_tokens` table. The runner registration
 * token lives there too, under a reserved name, so every coordinator of one database accepts
 * it; it is never valid as an API token, nor an API token as it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from './db.js';

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
  private readonly s;
  constructor(db: Db) {
    this.s = {
      upsert: db.prepare(
        `INSERT INTO api_tokens (name, token_hash, created_at) VALUES (?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at`,
      ),
      byHash: db.prepare('SELECT id FROM api_tokens WHERE token_hash = ? AND name <> ?'),
      hashOf: db.prepare('SELECT token_hash FROM api_tokens WHERE name = ?'),
    };
  }
  /** Set the API token with this name (the `default` one is the coordinator's own). */
  set(name: string, plain: string, now: number): TokenChange {
    if (name === REGISTRATION_TOKEN_NAME) throw new Error(`"${name}" is reserved for the registration token`);
    return this.put(name, plain, now);
  }
  /** Whether an API token with this name is stored (its value is not: only its hash). */
  has(name: string): boolean {
    return this.s.hashOf.get(name) !== undefined;
  }
  /** An API token; the registration token is not one. */
  isValid(plain: string): boolean {
    return this.s.byHash.get(sha256(plain), REGISTRATION_TOKEN_NAME) !== undefined;
  }
  setRegistration(plain: string, now: number): TokenChange {
    return this.put(REGISTRATION_TOKEN_NAME, plain, now);
  }
  hasRegistration(): boolean {
    return this.has(REGISTRATION_TOKEN_NAME);
  }
  /** The registration token; an API token is not one. */
  isRegistration(plain: string): boolean {
    const row = this.s.hashOf.get(REGISTRATION_TOKEN_NAME) as { token_hash: string } | undefined;
    return row !== undefined && hashEquals(row.token_hash, sha256(plain));
  }
  private put(name: string, plain: string, now: number): TokenChange {
    const before = this.s.hashOf.get(name) as { token_hash: string } | undefined;
    const hash = sha256(plain);
    if (before && hashEquals(before.token_hash, hash)) return 'unchanged';
    this.s.upsert.run(name, hash, now);
    return before ? 'replaced' : 'created';
  }
}
