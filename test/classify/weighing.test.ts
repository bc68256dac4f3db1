/**
 * The decision procedure of src/classify/README.md as a table, with the shipped rules:
 * echoed commands and script text are never evidence, a failure summary outweighs infra
 * words in test names and assertions, a tool's own error line in the failing command's
 * output outweighs a summary, runner-side stages lean infra.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Classifier, ruleSetFrom, SHIPPED_RULES_DIR } from '../../src/classify/index.js';
import { loadRules } from '../../src/coordinator/rules/index.js';
import type { FailureReport } from '../../src/protocol/failure.js';
import { report } from './cases.js';

const rules = loadRules(SHIPPED_RULES_DIR);
if (!rules.ok) throw new Error(JSON.stringify(rules.errors));
const classifier = new Classifier(rules.rules);

/** A gitlab-runner shaped job log around `body` (lines of the script's output). */
const gitlab = (...body: string[]) =>
  [
    'Running with gitlab-runner 16.11.0 (91a27b2a)',
    '  on docker-auto-scale z3WU8uu-',
    'Preparing the "docker" executor',
    'Getting source from Git repository',
    'Executing "step_script" stage of the job script',
    ...body,
    'Cleaning up project directory and file based variables',
    'ERROR: Job failed: exit code 1',
    '',
  ].join('\n');

interface Row {
  name: string;
  log: string;
  report?: Partial<FailureReport>;
  class: 'infra' | 'build' | 'unknown';
  cause: string;
  fallback?: boolean;
}

const TABLE: Row[] = [
  // --- the misclassifications named in issue 9 ---
  {
    name: 'jest test NAMED "… when Could not resolve host" that fails → build (was dns_failure)',
    log: gitlab(
      '$ npx jest --ci',
      ' FAIL  src/http/retry.test.ts',
      '  ● fetchWithRetry › reports a clear error when Could not resolve host',
      '',
      '    expect(received).toThrow(expected)',
      '    Expected substring: "Could not resolve host: api.example.invalid"',
      '',
      'Tests:       1 failed, 41 passed, 42 total',
    ),
    class: 'build',
    cause: 'test_failure',
  },
  {
    name: 'Go test ASSERTING "no space left on device" → build (was disk_full)',
    log: gitlab(
      '$ go test ./...',
      'ok  \texample.com/store/cache\t0.021s',
      '--- FAIL: TestWriteReportsENOSPC (0.00s)',
      '    writer_test.go:58: expected error "no space left on device", got <nil>',
      'FAIL',
      'FAIL\texample.com/store/writer\t0.014s',
    ),
    class: 'build',
    cause: 'test_failure',
  },
  {
    name: "echoed `$ grep -q 'Could not resolve host' build.log` is not evidence → fallback build",
    log: gitlab('$ make build > build.log 2>&1', "$ grep -q 'Could not resolve host' build.log && exit 1"),
    class: 'build',
    cause: 'script_failed',
    fallback: true,
  },
  {
    name: 'Jenkins `+ grep …` (set -x) is not evidence either',
    log: ['[Pipeline] sh', "+ grep -q 'No space left on device' /var/log/build.log", 'Finished: FAILURE', ''].join('\n'),
    report: { executor: 'jenkins' },
    class: 'build',
    cause: 'script_failed',
    fallback: true,
  },
  {
    name: "GitHub Actions: the step's script text inside ##[group]Run … ##[endgroup] is not evidence",
    log: [
      '2024-05-07T14:00:05.1800000Z ##[group]Run if grep -q "Could not resolve host" out.log; then',
      '2024-05-07T14:00:05.1900000Z if grep -q "Could not resolve host" out.log; then',
      '2024-05-07T14:00:05.2000000Z   echo "curl: (6) Could not resolve host: mirror.example.com"; exit 1',
      '2024-05-07T14:00:05.2100000Z fi',
      '2024-05-07T14:00:05.5500000Z shell: /usr/bin/bash -e {0}',
      '2024-05-07T14:00:05.9200000Z ##[endgroup]',
      '2024-05-07T14:00:09.9900000Z ##[error]Process completed with exit code 1.',
      '',
    ].join('\n'),
    report: { executor: 'github-actions' },
    class: 'build',
    cause: 'script_failed',
    fallback: true,
  },
  // --- the tool's own error line in the failing command's output is infra evidence ---
  {
    name: "curl's own DNS error line in the failing command → infra dns_failure",
    log: gitlab('$ curl -fsS https://mirror.example.com/tool.tgz -o tool.tgz', 'curl: (6) Could not resolve host: mirror.example.com'),
    class: 'infra',
    cause: 'dns_failure',
  },
  {
    name: 'timestamped GitHub Actions output: the anchored tool line still matches',
    log: [
      '2024-05-07T14:00:05.1800000Z ##[group]Run curl -fsS https://mirror.example.com/a',
      '2024-05-07T14:00:05.1900000Z curl -fsS https://mirror.example.com/a',
      '2024-05-07T14:00:05.9200000Z ##[endgroup]',
      '2024-05-07T14:00:06.6600000Z curl: (6) Could not resolve host: mirror.example.com',
      '2024-05-07T14:00:09.9900000Z ##[error]Process completed with exit code 6.',
      '',
    ].join('\n'),
    report: { executor: 'github-actions', exit_code: 6 },
    class: 'infra',
    cause: 'dns_failure',
  },
  {
    name: 'npm ci itself reports the registry timing out (after earlier tests passed) → infra',
    log: gitlab(
      '$ npm ci',
      'npm ERR! code ETIMEDOUT',
      'npm ERR! network request to https://registry.npmjs.org/left-pad failed, reason: connect ETIMEDOUT 104.16.1.35:443',
    ),
    class: 'infra',
    cause: 'dependency_download_failed',
  },
  {
    name: 'a tool error from an EARLIER command that went on does not explain the failing tests → build',
    log: gitlab(
      '$ curl -fsS https://cache.example.com/warm || true',
      'curl: (6) Could not resolve host: cache.example.com',
      '$ npx jest --ci',
      ' FAIL  src/cart/totals.test.ts',
      'Tests:       1 failed, 11 passed, 12 total',
    ),
    class: 'build',
    cause: 'test_failure',
  },
  {
    name: 'the same earlier tool error with no summary at all still decides (rank 2 beats the fallback)',
    log: gitlab(
      '$ curl -fsS https://cache.example.com/warm || true',
      'curl: (6) Could not resolve host: cache.example.com',
      '$ ./run-checks.sh',
    ),
    class: 'infra',
    cause: 'dns_failure',
  },
  {
    name: 'a compiler killed by the OOM killer outweighs the make error it causes → infra',
    log: gitlab(
      '$ make -j8',
      'g++ -O2 -c src/solver.cpp -o build/solver.o',
      'c++: fatal error: Killed signal terminated program cc1plus',
      'compilation terminated.',
      'make: *** [Makefile:31: build/solver.o] Error 1',
    ),
    class: 'infra',
    cause: 'oom_killed',
  },
  // --- runner-side stages lean infra ---
  {
    name: 'get_sources: git remote 5xx → infra',
    log: [
      'Getting source from Git repository',
      "fatal: unable to access 'https://gitlab.example.com/g/p.git/': The requested URL returned error: 502",
      '',
    ].join('\n'),
    report: { stage: 'get_sources' },
    class: 'infra',
    cause: 'source_fetch_failed',
  },
  {
    name: 'get_sources with nothing recognisable → infra fallback by stage',
    log: 'Getting source from Git repository\nsomething odd happened\n',
    report: { stage: 'get_sources' },
    class: 'infra',
    cause: 'source_fetch_failed',
    fallback: true,
  },
  {
    name: 'a phrase counts outside the script: disk full while preparing the executor → infra',
    log: 'Preparing the "docker" executor\nfailed to create container: write /var/lib/docker/tmp/x: no space left on device\n',
    report: { stage: 'prepare_executor', reason: 'runner_system_failure' },
    class: 'infra',
    cause: 'disk_full',
  },
  // Transport lines of package managers (52-transport) and the project's own mistakes (62-project-config)
  {
    name: "pnpm's own retry line with ETIMEDOUT → infra",
    log: gitlab(
      '$ pnpm install',
      ' WARN  GET https://registry.npmjs.org/left-pad error (ETIMEDOUT). Will retry in 10 seconds. 2 retries left.',
    ),
    class: 'infra',
    cause: 'package_registry_unavailable',
  },
  {
    name: 'a 503 from a localhost service in an error line is NOT a remote outage (fallback build)',
    log: gitlab('$ npm test', 'Error: GET http://localhost:8080/health answered 503 Service Unavailable'),
    class: 'build',
    cause: 'script_failed',
    fallback: true,
  },
  {
    name: 'a test NAME quoting a gateway error is never evidence (indented) → build summary',
    log: gitlab(
      '$ npx jest',
      'FAIL src/api.test.ts',
      '  ✕ Error fetching https://api.example.com returns 503 Service Unavailable (12 ms)',
      'Tests:       1 failed, 3 passed, 4 total',
    ),
    class: 'build',
    cause: 'test_failure',
  },
  {
    name: 'an echoed command quoting "blob upload unknown" is never evidence',
    log: gitlab("$ grep -q 'blob upload unknown' push.log || exit 1"),
    class: 'build',
    cause: 'script_failed',
    fallback: true,
  },
  {
    name: 'AWS CLI without credentials and no metadata error → build (the job never set them)',
    log: gitlab('$ aws s3 ls', 'Unable to locate credentials. You can configure credentials by running "aws configure".'),
    class: 'build',
    cause: 'credentials_not_configured',
  },
  {
    name: 'the metadata endpoint timing out before "Unable to locate credentials" → infra (tie goes to the infra rule)',
    log: gitlab(
      '$ aws s3 ls',
      'Connect timeout on endpoint URL: "http://169.254.169.254/latest/api/token"',
      'Unable to locate credentials. You can configure credentials by running "aws configure".',
    ),
    class: 'infra',
    cause: 'metadata_endpoint_timeout',
  },
  {
    name: "npm ENOTFOUND for a typo'd registry host → build; for registry.npmjs.org → infra",
    log: gitlab('$ npm ci', 'npm ERR! network getaddrinfo ENOTFOUND registry.npmjs.orgg registry.npmjs.orgg:443'),
    class: 'build',
    cause: 'registry_misconfigured',
  },
  {
    name: 'npm ENOTFOUND for the public registry → infra dns_failure',
    log: gitlab(
      '$ npm ci',
      'npm ERR! network request to https://registry.npmjs.org/left-pad failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org',
    ),
    class: 'infra',
    cause: 'dns_failure',
  },
  {
    name: 'apt "Release file … is not valid yet" → infra (the host clock)',
    log: gitlab(
      '$ apt-get update',
      'E: Release file for http://deb.debian.org/debian/dists/bookworm/InRelease is not valid yet (invalid for another 3h 2min 1s). Updates for this repository will not be applied.',
    ),
    class: 'infra',
    cause: 'host_clock_skew',
  },
  {
    name: 'CentOS EOL mirrorlist (curl#6 "Could not resolve host") → build, not a DNS outage',
    log: gitlab(
      '$ yum install -y git',
      'Could not retrieve mirrorlist http://mirrorlist.centos.org/?release=7&arch=x86_64&repo=os&infra=container error was',
      '14: curl#6 - "Could not resolve host: mirrorlist.centos.org; Unknown error"',
    ),
    class: 'build',
    cause: 'eol_distribution',
  },
  // --- generalised in the held-out round (issue 9): the job's own pieces vs the machinery ---
  {
    name: "the job's docker:dind service unreachable (tcp://docker:2376) → build; the host engine's socket → infra",
    log: gitlab('$ docker info', ' ERROR: Cannot connect to the Docker daemon at tcp://docker:2376. Is the docker daemon running?'),
    class: 'build',
    cause: 'job_service_unreachable',
  },
  {
    name: "the runner host's engine socket unreachable → infra",
    log: gitlab('$ docker info', 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?'),
    class: 'infra',
    cause: 'docker_daemon_unreachable',
  },
  {
    name: 'a 502 from a shut-down repository (Bintray) → build, although a 502 elsewhere is an outage',
    log: gitlab(
      '$ ./gradlew assembleDebug',
      "     > Could not GET 'https://dl.bintray.com/vendor/maven/com/example/lib/1.0/lib-1.0.pom'. Received status code 502 from server: Bad Gateway",
      'BUILD FAILED in 12s',
    ),
    class: 'build',
    cause: 'repository_sunset',
  },
  {
    name: 'the same 502 from a live repository → infra',
    log: gitlab(
      '$ ./gradlew assembleDebug',
      "     > Could not GET 'https://maven.example.org/releases/com/example/lib/1.0/lib-1.0.pom'. Received status code 502 from server: Bad Gateway",
      'BUILD FAILED in 12s',
    ),
    class: 'infra',
    cause: 'dependency_download_failed',
  },
  {
    name: 'golangci-lint\'s own timeout ("context deadline exceeded") → build, not a network timeout',
    log: gitlab(
      '$ golangci-lint run ./...',
      'level=error msg="Running error: context loading failed: failed to load packages: timed out to load packages: context deadline exceeded"',
      'level=error msg="Timeout exceeded: try increasing it by passing --timeout option"',
    ),
    class: 'build',
    cause: 'lint_timeout',
  },
  {
    name: 'actions/checkout\'s fetch answered 429 (wrapper prefix "Error: ") → infra',
    log: gitlab(
      "Error: fatal: unable to access 'https://github.com/org/repo/': The requested URL returned error: 429",
      "Error: The process '/usr/bin/git' failed with exit code 128",
    ),
    class: 'infra',
    cause: 'git_remote_error',
  },
  {
    name: 'a test\'s own server port taken (old node: "listen EADDRINUSE :::4000") → build',
    log: gitlab('$ npx jest', '    listen EADDRINUSE :::4000', '      at Function.listen (node_modules/express/lib/application.js:618:24)'),
    class: 'build',
    cause: 'job_service_unreachable',
  },
  {
    name: 'Jenkins\' timestamper with two spaces ("00:19:09  npm ERR! …") is stripped, so anchored tool lines still match → infra',
    log: [
      'Started by an SCM change',
      '00:19:07  + npm ci',
      '00:19:08  npm WARN deprecated request@2.88.2: request has been deprecated',
      '00:19:09  npm ERR! code ETIMEDOUT',
      '00:19:09  npm ERR! errno ETIMEDOUT',
      '00:19:09  npm ERR! network request to https://registry.npmjs.org/lodash failed, reason: connect ETIMEDOUT 104.16.18.35:443',
      'Finished: FAILURE',
    ].join('\n'),
    class: 'infra',
    cause: 'dependency_download_failed',
  },
  {
    name: 'Maven Central\'s "501 , ReasonPhrase:HTTPS Required" is the project\'s http:// URL, not an outage → build',
    log: gitlab(
      '$ mvn -B package',
      '[WARNING] Could not transfer metadata org.acme:lib:1.0-SNAPSHOT/maven-metadata.xml from/to central (http://repo1.maven.org/maven2): Failed to transfer file: http://repo1.maven.org/maven2/org/acme/lib/1.0-SNAPSHOT/maven-metadata.xml. Return code is: 501 , ReasonPhrase:HTTPS Required.',
      '[INFO] BUILD FAILURE',
    ),
    class: 'build',
    cause: 'repository_misconfigured',
  },
  {
    name: 'the same Maven line with a 502 is the repository failing → infra',
    log: gitlab(
      '$ mvn -B package',
      '[ERROR] Failed to execute goal on project app: Could not transfer artifact org.acme:lib:pom:1.0 from/to acme (https://nexus.acme.example/repository/releases): Failed to transfer file: https://nexus.acme.example/repository/releases/org/acme/lib/1.0/lib-1.0.pom. Return code is: 502 , ReasonPhrase:Bad Gateway. -> [Help 1]',
    ),
    class: 'infra',
    cause: 'dependency_download_failed',
  },
  {
    name: 'Go\'s syscall error "write <file>: copy_file_range: no space left on device" inside a testify assertion → infra (disk_full)',
    log: gitlab(
      '$ go test ./...',
      '        \tError:      \tReceived unexpected error:',
      '        \t            \tERROR: problem moving file: write image.qcow2: copy_file_range: no space left on device',
      '--- FAIL: TestCompose (412.33s)',
      'FAIL',
    ),
    class: 'infra',
    cause: 'disk_full',
  },
  {
    name: 'a Go test quoting the disk-full text it expects ("…: no space left on device\\"") → build',
    log: gitlab(
      '$ go test ./...',
      '    store_test.go:88: expected error "write /tmp/x: no space left on device"',
      '--- FAIL: TestStoreFullDisk (0.00s)',
      'FAIL',
    ),
    class: 'build',
    cause: 'test_failure',
  },
  {
    name: 'GHCR\'s rate limit in go-containerregistry\'s words ("POST https://ghcr.io/v2/…: TOOMANYREQUESTS: …") → infra',
    log: gitlab(
      '$ cosign sign --yes ghcr.io/acme/app@sha256:0123',
      'POST https://ghcr.io/v2/acme/app/blobs/uploads/: TOOMANYREQUESTS: retry-after: 10.3ms, allowed: 2000/minute',
    ),
    class: 'infra',
    cause: 'registry_rate_limited',
  },
  {
    name: 'NuGet\'s own "Response status code does not indicate success: 502" under its retry line → infra',
    log: gitlab(
      '$ dotnet restore',
      "  Retrying 'FindPackagesByIdAsync' for source 'https://api.nuget.org/v3-flatcontainer/acme.lib/index.json'.",
      '  Response status code does not indicate success: 502 (Bad Gateway).',
    ),
    class: 'infra',
    cause: 'package_registry_unavailable',
  },
  {
    name: "a .NET test's own HttpRequestException with the same words → build (no NuGet line, a type prefix)",
    log: gitlab(
      '$ dotnet test',
      '  Failed Api.Tests.HealthTests.ReturnsOk [12 ms]',
      '  Error Message:',
      '   System.Net.Http.HttpRequestException : Response status code does not indicate success: 503 (Service Unavailable).',
      'Failed!  - Failed:     1, Passed:   211, Skipped:     0, Total:   212',
    ),
    class: 'build',
    cause: 'test_failure',
  },
  {
    name: "gitlab-runner's artifact upload answered 500 by the coordinator after a green script → infra",
    log: gitlab(
      '$ make docs',
      'Uploading artifacts...',
      'WARNING: Uploading artifacts as "archive" to coordinator... failed  id=17 responseStatus=500 Internal Server Error status=500 token=abcd',
      'FATAL: invalid argument',
    ),
    report: { stage: 'upload' },
    class: 'infra',
    cause: 'upload_failed',
  },
  {
    name: 'npm publish refused for a missing token ("need auth") → build',
    log: gitlab('$ npm publish', 'npm ERR! need auth This command requires you to be logged in to https://registry.npmjs.org/'),
    class: 'build',
    cause: 'credentials_missing',
  },
  {
    name: "GitHub answering the runner's action download with 503 → infra (action_download_failed)",
    log: [
      "Current runner version: '2.292.0'",
      'Prepare all required actions',
      "Warning: Failed to download action 'https://api.github.com/repos/actions/checkout/tarball/v2'. Error: Response status code does not indicate success: 503 (Service Unavailable).",
      'Error: Response status code does not indicate success: 503 (Service Unavailable).',
    ].join('\n'),
    report: { reason: 'runner_system_failure', stage: 'prepare_executor', exit_code: null, executor: 'github-actions' },
    class: 'infra',
    cause: 'action_download_failed',
  },
  {
    name: "the same download answered 404 (a mistyped action ref) is not GitHub's outage → not action_download_failed",
    log: [
      "Current runner version: '2.292.0'",
      'Prepare all required actions',
      "##[warning]Failed to download action 'https://api.github.com/repos/acme/setup-tool/tarball/vmaster'. Error Response status code does not indicate success: 404 (Not Found).",
    ].join('\n'),
    class: 'build',
    cause: 'script_failed',
    fallback: true,
  },
  {
    name: 'containerd\'s "unexpected status from HEAD request to https://<registry>/v2/…: 503" from helm\'s OCI client → infra',
    log: gitlab(
      '$ helm install app oci://8gears.container-registry.com/library/app --version 1.0.0',
      'Error: INSTALLATION FAILED: unexpected status from HEAD request to https://8gears.container-registry.com/v2/library/app/manifests/1.0.0: 503 Service Unavailable',
    ),
    class: 'infra',
    cause: 'registry_unavailable',
  },
  {
    name: 'gitlab-runner downloading artifacts from the coordinator, connection reset → infra (upload_failed)',
    log: gitlab(
      'Downloading artifacts for build (53092)...',
      'ERROR: Downloading artifacts from coordinator... error  error=read tcp 172.17.0.3:59476->10.0.59.37:443: read: connection reset by peer id=53092 responseStatus=200 OK token=GrTYH7v2',
      'FATAL: invalid argument',
    ),
    report: { stage: 'get_sources' },
    class: 'infra',
    cause: 'upload_failed',
  },
  {
    name: "upload-artifact v4's finalize call reset by GitHub's artifact service after green tests → infra",
    log: ['Finalizing artifact upload', 'Error: Failed to FinalizeArtifact: Unable to make request: ECONNRESET'].join('\n'),
    report: { stage: 'upload', executor: 'github-actions' },
    class: 'infra',
    cause: 'upload_failed',
  },
  {
    name: 'make naming the kill of its child ("make: *** [all] Killed") → infra (oom_killed)',
    log: gitlab('$ make -j16', '[ 97%] Building CXX object src/CMakeFiles/core.dir/planner.cpp.o', 'make: *** [Makefile:12: all] Killed'),
    class: 'infra',
    cause: 'oom_killed',
  },
  {
    name: "rustc's LLVM backend out of memory (rustc-LLVM ERROR: out of memory) → infra (oom_killed)",
    log: gitlab('$ cargo build --release', '   Compiling engine v0.4.0 (/builds/app/engine)', 'rustc-LLVM ERROR: out of memory'),
    class: 'infra',
    cause: 'oom_killed',
  },
  {
    name: "a job timeout inside the script with no infra line in the log → build (the job's budget)",
    log: gitlab('$ ./run-integration-tests.sh', 'suite 14/40: payments … ok', 'suite 15/40: ledger …'),
    report: { reason: 'job_execution_timeout', exit_code: null, message: 'execution took longer than 1h0m0s seconds' },
    class: 'build',
    cause: 'job_timeout',
  },
  // --- log preparation: Jenkins' timestamper in its elapsed-time format (milliseconds) ---
  {
    name: 'Jenkins\' elapsed-time stamps ("00:16:45.114 fetch-pack: …") are stripped, so git\'s anchored lines match → infra',
    log: [
      'Started by timer',
      '00:00:05.658 + git clone https://github.com/example/big.git',
      "00:00:05.659 Cloning into 'big'...",
      '00:16:45.103 error: 6329 bytes of body are still expected',
      '00:16:45.114 fetch-pack: unexpected disconnect while reading sideband packet',
      '00:16:45.114 fatal: early EOF',
      "00:16:45.750 Build step 'Execute shell' marked build as failure",
      'Finished: FAILURE',
    ].join('\n'),
    class: 'infra',
    cause: 'git_remote_error',
  },
  // --- rule families written from the tools' own messages (not from one corpus case) ---
  {
    name: 'apt\'s indented "Temporary failure resolving" under Err:N outranks the "Unable to locate package" it causes → infra',
    log: gitlab(
      '$ apt-get update && apt-get install -y build-essential',
      'Err:1 http://archive.ubuntu.com/ubuntu jammy InRelease',
      "  Temporary failure resolving 'archive.ubuntu.com'",
      'Reading package lists...',
      'E: Unable to locate package build-essential',
    ),
    class: 'infra',
    cause: 'dns_failure',
  },
  {
    name: 'go test binary killed ("signal: killed" before FAIL) → infra (oom_killed), not the test summary',
    log: gitlab(
      '$ go test ./...',
      'ok  \tgithub.com/example/app/api\t1.2s',
      'signal: killed',
      'FAIL\tgithub.com/example/app/store\t45.123s',
      'FAIL',
    ),
    class: 'infra',
    cause: 'oom_killed',
  },
  {
    name: "a go test ASSERTING the resolver's timeout text (indented, quoted) → build",
    log: gitlab(
      '$ go test ./...',
      '    --- FAIL: TestResolver (0.00s)',
      '        resolver_test.go:42: expected "dial tcp: lookup db.example.org on 10.0.0.2:53: read udp 10.0.0.9:5353->10.0.0.2:53: i/o timeout", got nil',
      'FAIL\tgithub.com/example/app/dns\t0.01s',
      'FAIL',
    ),
    class: 'build',
    cause: 'test_failure',
  },
  {
    name: 'the JVM unable to get memory from the OS ("insufficient memory for the Java Runtime Environment") → infra, unlike its own -Xmx heap',
    log: gitlab(
      '$ mvn -B verify',
      "OpenJDK 64-Bit Server VM warning: INFO: os::commit_memory(0x00000000c0000000, 1073741824, 0) failed; error='Cannot allocate memory' (errno=12)",
      '#',
      '# There is insufficient memory for the Java Runtime Environment to continue.',
      '# Native memory allocation (mmap) failed to map 1073741824 bytes for committing reserved memory.',
    ),
    class: 'infra',
    cause: 'oom_killed',
  },
  {
    name: 'pytest reporting a requests HTTPError 503 from the code under test ("E   …" lines) → build',
    log: gitlab(
      '$ pytest',
      'E       requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: https://api.example.com/v1/items',
      'FAILED tests/test_client.py::test_list - requests.exceptions.HTTPError: 503 Server Error',
      '========================= 1 failed, 12 passed in 0.52s =========================',
    ),
    class: 'build',
    cause: 'test_failure',
  },
  {
    name: 'poetry\'s indented "503 Server Error … for url: https://pypi.org/…" under its HTTPError header → infra',
    log: gitlab(
      '$ poetry install',
      'Installing dependencies from lock file',
      '',
      '  HTTPError',
      '',
      '  503 Server Error: Service Unavailable for url: https://pypi.org/simple/requests/',
    ),
    class: 'infra',
    cause: 'dependency_download_failed',
  },
  {
    name: 'yarn 1 "connect ETIMEDOUT" to the registry → infra; yarn 1 "Not found" for a typo stays build (fallback)',
    log: gitlab(
      '$ yarn install --frozen-lockfile',
      'error An unexpected error occurred: "https://registry.yarnpkg.com/react/-/react-18.2.0.tgz: connect ETIMEDOUT 104.16.25.35:443".',
    ),
    class: 'infra',
    cause: 'dependency_download_failed',
  },
  {
    name: 'npm ci told an UNSCOPED package "is not found" → infra (the lock file resolved it: the registry failed to serve it)',
    log: gitlab('$ npm ci', 'npm ERR! code E404', 'npm ERR! 404 Not Found - GET https://registry.npmjs.org/error-ex - Not found'),
    class: 'infra',
    cause: 'package_registry_inconsistent',
  },
  {
    name: 'the same 404 from `npm install <typo>` → build (dependency_not_found)',
    log: gitlab('$ npm install lodsh', 'npm ERR! code E404', 'npm ERR! 404 Not Found - GET https://registry.npmjs.org/lodsh - Not found'),
    class: 'build',
    cause: 'dependency_not_found',
  },
  {
    name: 'npm ci told a SCOPED package is not found → build (npm answers 404 for a private @scope package without credentials)',
    log: gitlab(
      '$ npm ci',
      'npm ERR! code E404',
      'npm ERR! 404 Not Found - GET https://registry.npmjs.org/@acme%2finternal-ui - Not found',
    ),
    class: 'build',
    cause: 'dependency_not_found',
  },
  {
    name: 'yarn 1 "Not found" for a typo\'d package → build (fallback)',
    log: gitlab('$ yarn add lodsh', 'error An unexpected error occurred: "https://registry.yarnpkg.com/lodsh: Not found".'),
    class: 'build',
    cause: 'script_failed',
    fallback: true,
  },
  // --- transport errors in package managers' less common line shapes (51-package-manager-transport) ---
  {
    name: 'npm re-printing a git-dependency child npm\'s "npm ERR! npm ERR! code ECONNRESET" → infra',
    log: gitlab(
      '$ npm ci',
      'npm ERR! git dep preparation failed',
      'npm ERR! npm ERR! code ECONNRESET',
      'npm ERR! npm ERR! network Invalid response body while trying to fetch https://registry.npmjs.org/left-pad: aborted',
    ),
    class: 'infra',
    cause: 'package_registry_unreachable',
  },
  {
    name: 'npm debug-log line "silly fetchPackageMetaData Error: connect ETIMEDOUT ip:port" → infra',
    log: gitlab('$ npm install --loglevel silly', '412 silly fetchPackageMetaData Error: connect ETIMEDOUT 104.16.20.35:443'),
    class: 'infra',
    cause: 'package_registry_unreachable',
  },
  {
    name: 'pnpm\'s " ERROR " badge with FetchError "getaddrinfo EAI_AGAIN" → infra',
    log: gitlab(
      '$ pnpm install',
      ' ERROR  request to https://registry.npmjs.org/react failed, reason: getaddrinfo EAI_AGAIN registry.npmjs.org:443',
    ),
    class: 'infra',
    cause: 'package_registry_unavailable',
  },
  {
    name: "pnpm's badge naming the job's own localhost registry (refused) stays build (the job's service)",
    log: gitlab('$ pnpm install', ' ERROR  request to http://localhost:4873/react failed, reason: connect ECONNREFUSED 127.0.0.1:4873'),
    class: 'build',
    cause: 'job_service_unreachable',
  },
  {
    name: 'yarn 1 bare "error read ECONNRESET" while fetching packages → infra',
    log: gitlab(
      '$ yarn install',
      '[1/4] Resolving packages...',
      '[2/4] Fetching packages...',
      'error read ECONNRESET',
      '    at TLSWrap.onread (net.js:564:26)',
    ),
    class: 'infra',
    cause: 'package_registry_unreachable',
  },
  {
    name: 'a program\'s own "error read ECONNRESET" with no yarn install step in the log → build (fallback)',
    log: gitlab('$ node scripts/smoke.js', 'error read ECONNRESET', '    at TLSWrap.onread (node:net:763:20)'),
    class: 'build',
    cause: 'script_failed',
    fallback: true,
  },
  {
    name: 'Gradle "Could not GET Received status code 502 from server" (URL dropped) → infra',
    log: gitlab(
      '$ ./gradlew assemble',
      '> Could not resolve all dependencies for configuration ":app:compileClasspath".',
      'Could not GET Received status code 502 from server: Bad Gateway',
    ),
    class: 'infra',
    cause: 'package_registry_unavailable',
  },
  {
    name: 'Gradle 502 from a Bintray URL → build (the repository was shut down; the sunset rule wins the tie)',
    log: gitlab(
      '$ ./gradlew assemble',
      "      > Could not GET 'https://dl.bintray.com/acme/maven/com/acme/lib/1.0/lib-1.0.pom'. Received status code 502 from server: Bad Gateway",
    ),
    class: 'build',
    cause: 'repository_sunset',
  },
  {
    name: 'Gradle "Received status code 501 from server: HTTPS Required" → build (the project\'s http:// URL)',
    log: gitlab(
      '$ ./gradlew assemble',
      "      > Could not GET 'http://repo.maven.apache.org/maven2/junit/junit/4.13/junit-4.13.pom'. Received status code 501 from server: HTTPS Required",
    ),
    class: 'build',
    cause: 'repository_misconfigured',
  },
  {
    name: 'Gradle could not get a resource from the public plugin portal → infra',
    log: gitlab(
      '$ ./gradlew build',
      '   > Could not resolve com.acme:plugin:1.2.',
      "         > Could not get resource 'https://plugins.gradle.org/m2/com/acme/plugin/1.2/plugin-1.2.pom'.",
    ),
    class: 'infra',
    cause: 'package_registry_unavailable',
  },
  {
    name: 'the same line from a private repository → build (fallback: there it may be the credentials)',
    log: gitlab(
      '$ ./gradlew build',
      '   > Could not resolve com.acme:plugin:1.2.',
      "         > Could not get resource 'https://nexus.acme.example/repository/maven/com/acme/plugin/1.2/plugin-1.2.pom'.",
    ),
    class: 'build',
    cause: 'script_failed',
    fallback: true,
  },
  {
    name: 'npm 2–6 "npm ERR! network read ECONNRESET" → infra',
    log: gitlab('$ npm install', 'npm ERR! network read ECONNRESET', 'npm ERR! network This is most likely not a problem with npm itself'),
    class: 'infra',
    cause: 'package_registry_unreachable',
  },
  {
    name: 'SwiftPM binary target download timed out → infra',
    log: gitlab(
      '$ xcodebuild -resolvePackageDependencies',
      'xcodebuild: error: Could not resolve package dependencies:',
      "  failed downloading 'https://github.com/acme/sdk/releases/download/1.0.0/Sdk.xcframework.zip' which is required by binary target 'Sdk': downloadError(\"The request timed out.\")",
    ),
    class: 'infra',
    cause: 'package_registry_unreachable',
  },
  {
    name: 'SwiftPM binary target answered 404 (a wrong URL or a private release) → build (fallback)',
    log: gitlab(
      '$ xcodebuild -resolvePackageDependencies',
      'xcodebuild: error: Could not resolve package dependencies:',
      "  failed downloading 'https://github.com/acme/sdk/releases/download/1.0.0/Sdk.xcframework.zip' which is required by binary target 'Sdk': badResponseStatusCode(404)",
    ),
    class: 'build',
    cause: 'script_failed',
    fallback: true,
  },
  {
    name: 'helm repo update: chart repository index answered 503 → infra',
    log: gitlab(
      '$ helm repo update',
      'Hang tight while we grab the latest from your chart repositories...',
      '...Unable to get an update from the "acme" chart repository (https://charts.acme.example):',
      '\tfailed to fetch https://charts.acme.example/index.yaml : 503 Service Unavailable',
      "Error: no cached repository for helm-manager-1067d9c6 found. (try 'helm repo update')",
    ),
    class: 'infra',
    cause: 'registry_unavailable',
  },
  {
    name: 'helm repo update: a retired repository answering 403 → build (fallback)',
    log: gitlab(
      '$ helm dependency update',
      '...Unable to get an update from the "https://kubernetes-charts.storage.googleapis.com/" chart repository:',
      '\tfailed to fetch https://kubernetes-charts.storage.googleapis.com/index.yaml : 403 Forbidden',
      "Error: no cached repository for helm-manager-1067d9c6 found. (try 'helm repo update')",
    ),
    class: 'build',
    cause: 'script_failed',
    fallback: true,
  },
  {
    name: 'GitHub\'s newer "The hosted runner lost communication with the server." → infra',
    log: gitlab(
      '$ make build',
      '##[error]The hosted runner lost communication with the server. Anything in your workflow that terminates the runner process, starves it for CPU/Memory, or blocks its network access can cause this error.',
    ),
    class: 'infra',
    cause: 'runner_lost',
  },
  {
    name: 'GitHub\'s "The self-hosted runner: lost communication …" with the runner name empty → infra',
    log: gitlab(
      '$ make build',
      'The self-hosted runner: lost communication with the server. Verify the machine is running and has a healthy network connection.',
    ),
    class: 'infra',
    cause: 'runner_lost',
  },
  {
    name: 'GitLab\'s "remote: GitLab: Failed to authorize your Git request: internal API unreachable" on push → infra',
    log: gitlab(
      '$ git push origin HEAD:release',
      'remote: GitLab: Failed to authorize your Git request: internal API unreachable',
      ' ! [remote rejected] HEAD -> release (pre-receive hook declined)',
      "error: failed to push some refs to 'https://gitlab.example.com/acme/app.git'",
    ),
    class: 'infra',
    cause: 'git_remote_error',
  },
  {
    name: 'Composer\'s indented exception text "curl error 28 while downloading https://repo.packagist.org/…" → infra',
    log: gitlab(
      '$ composer install --no-interaction',
      'In CurlDownloader.php line 389:',
      '  curl error 28 while downloading https://repo.packagist.org/packages.json: Operation timed out after 10001 milliseconds with 0 bytes received',
    ),
    class: 'infra',
    cause: 'network_timeout',
  },
];

describe('weighing the evidence (decision table of src/classify/README.md)', () => {
  for (const row of TABLE) {
    test(row.name, () => {
      const out = classifier.classify(report(row.report), row.log);
      assert.deepEqual(
        { class: out.class, cause: out.cause, fallback: out.fallback },
        { class: row.class, cause: row.cause, fallback: row.fallback ?? false },
        `rule ${out.rule?.id}; evidence ${JSON.stringify(out.evidence)}`,
      );
    });
  }
});

describe('weighing mechanics', () => {
  const rs = ruleSetFrom([
    {
      id: 'infra-phrase',
      version: 1,
      description: 'd',
      match: { log: 'NETWORK' },
      class: 'infra',
      cause: 'phrase',
      summary: 'x',
      signal: 'phrase',
    },
    { id: 'infra-tool', version: 1, description: 'd', match: { log: '^tool: NETWORK DOWN$' }, class: 'infra', cause: 'tool', summary: 'x' },
    {
      id: 'tests',
      version: 1,
      description: 'd',
      match: { log: '^TESTS FAILED$' },
      class: 'build',
      cause: 'tests',
      summary: 'x',
      signal: 'summary',
    },
    {
      id: 'timeout',
      version: 1,
      description: 'd',
      match: { reason: 'job_execution_timeout' },
      class: 'build',
      cause: 'timeout',
      summary: 'x',
    },
  ]);
  const c = new Classifier(rs);
  const cause = (log: string, over: Partial<FailureReport> = {}) => c.classify(report(over), log).cause;

  test('a summary outranks a phrase and an earlier tool error; a tool error in the failing segment outranks the summary', () => {
    assert.equal(cause('$ a\nNETWORK\nTESTS FAILED\n'), 'tests');
    assert.equal(cause('$ a\ntool: NETWORK DOWN\n$ b\nTESTS FAILED\n'), 'tests');
    assert.equal(cause('$ a\nTESTS FAILED\n$ b\ntool: NETWORK DOWN\n'), 'tool');
    // no echo lines at all: the whole log is the failing segment
    assert.equal(cause('TESTS FAILED\ntool: NETWORK DOWN\n'), 'tool');
  });

  test('phrases never decide inside the script, but do outside it', () => {
    assert.equal(c.classify(report(), 'NETWORK\n').fallback, true);
    assert.equal(cause('NETWORK\n', { stage: 'prepare_executor', reason: 'runner_system_failure' }), 'phrase');
  });

  test('the reason alone is the weakest evidence inside the script: a tool error explains a timeout', () => {
    assert.equal(cause('$ a\nstill waiting\n', { reason: 'job_execution_timeout' }), 'timeout');
    assert.equal(cause('$ a\ntool: NETWORK DOWN\n', { reason: 'job_execution_timeout' }), 'tool');
  });

  test('a hit on an echoed line only is no match; the same words as output are', () => {
    assert.equal(c.classify(report(), '$ echo "tool: NETWORK DOWN"\n').fallback, true);
    assert.equal(cause('$ echo "x"\ntool: NETWORK DOWN\n'), 'tool');
  });

  test('a command condition reads the echo line that opens the failing segment, never an earlier one', () => {
    const rc = new Classifier(
      ruleSetFrom([
        {
          id: 'ci-404',
          version: 1,
          description: 'd',
          match: { command: '\\bnpm ci\\b', log: '^E404$' },
          class: 'infra',
          cause: 'ci404',
          summary: 'x',
        },
      ]),
    );
    assert.equal(rc.classify(report(), '$ npm ci\nE404\n').cause, 'ci404');
    // npm ci ran earlier and went on; the failing command is another one
    assert.equal(rc.classify(report(), '$ npm ci\nE404\n$ npm install lodsh\nE404\n').fallback, true);
    // no echo line at all: no failing command, so no match
    assert.equal(rc.classify(report(), 'npm ci\nE404\n').fallback, true);
  });

  test('signal without log patterns is refused', () => {
    assert.throws(
      () =>
        ruleSetFrom([
          {
            id: 'x',
            version: 1,
            description: 'd',
            match: { reason: 'script_failure' },
            class: 'build',
            cause: 'x',
            summary: 'x',
            signal: 'phrase',
          },
        ]),
      /signal describes log patterns/,
    );
  });
});
