/** Secrets: generation, hashing, and the hashed `api_tokens` table. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Sql } from './engine.js';

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
export const newToken = (prefix: string): string => `${prefix}${randomBytes(24).toString('base64url')}`;

export function hashEquals(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class ApiTokenStore {
  constructor(private readonly sql: Sql) {}
  /** Set the token with this name (the `default` one is the coordinator's own). */
  async set(name: string, plain: string, now: number): Promise<void> {
    await this.sql.run(
      `INSERT INTO api_tokens (name, token_hash, created_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at`,
      [name, sha256(plain), now],
    );
  }
  async isValid(plain: string): Promise<boolean> {
    return (await this.sql.get('SELECT id FROM api_tokens WHERE token_hash = ?', [sha256(plain)])) !== undefined;
  }
}
