/** Reading stored zips (yauzl): the entry list, one entry as a stream, small entries as text. */
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';

export interface ZipEntryInfo {
  path: string;
  size: number;
}

function open(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(path, { lazyEntries: true, autoClose: false, strictFileNames: false, validateEntrySizes: true }, (err, zf) =>
      err || !zf ? reject(err ?? new Error('cannot open zip')) : resolve(zf),
    ),
  );
}

/** Calls `fn` for each entry until it returns true (stop) or the entries end. */
async function walk(path: string, fn: (e: yauzl.Entry, zf: yauzl.ZipFile) => Promise<boolean> | boolean): Promise<void> {
  const zf = await open(path);
  try {
    await new Promise<void>((resolve, reject) => {
      zf.on('error', reject);
      zf.on('end', () => resolve());
      zf.on('entry', (e: yauzl.Entry) => {
        Promise.resolve(fn(e, zf)).then((stop) => (stop ? resolve() : zf.readEntry()), reject);
      });
      zf.readEntry();
    });
  } finally {
    zf.close();
  }
}

/** Files (not directories) of the archive; throws on a malformed zip. */
export async function listZip(path: string): Promise<ZipEntryInfo[]> {
  const out: ZipEntryInfo[] = [];
  await walk(path, (e) => {
    if (!e.fileName.endsWith('/')) out.push({ path: e.fileName, size: e.uncompressedSize });
    return false;
  });
  return out;
}

/** One entry as a stream (closes the zip when the stream ends), or null when absent. */
export async function openZipEntry(path: string, name: string): Promise<{ stream: Readable; size: number } | null> {
  const zf = await open(path);
  return new Promise((resolve, reject) => {
    zf.on('error', reject);
    zf.on('end', () => {
      zf.close();
      resolve(null);
    });
    zf.on('entry', (e: yauzl.Entry) => {
      if (e.fileName !== name) return zf.readEntry();
      zf.openReadStream(e, (err, stream) => {
        if (err || !stream) {
          zf.close();
          return reject(err ?? new Error('cannot read entry'));
        }
        stream.once('close', () => zf.close());
        resolve({ stream, size: e.uncompressedSize });
      });
    });
    zf.readEntry();
  });
}

/** Every file entry whose size is at most `maxBytes`, as text (bigger ones are reported by name). */
export async function readZipTexts(path: string, maxBytes: number): Promise<{ texts: { path: string; text: string }[]; tooBig: string[] }> {
  const texts: { path: string; text: string }[] = [];
  const tooBig: string[] = [];
  await walk(path, async (e, zf) => {
    if (e.fileName.endsWith('/')) return false;
    if (e.uncompressedSize > maxBytes) {
      tooBig.push(e.fileName);
      return false;
    }
    const stream = await new Promise<Readable>((res, rej) => zf.openReadStream(e, (err, s) => (err || !s ? rej(err) : res(s))));
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    texts.push({ path: e.fileName, text: Buffer.concat(chunks).toString('utf8') });
    return false;
  });
  return { texts, tooBig };
}
