import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClassifierService, RulesLoadError, type ReloadResult } from '../../src/coordinator/rules/index.js';
import { tempDir } from '../helpers/tmp.js';
import { report } from './cases.js';

const rule = (id: string, pattern: string, cause: string) => `rules:
  - id: ${id}
    version: 1
    description: test rule
    match:
      log: '${pattern}'
    class: infra
    cause: ${cause}
    summary: matched
`;

describe('ClassifierService', () => {
  test('a bad edit is refused with file+line, and the old rules stay in force', () => {
    const d = tempDir();
    try {
      const file = join(d.path, '10-net.yml');
      writeFileSync(file, rule('net', 'ECONNRESET', 'net_reset'));
      const svc = new ClassifierService({ dir: d.path });
      assert.equal(svc.classify(report(), 'npm ERR! code ECONNRESET\n').cause, 'net_reset');

      writeFileSync(file, rule('net', '(?<!x)ECONNRESET', 'net_reset_v2')); // lookbehind: RE2 refuses
      const res = svc.reload();
      assert.equal(res.ok, false);
      assert.equal(res.errors[0]!.file, file);
      assert.equal(res.errors[0]!.line, 6);
      assert.match(res.errors[0]!.message, /rule net: .*invalid RE2 pattern/);
      assert.deepEqual(svc.lastErrors, res.errors);
      // still the old rule
      assert.equal(svc.classify(report(), 'npm ERR! code ECONNRESET\n').cause, 'net_reset');

      writeFileSync(file, rule('net', 'ECONNRESET', 'net_reset_v2'));
      assert.deepEqual(svc.reload(), { ok: true, errors: [] });
      assert.equal(svc.classify(report(), 'npm ERR! code ECONNRESET\n').cause, 'net_reset_v2');
    } finally {
      d.dispose();
    }
  });

  test('an invalid directory at start throws RulesLoadError naming the file', () => {
    const d = tempDir();
    try {
      writeFileSync(join(d.path, 'a.yml'), rule('x', 'ok', 'c').replace('class: infra', 'class: infrastructure'));
      assert.throws(
        () => new ClassifierService({ dir: d.path }),
        (e: unknown) => e instanceof RulesLoadError && /a\.yml:7:\d+: rule x: .*class/.test(e.message),
      );
    } finally {
      d.dispose();
    }
  });

  test('watch() reloads after a file changes, keeps old rules on a broken change, close() stops', async () => {
    const d = tempDir();
    const svc = new ClassifierService({ dir: d.path, debounceMs: 50 });
    try {
      assert.equal(svc.rules.rules.length, 0);
      const reloads: ReloadResult[] = [];
      const next = () =>
        new Promise<ReloadResult>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error('no reload within 5s')), 5000);
          const off = svc.onReload((r) => {
            clearTimeout(t);
            off();
            reloads.push(r);
            resolve(r);
          });
        });
      svc.watch();
      let p = next();
      writeFileSync(join(d.path, '10-disk.yml'), rule('disk', 'No space left', 'disk_full'));
      assert.equal((await p).ok, true);
      assert.equal(svc.classify(report(), 'write: No space left on device\n').cause, 'disk_full');

      p = next();
      writeFileSync(join(d.path, '20-broken.yml'), 'rules:\n  - id: [\n');
      const broken = await p;
      assert.equal(broken.ok, false);
      assert.equal(broken.errors[0]!.file, join(d.path, '20-broken.yml'));
      assert.equal(svc.classify(report(), 'write: No space left on device\n').cause, 'disk_full');

      svc.close();
      const before = reloads.length;
      writeFileSync(join(d.path, '20-broken.yml'), '');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(reloads.length, before, 'no reload after close()');
    } finally {
      svc.close();
      d.dispose();
    }
  });
});
