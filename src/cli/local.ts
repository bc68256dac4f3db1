/**
 * The project's `.faultline/` as the commands find it. A `faultline up` or `faultline run`
 * holding it writes server.json ({ url, pid, host }) while it serves; the other commands in
 * that directory talk to it. When nothing serves it but a store is there (a finished
 * `faultline run`), a command opens the store itself: an in-process coordinator on a free
 * localhost port for as long as the command runs — with runners when the command starts
 * work (play, retry), without otherwise.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { resolveConnection, type Connection } from './api-client.js';
import type { Embedded } from './embedded.js';

export interface Session {
  conn: Connection;
  /** The in-process system this command started, if it started one. */
  local: Embedded | null;
  close(): Promise<void>;
}

interface ServerInfo {
  url: string;
  pid: number;
  host: string;
}

const serverPath = (dataDir: string) => join(dataDir, 'server.json');

export function writeServerFile(dataDir: string, url: string): void {
  writeFileSync(serverPath(dataDir), JSON.stringify({ url, pid: process.pid, host: hostname() } satisfies ServerInfo) + '\n', {
    mode: 0o600,
  });
}

export function removeServerFile(dataDir: string): void {
  try {
    const info = JSON.parse(readFileSync(serverPath(dataDir), 'utf8')) as ServerInfo;
    if (info.pid === process.pid) rmSync(serverPath(dataDir), { force: true });
  } catch {
    /* not ours, or gone */
  }
}

/** The URL of the live process serving this data dir (same host, pid alive), else null. */
export function runningServer(dataDir: string): string | null {
  try {
    const info = JSON.parse(readFileSync(serverPath(dataDir), 'utf8')) as ServerInfo;
    if (info.host !== hostname()) return null;
    process.kill(info.pid, 0);
    return info.url;
  } catch {
    return null;
  }
}

export interface SessionOptions {
  url?: string;
  token?: string;
  data?: string;
}

/** --url/--token or FAULTLINE_URL first; then what serves or holds the local data dir. */
export async function connect(o: SessionOptions, runners = 0): Promise<Session> {
  const none = async () => {};
  if (o.url || process.env.FAULTLINE_URL) return { conn: resolveConnection(o), local: null, close: none };
  const dataDir = resolve(o.data ?? '.faultline');
  const url = runningServer(dataDir);
  if (url) return { conn: resolveConnection({ ...o, url, data: dataDir }), local: null, close: none };
  if (!existsSync(join(dataDir, 'faultline.db'))) return { conn: resolveConnection(o), local: null, close: none };
  const { startEmbedded } = await import('./embedded.js');
  const local = await startEmbedded({ dataDir, port: 0, runners, quiet: true, includesFromWorktree: true });
  return { conn: { url: local.url, token: local.apiToken }, local, close: () => local.stop() };
}

/** `fn` with a session that is closed afterwards, whatever happens. */
export async function withSession<T>(o: SessionOptions, fn: (s: Session) => Promise<T>, runners = 0): Promise<T> {
  const s = await connect(o, runners);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}
