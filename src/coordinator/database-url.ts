/**
 * Which database the coordinator uses: the embedded SQLite file in the data dir (the default,
 * no URL), or PostgreSQL named by a postgres:// / postgresql:// URL (`database_url:` in
 * coordinator.yml, `--database-url`, `FAULTLINE_DATABASE_URL`) for several coordinators on one
 * database. Any other URL is refused naming where it came from — never silently run on SQLite instead.
 */

export class DatabaseUrlError extends Error {
  override readonly name = 'DatabaseUrlError';
}

export type DatabaseChoice = { kind: 'sqlite' } | { kind: 'postgres'; url: string };

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
  }
}

/** Why `url` is not a PostgreSQL URL faultline accepts, or null when it is one. */
export function databaseUrlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `"${redactUrl(url)}" is not a URL: expected postgres://user@host:5432/dbname (leave it out for the embedded SQLite store)`;
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:')
    return `"${u.protocol}" URLs are not supported: only postgres:// or postgresql:// (leave it out for the embedded SQLite store in the data dir)`;
  if (!u.hostname && !u.searchParams.get('host')) return 'names no host: expected postgres://user@host:5432/dbname';
  return null;
}

/** `url` as given by `from` (e.g. `--database-url`) → the engine to open. Throws naming `from`. */
export function chooseDatabase(url: string | undefined, from = 'databaseUrl'): DatabaseChoice {
  if (url === undefined) return { kind: 'sqlite' };
  const problem = url.trim() === '' ? 'is empty (leave it out for the embedded SQLite store)' : databaseUrlProblem(url);
  if (problem) throw new DatabaseUrlError(`${from}: ${problem}`);
  return { kind: 'postgres', url };
}
