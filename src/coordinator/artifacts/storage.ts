/**
 * Where artifact archives live. A small interface so an object store can replace the
 * data-dir implementation: write a stream under a key (bounded, atomic), read it back
 * as a stream or by byte range, delete it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export class ArtifactTooLargeError extends Error {
  override readonly name = 'ArtifactTooLargeError';
  constructor(readonly limit: number) {
    super(`the artifact is larger than the coordinator's limit of ${limit} bytes (${(limit / 1048576).toFixed(1)} MiB)`);
  }
}

export interface StoredObject {
  size: number;
  sha256: string;
}

export interface ArtifactStorage {
  /** Stores `body` under `key`, replacing what was there only once the whole body arrived. */
  put(key: string, body: Readable, limitBytes: number, verify?: (tmpPath: string) => Promise<void>): Promise<StoredObject>;
  /** Null when there is no such object. */
  stat(key: string): { size: number } | null;
  read(key: string, range?: { start: number; end: number }): Readable;
  /** A local path for random access (zip central directory), when the backend has one. */
  localPath(key: string): string;
  delete(key: string): void;
}

const SAFE_KEY = /^[A-Za-z0-9._/-]+$/;

/** Objects as files under `<dataDir>/artifacts/`, written to a temp file and renamed. */
export class FsArtifactStorage implements ArtifactStorage {
  private readonly root: string;
  private readonly tmp: string;
  private seq = 0;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'artifacts');
    this.tmp = join(this.root, '.tmp');
    mkdirSync(this.tmp, { recursive: true });
  }

  localPath(key: string): string {
    if (!SAFE_KEY.test(key) || key.includes('..')) throw new Error(`bad artifact key ${JSON.stringify(key)}`);
    return join(this.root, key);
  }

  async put(key: string, body: Readable, limitBytes: number, verify?: (tmpPath: string) => Promise<void>): Promise<StoredObject> {
    const dest = this.localPath(key);
    const tmp = join(this.tmp, `${process.pid}-${Date.now()}-${++this.seq}`);
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        if (size > limitBytes) return cb(new ArtifactTooLargeError(limitBytes));
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(tmp));
      await verify?.(tmp);
      mkdirSync(join(dest, '..'), { recursive: true });
      renameSync(tmp, dest);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    return { size, sha256: hash.digest('hex') };
  }

  stat(key: string): { size: number } | null {
    try {
      return { size: statSync(this.localPath(key)).size };
    } catch {
      return null;
    }
  }

  read(key: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.localPath(key), range ? { start: range.start, end: range.end } : {});
  }

  delete(key: string): void {
    rmSync(this.localPath(key), { force: true });
  }
}
