/**
 * Image pull policies, engine-agnostic (shared by the docker and kubernetes executors):
 * which policies apply, whether the job may ask for them, how a pull error is typed,
 * which errors are worth retrying, and the per-image fallback loop with gitlab-runner's
 * trace lines. The engine-specific part is the `attempt(policy)` callback.
 */
import { PULL_POLICIES, type PullPolicy } from '../pipeline/model.js';
import type { ImagePullRecord } from '../protocol/runner-api.js';
import { BuildError, type TraceSink } from './executor.js';

export { PULL_POLICIES, type PullPolicy };

export const IMAGE_PULL_ERROR_KINDS = ['registry_unreachable', 'auth_failed', 'not_found', 'other'] as const;
export type ImagePullErrorKind = (typeof IMAGE_PULL_ERROR_KINDS)[number];

export class ImagePullError extends Error {
  override readonly name = 'ImagePullError';
  constructor(
    message: string,
    readonly image: string,
    readonly registry: string,
    readonly policy: PullPolicy | null,
    readonly kind: ImagePullErrorKind,
  ) {
    super(message);
  }
}

/** A policy list the job or runner config asked for that is not allowed / not a policy. */
export class PullPolicyConfigError extends Error {
  override readonly name = 'PullPolicyConfigError';
}

const fmt = (ps: readonly string[]) => `[${ps.join(' ')}]`;

export function parsePullPolicies(value: unknown, field: string): PullPolicy[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((p) => {
    if (typeof p !== 'string' || !(PULL_POLICIES as readonly string[]).includes(p)) {
      throw new PullPolicyConfigError(`${field}: unknown pull policy ${JSON.stringify(p)} (expected one of ${PULL_POLICIES.join(', ')})`);
    }
    return p as PullPolicy;
  });
}

/**
 * The effective policies for one image, as gitlab-runner decides them:
 * the job's list if it has one, else the runner's `pull_policy`, else ["always"].
 * A job list must be a subset of `allowed_pull_policies` (default: the runner's
 * `pull_policy`, else ["always"]).
 */
export function effectivePullPolicies(opts: {
  job?: readonly PullPolicy[] | null;
  runner?: readonly PullPolicy[] | null;
  allowed?: readonly PullPolicy[] | null;
}): PullPolicy[] {
  const runner = opts.runner?.length ? [...opts.runner] : (['always'] as PullPolicy[]);
  const allowed = opts.allowed?.length ? [...opts.allowed] : runner;
  if (opts.runner?.length && opts.allowed?.length) {
    const bad = runner.filter((p) => !allowed.includes(p));
    if (bad.length) {
      throw new PullPolicyConfigError(
        `pull_policy ${fmt(bad)} defined in the runner's executor section is not one of the allowed_pull_policies ${fmt(allowed)}`,
      );
    }
  }
  if (!opts.job?.length) return runner;
  const bad = opts.job.filter((p) => !allowed.includes(p));
  if (bad.length) {
    throw new PullPolicyConfigError(
      `pull_policy ${fmt(bad)} defined in the job's image is not one of the allowed_pull_policies ${fmt(allowed)}`,
    );
  }
  return [...new Set(opts.job)];
}

/** Type a pull error from the engine's text (and HTTP status when there is one). */
export function classifyPullError(message: string, statusCode?: number | null): ImagePullErrorKind {
  const m = message.toLowerCase();
  if (statusCode === 401 || statusCode === 403) return 'auth_failed';
  if (
    /(status|code|response)\D{0,12}(401|403)\b|unauthorized|pull access denied|authentication required|access denied|denied:|forbidden|requested access to the resource is denied/.test(
      m,
    )
  ) {
    return 'auth_failed';
  }
  if (
    isTransientPullError(m) ||
    /(status|code|response)\D{0,12}5\d\d\b|internal server error|bad gateway|service unavailable|gateway timeout|x509|certificate|server gave http response to https client|no route to host|network is unreachable/.test(
      m,
    )
  ) {
    return 'registry_unreachable';
  }
  if (
    statusCode === 404 ||
    /manifest unknown|not found|name unknown|no such image|does not exist|image not known|invalid reference format|repository name must/.test(
      m,
    )
  ) {
    return 'not_found';
  }
  if (statusCode && statusCode >= 500) return 'registry_unreachable';
  return 'other';
}

/** Errors that may go away on their own: worth retrying within the same policy. */
export function isTransientPullError(message: string): boolean {
  return /connection refused|connection reset|econnrefused|econnreset|i\/o timeout|timed out|etimedout|tls handshake|no such host|server misbehaving|temporary failure in name resolution|eai_again|enotfound|dial tcp: lookup/i.test(
    message,
  );
}

export interface PullRetryOptions {
  /** Tries per policy for transient errors (1 = no retry). */
  attempts: number;
  /** First backoff; doubled after every retry. */
  backoffMs: number;
}
export const DEFAULT_PULL_RETRY: PullRetryOptions = { attempts: 3, backoffMs: 1000 };

/** Should a failed try number `tryNo` (1-based) be retried under `retry`? */
export function shouldRetry(err: ImagePullError, tryNo: number, retry: PullRetryOptions): boolean {
  return tryNo < retry.attempts && err.kind === 'registry_unreachable' && isTransientPullError(err.message);
}

export function backoffDelay(tryNo: number, retry: PullRetryOptions): number {
  return retry.backoffMs * 2 ** (tryNo - 1);
}

/** What one try of one policy did. */
export type PullOutcome = 'success' | 'local';

export interface PullWithPoliciesOptions {
  image: string;
  registry: string;
  policies: readonly PullPolicy[];
  /** Container name for the trace line ("build"). */
  container: string;
  /** Try one policy; throw ImagePullError on a pull failure, anything else aborts the loop. */
  attempt: (policy: PullPolicy) => Promise<PullOutcome>;
  trace: TraceSink;
  records: ImagePullRecord[];
  retry?: PullRetryOptions;
  /** The line logged when a policy fails and another remains (engine-specific wording). */
  failureLine?: (err: ImagePullError, policy: PullPolicy) => string;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Try the policies in order; a pull failure falls back to the next policy for this
 * image only. Returns the policy that worked; throws an ImagePullError naming every
 * policy tried when none did.
 */
export async function pullWithPolicies(o: PullWithPoliciesOptions): Promise<{ policy: PullPolicy; outcome: PullOutcome }> {
  const retry = o.retry ?? DEFAULT_PULL_RETRY;
  const sleep = o.sleep ?? defaultSleep;
  const failureLine =
    o.failureLine ?? ((err: ImagePullError, p: PullPolicy) => `WARNING: Failed to pull image with policy "${p}": ${err.message}`);
  o.trace.line(`Using effective pull policy of ${fmt(o.policies)} for container ${o.container}`);
  let last: ImagePullError | null = null;
  for (const [i, policy] of o.policies.entries()) {
    o.trace.line(`Attempt #${i + 1}: Trying "${policy}" pull policy`);
    for (let tryNo = 1; ; tryNo++) {
      const start = Date.now();
      const record = (outcome: ImagePullRecord['outcome'], kind: string | null) =>
        o.records.push({
          image: o.image,
          registry: o.registry,
          policy,
          outcome,
          kind,
          duration_ms: Date.now() - start,
          at: new Date(start).toISOString(),
        });
      try {
        const outcome = await o.attempt(policy);
        record(outcome, null);
        if (outcome === 'local') o.trace.line(`Using locally found image version due to "${policy}" pull policy`);
        return { policy, outcome };
      } catch (e) {
        if (!(e instanceof ImagePullError)) throw e;
        record('failure', e.kind);
        last = e;
        if (shouldRetry(e, tryNo, retry)) {
          const delay = backoffDelay(tryNo, retry);
          o.trace.line(
            `WARNING: Transient error pulling image "${o.image}" (try ${tryNo}/${retry.attempts}), retrying in ${delay}ms: ${e.message}`,
          );
          await sleep(delay);
          continue;
        }
        o.trace.line(failureLine(e, policy));
        break;
      }
    }
  }
  const reason = last?.message ?? 'no pull policy to try';
  throw new ImagePullError(
    `failed to pull image "${o.image}" with specified policies ${fmt(o.policies)}: ${reason}`,
    o.image,
    o.registry,
    o.policies.at(-1) ?? null,
    last?.kind ?? 'other',
  );
}

/**
 * gitlab-runner's mapping: a missing image (not_found) is the job's configuration,
 * anything else an image pull failure.
 */
export function pullErrorToBuildError(err: ImagePullError): BuildError {
  return new BuildError(err.message, err.kind === 'not_found' ? 'runner_configuration_error' : 'image_pull_failure', 'pull_image', {
    image: err.image,
    registry: err.registry,
    kind: err.kind,
  });
}
