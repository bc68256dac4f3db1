import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { CacheSpec } from '../../src/pipeline/model.js';
import { cacheKey, expandVariables, restoreCaches, saveCaches, type CacheRun } from '../../src/runner/cache.js';
import { tempDir } from '../helpers/tmp.js';

const spec = (o: Partial<CacheSpec>): CacheSpec => ({
  key: 'default',
  files: null,
  prefix: null,
  paths: [],
  untracked: false,
  policy: 'pull-push',
  when: 'on_success',
  fallback_keys: [],
  ...o,
});

describe('runner cache (real tar, real files)', () => {
  const dir = tempDir('faultline-cache-unit-');
  after(() => dir.dispose());
  let n = 0;
  const fresh = (): CacheRun & { lines: string[] } => {
    const buildDir = join(dir.path, `build-${n++}`);
    mkdirSync(buildDir, { recursive: true });
    const lines: string[] = [];
    return {
      cacheDir: join(dir.path, 'cache'),
      buildDir,
      env: { REF: 'main' },
      trace: { write: (c) => lines.push(String(c)), line: (t) => lines.push(t) },
      lines,
    };
  };

  test('variables expand; key: files hashes contents (with prefix), missing files give "default"', () => {
    assert.equal(expandVariables('deps-$REF-${REF}-$NOPE', { REF: 'main' }), 'deps-main-main-');
    const r = fresh();
    const s = spec({ files: ['lock.txt'], prefix: '$REF' });
    assert.equal(cacheKey(s, r), 'main-default');
    writeFileSync(join(r.buildDir, 'lock.txt'), 'a');
    const k1 = cacheKey(s, r);
    assert.match(k1, /^main-[0-9a-f]{40}$/);
    writeFileSync(join(r.buildDir, 'lock.txt'), 'b');
    assert.notEqual(cacheKey(s, r), k1, 'another content, another key');
    assert.equal(cacheKey(spec({ files: ['../etc/passwd'] }), r), 'default', 'no file outside the project');
  });

  test('globs pick files and whole dirs; restore into another checkout; pull never writes; dot keys refused', async () => {
    const a = fresh();
    mkdirSync(join(a.buildDir, 'out/deep'), { recursive: true });
    writeFileSync(join(a.buildDir, 'out/deep/x.o'), 'obj');
    writeFileSync(join(a.buildDir, 'out/keep.txt'), 'no');
    mkdirSync(join(a.buildDir, 'vendor'));
    writeFileSync(join(a.buildDir, 'vendor/v.txt'), 'v');
    const s = spec({ key: 'k-$REF', paths: ['**/*.o', 'vendor', 'missing/'] });
    const keys = await restoreCaches([s], a);
    assert.deepEqual(keys, ['k-main']);
    await saveCaches([s], a, true, keys);
    assert.ok(a.lines.includes('Created cache'), a.lines.join('\n'));
    assert.ok(a.lines.some((l) => l.startsWith('WARNING: missing/: no matching files')));

    const b = fresh();
    await restoreCaches([s], b);
    assert.ok(b.lines.includes('Successfully extracted cache'), b.lines.join('\n'));
    assert.equal(readFileSync(join(b.buildDir, 'out/deep/x.o'), 'utf8'), 'obj');
    assert.equal(readFileSync(join(b.buildDir, 'vendor/v.txt'), 'utf8'), 'v');
    assert.ok(!existsSync(join(b.buildDir, 'out/keep.txt')), 'not matched, not cached');

    // policy pull: the archive stays as it was
    writeFileSync(join(b.buildDir, 'vendor/v.txt'), 'changed');
    await saveCaches([{ ...s, policy: 'pull' }], b, true);
    assert.ok(b.lines.includes('Not uploading cache k-main due to policy'));
    const c = fresh();
    await restoreCaches([s], c);
    assert.equal(readFileSync(join(c.buildDir, 'vendor/v.txt'), 'utf8'), 'v');

    // when: on_success does not save after a failure; a dot-only key is refused with a warning
    const d = fresh();
    await saveCaches([spec({ key: 'x', paths: ['vendor'] })], d, false);
    assert.deepEqual(d.lines, []);
    await saveCaches([spec({ key: '..', paths: ['vendor'] })], d, true);
    assert.ok(
      (d.lines as string[]).some((l: string) => l.includes('cannot name a cache')),
      d.lines.join('\n'),
    );
    assert.ok(!existsSync(join(dir.path, 'cache', '..', 'cache.tar.gz')));
  });

  test('a broken archive is a warning, never a throw', async () => {
    const r = fresh();
    const s = spec({ key: 'broken', paths: ['x'] });
    mkdirSync(join(r.cacheDir, 'broken'), { recursive: true });
    writeFileSync(join(r.cacheDir, 'broken', 'cache.tar.gz'), 'not a tarball');
    await restoreCaches([s], r);
    assert.ok(
      r.lines.some((l) => l.startsWith('WARNING: Failed to extract cache')),
      r.lines.join('\n'),
    );
    rmSync(join(r.cacheDir, 'broken'), { recursive: true });
  });
});
