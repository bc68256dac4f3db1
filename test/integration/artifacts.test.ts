/**
 * Artifacts end to end: a real coordinator process and a real shell runner process (the
 * `faultline` CLI), real HTTP, zips streamed both ways, a real SQLite file. Each job gets a
 * fresh project dir (no repository), so a file a later job sees came through artifacts.
 *
 * JUnit shape: pytest's `--junitxml` output (a <testsuites> root, failure message in
 * `message=`, traceback in the body), see https://github.com/pytest-dev/pytest/blob/main/src/_pytest/junitxml.py
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import yauzl from 'yauzl';
import { jobsByName, startCoordinator, startRunnerProcess, userApi, type CoordinatorProc, type Proc } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';

const JUNIT = `<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="3" time="0.051" timestamp="2026-12-01T10:00:00.000000" hostname="ci"><testcase classname="tests.test_cart" name="test_total" time="0.001" /><testcase classname="tests.test_cart" name="test_discount" time="0.002"><failure message="AssertionError: assert 90 == 85&#10; +  where 90 = apply_discount(100, 0.15)">def test_discount():
&gt;       assert apply_discount(100, 0.15) == 85
E       AssertionError: assert 90 == 85

tests/test_cart.py:12: AssertionError</failure></testcase><testcase classname="tests.test_cart" name="test_slow" time="0.000"><skipped type="pytest.skip" message="slow">tests/test_cart.py:20: slow</skipped></testcase></testsuite></testsuites>`;

function zipNames(buf: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) =>
    yauzl.fromBuffer(buf, { lazyEntries: false }, (err, zf) => {
      if (err || !zf) return reject(err);
      const names: string[] = [];
      zf.on('entry', (e: yauzl.Entry) => names.push(e.fileName));
      zf.on('end', () => resolve(names.sort()));
      zf.on('error', reject);
    }),
  );
}

describe('artifacts, reports and dotenv between jobs (real coordinator + runner processes)', () => {
  const dir = tempDir();
  let coord: CoordinatorProc;
  let runner: Proc;
  const api = userApi(
    () => coord.url,
    () => coord.apiToken,
  );
  before(async () => {
    coord = await startCoordinator({
      dataDir: join(dir.path, 'data'),
      extraArgs: ['--max-artifact-size', '1', '--artifact-sweep-interval', '1'],
    });
    runner = await startRunnerProcess({ url: coord.url, registrationToken: coord.registrationToken, concurrency: 3 });
  });
  after(async () => {
    await runner?.kill();
    await coord?.kill();
    dir.dispose();
  });

  test('build → test: paths with ** and exclude, dependencies filtering, needs artifacts: false, dotenv', async () => {
    const yaml = `
stages: [build, test]
build:
  stage: build
  script:
    - mkdir -p dist out/a/b
    - echo app > dist/app.txt
    - echo map > dist/app.js.map
    - echo js > out/a/b/c.js
    - echo not-kept > log.txt
    - echo "VERSION=1.2.3" > build.env
  artifacts:
    paths: [dist/, "out/**/*.js"]
    exclude: ["dist/**/*.map"]
    reports:
      dotenv: build.env
other:
  stage: build
  script: [mkdir -p other, echo o > other/o.txt]
  artifacts: {paths: [other/]}
test-all:
  stage: test
  script:
    - test -f dist/app.txt && test -f out/a/b/c.js && test -f other/o.txt
    - test ! -e dist/app.js.map && test ! -e log.txt
    - test "$VERSION" = 1.2.3
test-deps:
  stage: test
  dependencies: [other]
  script: [test -f other/o.txt, test ! -e dist/app.txt, test -z "$VERSION"]
test-needs:
  stage: test
  needs: [{job: build, artifacts: false}, other]
  script: [test ! -e dist/app.txt, test -f other/o.txt]
`;
    const p = await api.waitPipeline((await api.createPipeline(yaml)).id);
    const j = jobsByName(p);
    for (const n of ['test-all', 'test-deps', 'test-needs']) assert.equal(j[n]!.status, 'success', `${n}: ${await api.trace(j[n]!.id)}`);
    assert.equal(p.status, 'success');
    assert.match(
      await api.trace(j['build']!.id),
      /dist\/: found 2 matching artifact files and directories\n[^]*dist\/\*\*\/\*.map: excluded 1 files/,
    );
    assert.match(await api.trace(j['test-all']!.id), /Downloading artifacts for build/);

    // The API: the zip, its listing, one file; the job page's data.
    const res = await fetch(`${coord.url}/api/v1/jobs/${j['build']!.id}/artifacts`, {
      headers: { authorization: `Bearer ${coord.apiToken}` },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/zip');
    assert.deepEqual(await zipNames(Buffer.from(await res.arrayBuffer())), ['dist/app.txt', 'out/a/b/c.js']);
    const one = await api.call<string>('GET', `/api/v1/jobs/${j['build']!.id}/artifacts/dist/app.txt`);
    assert.equal(one.status, 200);
    assert.equal(one.body, 'app\n');
    const list = await api.call<{ files: { path: string }[] }>('GET', `/api/v1/jobs/${j['build']!.id}/artifacts?list=true`);
    assert.deepEqual(
      list.body.files.map((f) => f.path),
      ['dist/app.txt', 'out/a/b/c.js'],
    );
    assert.equal((await api.call('GET', `/api/v1/jobs/${j['build']!.id}/artifacts/nope.txt`)).status, 404);
    const job = await api.job(j['build']!.id);
    assert.deepEqual(
      job.artifacts?.map((a) => a.kind),
      ['archive', 'dotenv'],
    );
    // Without a token: refused.
    assert.equal((await fetch(`${coord.url}/api/v1/jobs/${j['build']!.id}/artifacts`)).status, 401);
  });

  test('when: always keeps the artifacts of a failed job; a later when: always job gets them', async () => {
    const yaml = `
stages: [build, report]
build:
  stage: build
  script: [mkdir -p logs, echo crash-details > logs/crash.txt, exit 3]
  artifacts: {when: always, paths: [logs/]}
collect:
  stage: report
  when: always
  script: [grep crash-details logs/crash.txt]
`;
    const p = await api.waitPipeline((await api.createPipeline(yaml)).id);
    const j = jobsByName(p);
    assert.equal(j['build']!.status, 'failed');
    assert.equal(j['build']!.failure?.reason, 'script_failure', "the failure stays the script's");
    assert.equal(j['collect']!.status, 'success', await api.trace(j['collect']!.id));
  });

  test('junit: a failing test case is the first evidence and the failure is build', async () => {
    const xmlFile = join(dir.path, 'report.xml');
    writeFileSync(xmlFile, JUNIT);
    const yaml = `
unit:
  script: [cp ${xmlFile} report.xml, echo "1 failed, 1 passed, 1 skipped", exit 1]
  artifacts:
    when: always
    reports: {junit: report.xml}
`;
    const p = await api.waitPipeline((await api.createPipeline(yaml)).id);
    const j = await api.job(jobsByName(p)['unit']!.id);
    assert.equal(j.status, 'failed');
    assert.equal(j.failure?.class, 'build');
    assert.match(j.failure!.evidence[0]!.text, /tests\.test_cart › test_discount: AssertionError: assert 90 == 85/);
    assert.equal(j.failure!.evidence[0]!.source, 'junit:report.xml');
    assert.deepEqual(
      { tests: j.test_report?.tests, failures: j.test_report?.failures, errors: j.test_report?.errors, skipped: j.test_report?.skipped },
      { tests: 3, failures: 1, errors: 0, skipped: 1 },
    );
  });

  test('an artifact over the size limit: a clear error naming the limit, not a script failure', async () => {
    const yaml = `
big:
  script: [mkdir -p big, head -c 3000000 /dev/urandom > big/blob.bin]
  artifacts: {paths: [big/]}
`;
    const p = await api.waitPipeline((await api.createPipeline(yaml)).id);
    const j = jobsByName(p)['big']!;
    assert.equal(j.status, 'failed');
    assert.equal(j.failure?.reason, 'runner_configuration_error');
    assert.equal(j.failure?.stage, 'upload');
    assert.match(j.failure!.message ?? '', /limit of 1048576 bytes/);
    assert.match(await api.trace(j.id), /ERROR: Uploading artifacts as "archive" to coordinator\.\.\. 413/);
  });

  test('an expired dependency: missing_dependency_failure, infra, never a script failure', async () => {
    const yaml = `
stages: [build, deploy]
build:
  stage: build
  script: [mkdir -p dist, echo x > dist/x]
  artifacts: {paths: [dist/], expire_in: 1 second}
deploy:
  stage: deploy
  when: manual
  script: [cat dist/x]
`;
    const id = (await api.createPipeline(yaml)).id;
    let p = await api.waitPipeline(id, (x) => jobsByName(x)['build']?.status === 'success');
    await new Promise((r) => setTimeout(r, 3000)); // expiry (1 s) + a sweep (every 1 s)
    await api.play(jobsByName(p)['deploy']!.id);
    p = await api.waitPipeline(id, (x) => jobsByName(x)['deploy']?.status === 'failed' && jobsByName(x)['deploy']?.failure !== null);
    const d = jobsByName(p)['deploy']!;
    assert.equal(d.failure?.reason, 'missing_dependency_failure');
    assert.equal(d.failure?.stage, 'download_artifacts');
    assert.equal(d.failure?.class, 'infra');
    assert.match(d.failure!.message ?? '', /artifacts of job build .* are missing/);
  });
});
