/** Secrets: generation, hashing, and the hashed `api_tokens` table. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from './db.js';

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
export const newToken = (prefix: string): string => `${prefix}${randomBytes(24).toString('base64url')}`;

export function hashEquals(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class ApiTokenStore {
  private readonly s;
  constructor(db: Db) {
    this.s = {
      upsert: db.prepare(
        `INSERT INTO api_tokens (name, token_hash, created_at) VALUES (?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at`,
      ),
      byHash: db.prepare('SELECT id FROM api_tokens WHERE token_hash = ?'),
    };
  }
  /** Set the token with this name (the `default` one is the coordinator's own). */
  set(name: string, plain: string, now: number): void {
    this.s.upsert.run(name, sha256(plain), now);
  }
  isValid(plain: string): boolean {
    return this.s.byHash.get(sha256(plain)) !== undefined;
  }
}
