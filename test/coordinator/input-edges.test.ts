/** Edges found in review: refs that git could read as options, times past Date's range, rule edits. */
import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SHIPPED_RULES_DIR } from '../../src/classify/index.js';
import { tempDir } from '../helpers/tmp.js';
import { harness } from './helpers.js';

test('a ref that git could read as an option is refused with a 4xx naming the field', async () => {
  const h = await harness();
  try {
    for (const ref of ['--upload-pack=touch /tmp/x; git-upload-pack', 'a..b', 'has space']) {
      const r = await h.api('POST', '/api/v1/pipelines', { yaml: 'j:\n  script: echo\n', ref });
      assert.ok(r.status >= 400 && r.status < 500, `${ref} → ${r.status}`);
      assert.match(JSON.stringify(r.body), /ref/);
    }
    const ok = await h.api('POST', '/api/v1/pipelines', { yaml: 'j:\n  script: echo\n', ref: 'feature/login-2' });
    assert.equal(ok.status, 201);
  } finally {
    await h.close();
  }
});

test('times past the range of a Date are a 400, not a 500', async () => {
  const h = await harness();
  try {
    for (const path of [
      '/api/v1/failures/summary?since=999999999w',
      '/api/v1/failures?since=999999999w',
      '/api/v1/mttr?since=999999999w',
    ]) {
      const r = await h.api('GET', path);
      assert.equal(r.status, 400, `${path} → ${r.status} ${JSON.stringify(r.body)}`);
      assert.match(r.body.error, /since/);
    }
  } finally {
    await h.close();
  }
});

test('editing a rules file is picked up without a restart', async () => {
  const dir = tempDir();
  cpSync(SHIPPED_RULES_DIR, dir.path, { recursive: true });
  const h = await harness({ rulesDir: dir.path });
  try {
    const classifier = h.c.classifier as unknown as { rules: { rules: Array<{ id: string }> } };
    const before = classifier.rules.rules.length;
    writeFileSync(
      join(dir.path, '99-extra.yml'),
      'rules:\n  - id: extra-rule\n    version: 1\n    description: a rule added while the coordinator runs\n    match: {reason: script_failure, log: "EXTRA_MARKER"}\n    class: infra\n    cause: extra_cause\n    summary: extra\n',
    );
    const deadline = Date.now() + 60_000; // bounds a missed reload; a loaded machine delays the watcher
    while (classifier.rules.rules.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(classifier.rules.rules.length, before + 1, JSON.stringify((h.c.classifier as { lastErrors?: unknown }).lastErrors));
    assert.ok(classifier.rules.rules.some((r) => r.id === 'extra-rule'));
  } finally {
    await h.close();
    dir.dispose();
  }
});
