/** Fixture cases shared by the classifier tests and the backtest test. */
import type { FailureClass, FailureReport } from '../../src/protocol/failure.js';

export function report(over: Partial<FailureReport> = {}): FailureReport {
  return {
    reason: 'script_failure',
    stage: 'step_script',
    exit_code: 1,
    executor: 'docker',
    message: null,
    image: null,
    registry: null,
    ...over,
  };
}

export interface Case {
  fixture: string;
  report: FailureReport;
  class: FailureClass;
  cause: string;
  rule: string;
  /** 1-based line numbers of the evidence, in order. */
  lines: number[];
}

const pull = (image: string, registry: string, message = `failed to pull image "${image}"`) =>
  report({ reason: 'image_pull_failure', stage: 'pull_image', exit_code: null, image, registry, message });
const k8s = (over: Partial<FailureReport> = {}) => report({ executor: 'kubernetes', ...over });

export const CASES: Case[] = [
  {
    fixture: 'registry-unreachable.log',
    report: pull('127.0.0.1:5000/busybox:latest', '127.0.0.1:5000'),
    class: 'infra',
    cause: 'registry_unreachable',
    rule: 'image-pull-unreachable-log',
    lines: [6, 7],
  },
  {
    fixture: 'image-not-found.log',
    report: pull('127.0.0.1:5000/nope:latest', '127.0.0.1:5000'),
    class: 'build',
    cause: 'image_not_found',
    rule: 'image-pull-not-found-log',
    lines: [6, 7],
  },
  {
    fixture: 'registry-auth.log',
    report: pull('registry.internal.example.com/platform/ci-base:2024.05', 'registry.internal.example.com'),
    class: 'infra',
    cause: 'registry_auth_failed',
    rule: 'image-pull-auth-log',
    lines: [7, 8],
  },
  {
    fixture: 'k8s-pod-not-ready.log',
    report: k8s({ reason: 'runner_system_failure', stage: 'prepare_executor', exit_code: null }),
    class: 'infra',
    cause: 'pod_not_ready',
    rule: 'pod-not-ready',
    lines: [10, 11, 13, 14],
  },
  {
    fixture: 'k8s-evicted.log',
    report: k8s({ reason: 'runner_system_failure', exit_code: null }),
    class: 'infra',
    cause: 'pod_evicted',
    rule: 'pod-evicted',
    lines: [12, 13],
  },
  {
    fixture: 'machine-creation-failed.log',
    report: report({ reason: 'runner_system_failure', stage: 'prepare_executor', executor: 'custom', exit_code: null }),
    class: 'infra',
    cause: 'machine_creation_failed',
    rule: 'machine-creation-failed',
    lines: [8],
  },
  {
    fixture: 'job-timeout.log',
    report: report({ reason: 'job_execution_timeout', exit_code: null }),
    class: 'build',
    cause: 'job_timeout',
    rule: 'job-timeout',
    lines: [],
  },
  {
    fixture: 'disk-full.log',
    report: report({ exit_code: 228 }),
    class: 'infra',
    cause: 'disk_full',
    rule: 'disk-full-tool',
    lines: [6, 7, 10],
  },
  {
    fixture: 'dns-failure.log',
    report: report({ exit_code: 6 }),
    class: 'infra',
    cause: 'dns_failure',
    rule: 'dns-failure-tool',
    lines: [5],
  },
  {
    fixture: 'oom-killed.log',
    report: report({ exit_code: 137 }),
    class: 'infra',
    cause: 'oom_killed',
    rule: 'killed-sigkill',
    lines: [8, 9],
  },
  {
    fixture: 'heap-oom.log',
    report: report({ exit_code: 134 }),
    class: 'build',
    cause: 'heap_out_of_memory',
    rule: 'heap-out-of-memory',
    lines: [14],
  },
  {
    // tcp://docker:2375 is the job's own docker:dind service (its services:/variables), not the
    // runner host's engine — the corpus threads (docker/compose#7529, docker-library/docker#170)
    // fixed it in the job's configuration; the host's unix:// socket stays infra.
    fixture: 'docker-daemon.log',
    report: report(),
    class: 'build',
    cause: 'job_service_unreachable',
    rule: 'job-service-unreachable',
    lines: [8],
  },
  {
    fixture: 'npm-network.log',
    report: report(),
    class: 'infra',
    cause: 'dependency_download_failed',
    rule: 'dependency-download-failed',
    lines: [5, 7, 8],
  },
  {
    fixture: 'maven-transfer.log',
    report: report(),
    class: 'infra',
    cause: 'dependency_download_failed',
    rule: 'dependency-download-failed',
    lines: [8],
  },
  {
    fixture: 'go-proxy.log',
    report: report(),
    class: 'infra',
    cause: 'dependency_download_failed',
    rule: 'dependency-download-failed',
    lines: [6],
  },
  { fixture: 'jest-fail.log', report: report(), class: 'build', cause: 'test_failure', rule: 'test-failure', lines: [5, 16] },
  { fixture: 'go-test-fail.log', report: report(), class: 'build', cause: 'test_failure', rule: 'test-failure', lines: [6, 9] },
  { fixture: 'pytest-fail.log', report: report(), class: 'build', cause: 'test_failure', rule: 'test-failure', lines: [15, 16] },
  {
    fixture: 'cargo-test-fail.log',
    report: report({ exit_code: 101 }),
    class: 'build',
    cause: 'test_failure',
    rule: 'test-failure',
    lines: [23],
  },
  { fixture: 'maven-surefire-fail.log', report: report(), class: 'build', cause: 'test_failure', rule: 'test-failure', lines: [9, 18, 21] },
  { fixture: 'node-test-fail.log', report: report(), class: 'build', cause: 'test_failure', rule: 'test-failure', lines: [21] },
  {
    fixture: 'tsc-error.log',
    report: report({ exit_code: 2 }),
    class: 'build',
    cause: 'compile_error',
    rule: 'compile-error',
    lines: [5, 6],
  },
  { fixture: 'gcc-error.log', report: report({ exit_code: 2 }), class: 'build', cause: 'compile_error', rule: 'compile-error', lines: [8] },
  {
    fixture: 'rustc-error.log',
    report: report({ exit_code: 101 }),
    class: 'build',
    cause: 'compile_error',
    rule: 'compile-error',
    lines: [6, 13],
  },
  { fixture: 'go-build-error.log', report: report(), class: 'build', cause: 'compile_error', rule: 'compile-error-go', lines: [6, 7] },
  { fixture: 'javac-error.log', report: report(), class: 'build', cause: 'compile_error', rule: 'compile-error', lines: [8, 10] },
  { fixture: 'eslint.log', report: report(), class: 'build', cause: 'lint_failure', rule: 'lint-failure', lines: [10] },
];
