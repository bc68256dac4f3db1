/**
 * The registration token lives in the database (hashed, in `api_tokens` under a reserved name)
 * beside the API token, so every coordinator of one database accepts both; neither is ever
 * accepted as the other. Real coordinator, real HTTP, real SQLite file.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setupTokens } from '../../src/coordinator/secrets.js';
import { Store } from '../../src/coordinator/store/index.js';
import { REGISTRATION_TOKEN_NAME, sha256 } from '../../src/coordinator/store/tokens.js';
import { tempDir } from '../helpers/tmp.js';
import { harness } from './helpers.js';

async function register(url: string, token: string): Promise<number> {
  const res = await fetch(`${url}/api/v1/runners/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ registration_token: token, name: 'r', tags: [], executor: 'shell', concurrency: 1 }),
  });
  await res.arrayBuffer();
  return res.status;
}

async function listPipelines(url: string, token: string): Promise<number> {
  const res = await fetch(`${url}/api/v1/pipelines`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

describe('tokens in the database', () => {
  test('the registration token is stored hashed under the reserved name, never in plain', async () => {
    const h = await harness({ registrationToken: 'reg-secret-value-1' });
    try {
      const rows = h.c.store.db.prepare('SELECT name, token_hash FROM api_tokens ORDER BY name').all() as Array<{
        name: string;
        token_hash: string;
      }>;
      assert.deepEqual(
        rows.map((r) => r.name),
        [REGISTRATION_TOKEN_NAME, 'default'],
      );
      assert.equal(rows[0]!.token_hash, sha256('reg-secret-value-1'));
      for (const f of ['faultline.db', 'faultline.db-wal'].map((f) => join(h.dir, f)).filter((f) => existsSync(f)))
        assert.equal(readFileSync(f).includes('reg-secret-value-1'), false, `the plain token is not in ${f}`);
    } finally {
      await h.close();
    }
  });

  test('an API token is never accepted as the registration token, nor the registration token as an API token', async () => {
    const h = await harness();
    try {
      const { apiToken, registrationToken } = h.c;
      assert.equal(await register(h.c.url, apiToken), 403);
      assert.equal(await listPipelines(h.c.url, registrationToken), 401);
      assert.equal(await register(h.c.url, registrationToken), 201);
      assert.equal(await listPipelines(h.c.url, apiToken), 200);
      // the table itself (reserved name, hashes, crossing) on both engines: test/coordinator/store/runners-tokens.test.ts
    } finally {
      await h.close();
    }
  });

  test('registration is checked against the database: a token set there by another coordinator counts at once', async () => {
    const h = await harness({ registrationToken: 'first-reg-token' });
    try {
      assert.equal(await register(h.c.url, 'first-reg-token'), 201);
      // What a second coordinator of this database does when it starts with a new token.
      assert.equal(await h.c.store.apiTokens.setRegistration('rotated-reg-token', Date.now()), 'replaced');
      assert.equal(await register(h.c.url, 'rotated-reg-token'), 201);
      assert.equal(await register(h.c.url, 'first-reg-token'), 403);
    } finally {
      await h.close();
    }
  });

  test('embedded default: generated once, saved 0600 in the data dir, the same on the next start', async () => {
    const tmp = tempDir();
    try {
      const a = await harness({}, tmp.path);
      const first = { reg: a.c.registrationToken, api: a.c.apiToken, created: a.c.tokens.created };
      await a.close();
      assert.deepEqual(first.created, { registration: true, api: true });
      assert.equal(statSync(join(tmp.path, 'registration-token')).mode & 0o777, 0o600);
      const b = await harness({}, tmp.path);
      try {
        assert.equal(b.c.registrationToken, first.reg);
        assert.equal(b.c.apiToken, first.api);
        assert.deepEqual(b.c.tokens.created, { registration: false, api: false });
        assert.equal(await register(b.c.url, first.reg), 201);
      } finally {
        await b.close();
      }
    } finally {
      tmp.dispose();
    }
  });

  test('on a shared database a coordinator given no token refuses to generate one over the stored one', async () => {
    const tmp = tempDir();
    const store = await Store.openSqlite(tmp.path);
    try {
      const replaced: Array<'registration' | 'api'> = [];
      const first = await setupTokens(store, join(tmp.path), { registrationToken: 'shared-reg', apiToken: 'shared-api' }, { shared: true });
      assert.deepEqual(first.created, { registration: false, api: false });
      // A second coordinator: its own data dir (no token files), the same database.
      const other = tempDir();
      try {
        await assert.rejects(
          () => setupTokens(store, other.path, {}, { shared: true }),
          /database already holds a registration token .*FAULTLINE_REGISTRATION_TOKEN.*revoke/,
        );
        await assert.rejects(
          () => setupTokens(store, other.path, { registrationToken: 'shared-reg' }, { shared: true }),
          /already holds an API token .*FAULTLINE_API_TOKEN/,
        );
        const again = await setupTokens(
          store,
          other.path,
          { registrationToken: 'shared-reg', apiToken: 'shared-api' },
          { shared: true, onReplaced: (w) => replaced.push(w) },
        );
        assert.equal(replaced.length, 0, 'the same tokens replace nothing');
        assert.equal(await store.apiTokens.isRegistration('shared-reg'), true);
        await setupTokens(
          store,
          other.path,
          { registrationToken: 'new-reg', apiToken: 'shared-api' },
          { shared: true, onReplaced: (w) => replaced.push(w) },
        );
        assert.deepEqual(replaced, ['registration']);
        assert.equal(await store.apiTokens.isRegistration('shared-reg'), false);
        assert.equal(again.registrationToken, 'shared-reg');
      } finally {
        other.dispose();
      }
      // Not shared (SQLite: this coordinator owns the database): a deleted token file means a new token, as before.
      rmSync(join(tmp.path, 'registration-token'));
      const fresh = await setupTokens(store, tmp.path, { apiToken: 'shared-api' });
      assert.equal(fresh.created.registration, true);
      assert.equal(await store.apiTokens.isRegistration(fresh.registrationToken), true);
    } finally {
      await store.close();
      tmp.dispose();
    }
  });
});
