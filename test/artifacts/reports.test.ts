/**
 * JUnit and dotenv readers on the shapes real tools write. The XML below is written here in
 * each tool's shape (root element, where the message sits), not copied:
 *   pytest --junitxml   https://github.com/pytest-dev/pytest/blob/main/src/_pytest/junitxml.py  (<testsuites><testsuite name="pytest">, failure message=)
 *   jest-junit          https://github.com/jest-community/jest-junit#readme  (<testsuites name="jest tests">, failure text only in the body)
 *   vitest junit        https://vitest.dev/guide/reporters#junit-reporter  (<testsuites name="vitest tests">, failure message= type="AssertionError")
 *   go-junit-report v2  https://github.com/jstemmer/go-junit-report  (<testsuites>, <properties>, failure message="Failed", output in the body)
 *   maven surefire      https://maven.apache.org/surefire/maven-surefire-plugin/xsd/surefire-test-report.xsd  (a bare <testsuite> root, <error> for exceptions)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addJunit, emptySummary, JunitParseError } from '../../src/coordinator/artifacts/junit.js';
import { parseDotenv } from '../../src/coordinator/artifacts/dotenv.js';
import { Classifier, EMPTY_RULESET } from '../../src/classify/index.js';
import type { FailureReport } from '../../src/protocol/failure.js';

const SHAPES: Record<string, { xml: string; tests: number; failures: number; errors: number; skipped: number; first: RegExp }> = {
  pytest: {
    xml: `<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="1" skipped="0" tests="2" time="0.03"><testcase classname="tests.test_api" name="test_ok" time="0.001"/><testcase classname="tests.test_api" name="test_status" time="0.002"><failure message="assert 500 == 200">def test_status():
&gt;   assert r.status == 200
E   assert 500 == 200</failure></testcase></testsuite></testsuites>`,
    tests: 2,
    failures: 1,
    errors: 0,
    skipped: 0,
    first: /^tests\.test_api › test_status: assert 500 == 200$/,
  },
  'jest-junit': {
    xml: `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="jest tests" tests="2" failures="1" errors="0" time="1.2">
  <testsuite name="cart" errors="0" failures="1" skipped="0" timestamp="2026-12-01T10:00:00" time="1.1" tests="2">
    <testcase classname="cart adds items" name="cart adds items" time="0.01"></testcase>
    <testcase classname="cart applies discount" name="cart applies discount" time="0.02">
      <failure>Error: expect(received).toBe(expected) // Object.is equality

Expected: 85
Received: 90
    at Object.&lt;anonymous&gt; (src/cart.test.js:12:20)</failure>
    </testcase>
  </testsuite>
</testsuites>`,
    tests: 2,
    failures: 1,
    errors: 0,
    skipped: 0,
    first: /cart applies discount: Error: expect\(received\)\.toBe\(expected\)/,
  },
  vitest: {
    xml: `<?xml version="1.0" encoding="UTF-8" ?>
<testsuites name="vitest tests" tests="3" failures="1" errors="0" time="0.5">
    <testsuite name="src/sum.test.ts" timestamp="2026-12-01T10:00:00.000Z" hostname="ci" tests="3" failures="1" errors="0" skipped="1" time="0.01">
        <testcase classname="src/sum.test.ts" name="sum &gt; adds" time="0.001"></testcase>
        <testcase classname="src/sum.test.ts" name="sum &gt; overflows" time="0.003">
            <failure message="expected 3 to be 4 // Object.is equality" type="AssertionError">
AssertionError: expected 3 to be 4 // Object.is equality
 ❯ src/sum.test.ts:9:22
            </failure>
        </testcase>
        <testcase classname="src/sum.test.ts" name="sum &gt; later" time="0"><skipped/></testcase>
    </testsuite>
</testsuites>`,
    tests: 3,
    failures: 1,
    errors: 0,
    skipped: 1,
    first: /sum > overflows: expected 3 to be 4/,
  },
  'go-junit-report': {
    xml: `<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="2" failures="1">
	<testsuite name="example.com/shop/cart" tests="2" failures="1" errors="0" id="0" hostname="ci" time="0.004" timestamp="2026-12-01T10:00:00Z">
		<properties><property name="go.version" value="go1.22.3 linux/amd64"></property></properties>
		<testcase name="TestAdd" classname="example.com/shop/cart" time="0.000"></testcase>
		<testcase name="TestDiscount" classname="example.com/shop/cart" time="0.001">
			<failure message="Failed"><![CDATA[    cart_test.go:21: got 90, want 85]]></failure>
		</testcase>
	</testsuite>
</testsuites>`,
    tests: 2,
    failures: 1,
    errors: 0,
    skipped: 0,
    first: /example\.com\/shop\/cart › TestDiscount: Failed/,
  },
  surefire: {
    xml: `<?xml version="1.0" encoding="UTF-8"?>
<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://maven.apache.org/surefire/maven-surefire-plugin/xsd/surefire-test-report.xsd" name="com.shop.CartTest" time="0.05" tests="3" errors="1" skipped="0" failures="1">
  <properties><property name="java.version" value="21"/></properties>
  <testcase name="adds" classname="com.shop.CartTest" time="0.001"/>
  <testcase name="discount" classname="com.shop.CartTest" time="0.01">
    <failure message="expected: &lt;85&gt; but was: &lt;90&gt;" type="org.opentest4j.AssertionFailedError"><![CDATA[org.opentest4j.AssertionFailedError: expected: <85> but was: <90>
	at com.shop.CartTest.discount(CartTest.java:20)]]></failure>
  </testcase>
  <testcase name="loads" classname="com.shop.CartTest" time="0.01">
    <error message="Connection refused" type="java.net.ConnectException">java.net.ConnectException: Connection refused</error>
  </testcase>
</testsuite>`,
    tests: 3,
    failures: 1,
    errors: 1,
    skipped: 0,
    first: /com\.shop\.CartTest › discount: expected: <85> but was: <90>/,
  },
};

describe('junit reader: the shapes real tools write', () => {
  for (const [tool, s] of Object.entries(SHAPES)) {
    test(tool, () => {
      const r = addJunit(s.xml, 'report.xml', emptySummary());
      assert.deepEqual(
        { tests: r.tests, failures: r.failures, errors: r.errors, skipped: r.skipped },
        { tests: s.tests, failures: s.failures, errors: s.errors, skipped: s.skipped },
      );
      const f = r.failed[0]!;
      assert.match(`${[f.classname || f.suite, f.name].filter(Boolean).join(' › ')}: ${f.message}`, s.first);
    });
  }
  test('not JUnit: a clear error', () => {
    assert.throws(() => addJunit('<coverage line-rate="1"/>', 'cov.xml', emptySummary()), JunitParseError);
    assert.throws(() => addJunit('<testsuite><testcase', 'bad.xml', emptySummary()), /bad\.xml: not well-formed XML/);
  });
});

describe('dotenv reader (GitLab limits)', () => {
  test('KEY=VALUE lines, comments, one quote pair stripped', () => {
    assert.deepEqual(parseDotenv('# build\nVERSION=1.2.3\nURL="https://x/y?a=b"\n\nexport TAG=v1\n', 'b.env'), {
      ok: true,
      variables: { VERSION: '1.2.3', URL: 'https://x/y?a=b', TAG: 'v1' },
    });
  });
  test('a bad line, too many variables, too large: refused naming the limit', () => {
    assert.match((parseDotenv('OK=1\nnot a pair\n', 'b.env') as { message: string }).message, /b\.env:2: expected KEY=VALUE/);
    const many = Array.from({ length: 21 }, (_, i) => `V${i}=x`).join('\n');
    assert.match((parseDotenv(many, 'b.env') as { message: string }).message, /21 variables; the limit is 20/);
    assert.match((parseDotenv(`A=${'x'.repeat(6000)}`, 'b.env') as { message: string }).message, /limit is 5120 bytes/);
  });
});

describe('classifier: test reports as evidence', () => {
  const report: FailureReport = {
    reason: 'script_failure',
    stage: 'step_script',
    exit_code: 1,
    executor: 'shell',
    message: 'exit code 1',
    image: null,
    registry: null,
  };
  const junit = addJunit(SHAPES['surefire']!.xml, 'target/surefire-reports/TEST-com.shop.CartTest.xml', emptySummary());
  test('a failed case becomes the first evidence, class build', () => {
    const v = new Classifier(EMPTY_RULESET).classify(report, 'some log\n', { reports: { junit } });
    assert.equal(v.class, 'build');
    assert.equal(v.cause, 'tests_failed');
    assert.equal(v.evidence[0]!.text, 'Test failed: com.shop.CartTest › discount: expected: <85> but was: <90>');
    assert.equal(v.evidence[0]!.source, 'junit:target/surefire-reports/TEST-com.shop.CartTest.xml');
    assert.match(v.summary, /2 of 3 tests failed/);
  });
  test('without reports, or for a non-script failure, nothing changes', () => {
    const c = new Classifier(EMPTY_RULESET);
    assert.deepEqual(c.classify(report, 'log\n', { reports: { junit } }).evidence.length > 0, true);
    assert.equal(c.classify(report, 'log\n').cause, 'script_failed');
    assert.equal(c.classify({ ...report, reason: 'runner_system_failure' }, 'log\n', { reports: { junit } }).class, 'infra');
  });
});
