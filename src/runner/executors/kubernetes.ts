/**
 * Kubernetes executor (@kubernetes/client-node v2). Each script step runs in a pod
 * whose build container gets the script through its command args (no exec needed);
 * the executor watches the pod, follows its log into the trace, and reads the exit
 * code from the container's terminated state. after_script gets its own pod, so it
 * still runs after the step pod was stopped.
 *
 * Pull policies: the pod is created with imagePullPolicy of the current policy; on
 * ErrImagePull / ImagePullBackOff it is deleted and created again with the next one.
 * Sources: the runner host's build dir is mounted as a hostPath volume at the same
 * path (the runner must run on the node, or the orchestrator must not rely on sources).
 */
import * as k8s from '@kubernetes/client-node';
import { Writable } from 'node:stream';
import { BuildError, type Executor, type JobContext, type RunScriptOptions, type ScriptStep, type StepResult } from '../executor.js';
import { registryOf } from '../image-ref.js';
import {
  classifyPullError,
  effectivePullPolicies,
  ImagePullError,
  parsePullPolicies,
  pullErrorToBuildError,
  pullWithPolicies,
  PullPolicyConfigError,
  type PullPolicy,
  type PullRetryOptions,
} from '../pull-policy.js';
import { signalFromExit } from './docker-script.js';

/** `[runners.kubernetes]` of config.toml (gitlab-runner's names). */
export interface KubernetesExecutorConfig {
  /** API server URL; without it the default kubeconfig / in-cluster config is used. */
  host?: string;
  bearer_token?: string;
  ca_data?: string;
  tls_insecure?: boolean;
  namespace?: string;
  image?: string;
  service_account?: string;
  cpu_request?: string;
  cpu_limit?: string;
  memory_request?: string;
  memory_limit?: string;
  node_selector?: Record<string, string>;
  image_pull_secrets?: string[];
  pull_policy?: PullPolicy[] | PullPolicy;
  allowed_pull_policies?: PullPolicy[];
  pull_retry?: Partial<PullRetryOptions>;
  /** Seconds to wait for the pod to run (gitlab-runner default 180). */
  poll_timeout?: number;
  /** Mount the host build dir into the pod (default true). */
  mount_build_dir?: boolean;
}

const K8S_POLICY: Record<PullPolicy, string> = { always: 'Always', 'if-not-present': 'IfNotPresent', never: 'Never' };
const PULL_WAITING = new Set(['ErrImagePull', 'ImagePullBackOff', 'ErrImageNeverPull']);
const CONFIG_WAITING = new Set(['InvalidImageName', 'CreateContainerConfigError']);
const CONTAINER = 'build';

const errText = (e: unknown) => {
  const body = (e as { body?: unknown })?.body;
  if (body && typeof body === 'object' && 'message' in body) return String((body as { message: unknown }).message);
  if (typeof body === 'string' && body) {
    try {
      return String(JSON.parse(body).message ?? body);
    } catch {
      return body;
    }
  }
  return e instanceof Error ? e.message : String(e);
};
const codeOf = (e: unknown) => (e as { code?: number; statusCode?: number })?.code ?? (e as { statusCode?: number })?.statusCode;

/** What the pod's build container did, as the watch reported it. */
type PodOutcome =
  | { kind: 'running' }
  | { kind: 'terminated'; exitCode: number }
  | { kind: 'pull_failed'; reason: string; message: string }
  | { kind: 'config_error'; reason: string; message: string }
  | { kind: 'system'; message: string };

export function kubeConfigFor(c: KubernetesExecutorConfig): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (!c.host) {
    kc.loadFromDefault();
    return kc;
  }
  kc.loadFromOptions({
    clusters: [
      {
        name: 'c',
        server: c.host, // plain http (e.g. `kubectl proxy`) has no TLS to verify; client-node refuses it otherwise
        skipTLSVerify: c.tls_insecure ?? c.host.startsWith('http:'),
        caData: c.ca_data,
      },
    ],
    users: [{ name: 'u', token: c.bearer_token }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return kc;
}

export class KubernetesExecutor implements Executor {
  readonly name = 'kubernetes';
  private kc: k8s.KubeConfig;
  private api: k8s.CoreV1Api;
  private ns: string;
  private image = '';
  private policies: PullPolicy[] = [];
  /** After the first pod ran, later pods (after_script) use the policy that worked. */
  private workedPolicy: PullPolicy | null = null;
  private pods = new Set<string>();

  constructor(private readonly config: KubernetesExecutorConfig = {}) {
    this.kc = kubeConfigFor(config);
    this.api = this.kc.makeApiClient(k8s.CoreV1Api);
    this.ns = config.namespace ?? 'default';
  }

  async prepare(ctx: JobContext): Promise<void> {
    const image = ctx.job.image?.name || this.config.image;
    if (!image)
      throw new BuildError(
        'no image: the job has no `image` and the kubernetes executor section sets none',
        'runner_configuration_error',
        'prepare_executor',
      );
    this.image = image;
    try {
      this.policies = effectivePullPolicies({
        job: ctx.job.image?.pull_policy,
        runner: parsePullPolicies(this.config.pull_policy, 'kubernetes.pull_policy'),
        allowed: parsePullPolicies(this.config.allowed_pull_policies, 'kubernetes.allowed_pull_policies'),
      });
    } catch (e) {
      if (e instanceof PullPolicyConfigError)
        throw new BuildError(e.message, 'runner_configuration_error', 'pull_image', { image, registry: registryOf(image) });
      throw e;
    }
    try {
      await this.api.listNamespacedPod({ namespace: this.ns, limit: 1 });
    } catch (e) {
      throw new BuildError(
        `Kubernetes API at ${this.kc.getCurrentCluster()?.server}: ${errText(e)}`,
        'runner_system_failure',
        'prepare_executor',
      );
    }
    ctx.trace.line(`Using Kubernetes executor with image ${image} ...`);
    ctx.trace.line(`Using Kubernetes namespace: ${this.ns}`);
  }

  private podSpec(ctx: JobContext, step: ScriptStep, script: string, policy: PullPolicy, env: Record<string, string>): k8s.V1Pod {
    const c = this.config;
    const mount = c.mount_build_dir ?? true;
    const limits = { ...(c.cpu_limit ? { cpu: c.cpu_limit } : {}), ...(c.memory_limit ? { memory: c.memory_limit } : {}) };
    const requests = { ...(c.cpu_request ? { cpu: c.cpu_request } : {}), ...(c.memory_request ? { memory: c.memory_request } : {}) };
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `runner-job-${ctx.job.id}-${step.replace('_', '-')}-`,
        labels: { 'faultline.job.id': String(ctx.job.id), 'faultline.step': step },
      },
      spec: {
        restartPolicy: 'Never',
        serviceAccountName: c.service_account,
        nodeSelector: c.node_selector,
        imagePullSecrets: c.image_pull_secrets?.map((name) => ({ name })),
        terminationGracePeriodSeconds: Math.max(1, Math.ceil(ctx.job.cancel_grace_seconds ?? 30)),
        containers: [
          {
            name: CONTAINER,
            image: this.image,
            imagePullPolicy: K8S_POLICY[policy],
            // the script travels in the pod spec: no exec/attach channel is needed
            command: ['sh', '-c', STEP_WRAPPER, step, script],
            env: Object.entries(env).map(([name, value]) => ({ name, value })),
            workingDir: mount ? ctx.buildDir : undefined,
            resources: {
              limits: Object.keys(limits).length ? limits : undefined,
              requests: Object.keys(requests).length ? requests : undefined,
            },
            volumeMounts: mount ? [{ name: 'builds', mountPath: ctx.buildDir }] : undefined,
          },
        ],
        volumes: mount ? [{ name: 'builds', hostPath: { path: ctx.buildDir, type: 'Directory' } }] : undefined,
      },
    };
  }

  /** Watch one pod until `until` says it is decided, or poll_timeout passes. */
  private async watchPod(
    name: string,
    resourceVersion: string | undefined,
    decide: (pod: k8s.V1Pod | null, type: string) => PodOutcome | null,
    timeoutMs: number | null,
  ): Promise<PodOutcome> {
    const watch = new k8s.Watch(this.kc);
    let last: k8s.V1Pod | null = null;
    let rv = resourceVersion;
    const deadline = timeoutMs === null ? null : Date.now() + timeoutMs;
    for (;;) {
      const result = await new Promise<PodOutcome | 'ended'>((resolve) => {
        let ctl: AbortController | null = null;
        let settled = false;
        const finish = (v: PodOutcome | 'ended') => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          ctl?.abort();
          resolve(v);
        };
        const timer = deadline === null ? undefined : setTimeout(() => finish(notReady(last)), Math.max(0, deadline - Date.now()));
        watch
          .watch(
            `/api/v1/namespaces/${this.ns}/pods`,
            { fieldSelector: `metadata.name=${name}`, resourceVersion: rv, allowWatchBookmarks: false },
            (type, obj: k8s.V1Pod) => {
              if (type === 'ERROR') return finish('ended');
              rv = obj.metadata?.resourceVersion ?? rv;
              last = type === 'DELETED' ? last : obj;
              const d = decide(obj, type);
              if (d) finish(d);
            },
            () => finish('ended'),
          )
          .then(
            (c) => {
              ctl = c;
              if (settled) c.abort();
            },
            () => finish('ended'),
          );
      });
      if (result !== 'ended') return result;
      // The watch ended (server timeout, too old rv): re-read and watch again.
      if (deadline !== null && Date.now() >= deadline) return notReady(last);
      try {
        const pod = await this.api.readNamespacedPod({ name, namespace: this.ns });
        last = pod;
        rv = pod.metadata?.resourceVersion;
        const d = decide(pod, 'MODIFIED');
        if (d) return d;
      } catch (e) {
        if (codeOf(e) === 404) {
          const d = decide(null, 'DELETED');
          if (d) return d;
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Create the step's pod with `policy` and wait until its container runs (or fails to). */
  private async startPod(
    ctx: JobContext,
    step: ScriptStep,
    script: string,
    policy: PullPolicy,
    env: Record<string, string>,
  ): Promise<string> {
    let created: k8s.V1Pod;
    try {
      created = await this.api.createNamespacedPod({ namespace: this.ns, body: this.podSpec(ctx, step, script, policy, env) });
    } catch (e) {
      const code = codeOf(e);
      const reason = code === 422 || code === 400 || code === 403 ? 'runner_configuration_error' : 'runner_system_failure';
      throw new BuildError(`creating the ${step} pod: ${errText(e)}`, reason, 'prepare_executor', { image: this.image });
    }
    const name = created.metadata!.name!;
    this.pods.add(name);
    ctx.trace.line(`Waiting for pod ${this.ns}/${name} to be running, status is ${created.status?.phase ?? 'Pending'}`);
    const outcome = await this.watchPod(name, created.metadata?.resourceVersion, startDecision, (this.config.poll_timeout ?? 180) * 1000);
    const registry = registryOf(this.image);
    switch (outcome.kind) {
      case 'running':
      case 'terminated':
        return name;
      case 'pull_failed':
        await this.deletePod(name, 0);
        throw new ImagePullError(`${outcome.reason}: ${outcome.message}`, this.image, registry, policy, classifyPullError(outcome.message));
      case 'config_error':
        await this.deletePod(name, 0);
        throw new BuildError(`${outcome.reason}: ${outcome.message}`, 'runner_configuration_error', 'prepare_executor', {
          image: this.image,
          registry,
        });
      case 'system':
        await this.deletePod(name, 0);
        throw new BuildError(outcome.message, 'runner_system_failure', 'prepare_executor', { image: this.image, registry });
    }
  }

  async runScript(ctx: JobContext, step: ScriptStep, script: string, opts: RunScriptOptions): Promise<StepResult> {
    const env = { ...ctx.env, ...opts.extraEnv };
    const registry = registryOf(this.image);
    let name: string;
    if (this.workedPolicy) {
      name = await this.startPod(ctx, step, script, this.workedPolicy, env).catch((e) => {
        throw e instanceof ImagePullError ? pullErrorToBuildError(e) : e;
      });
    } else {
      let started = '';
      const t0 = new Date();
      try {
        const r = await pullWithPolicies({
          image: this.image,
          registry,
          policies: this.policies,
          container: CONTAINER,
          trace: ctx.trace,
          records: ctx.imagePulls,
          retry: { attempts: 3, backoffMs: 1000, ...this.config.pull_retry },
          failureLine: (err, p) => `Failed to pull image "${this.image}" for container "${CONTAINER}" with policy "${p}": ${err.message}`,
          attempt: async (p) => {
            started = await this.startPod(ctx, step, script, p, env);
            return 'success';
          },
        });
        this.workedPolicy = r.policy;
        ctx.onStage?.('pull_image', t0, new Date(), { image: this.image, registry, policy: r.policy });
      } catch (e) {
        if (e instanceof ImagePullError) throw pullErrorToBuildError(e);
        throw e;
      }
      name = started;
    }
    return this.follow(ctx, name, step, opts);
  }

  /** Stream the build container's log and wait for its exit code; abort deletes the pod. */
  private async follow(ctx: JobContext, name: string, step: ScriptStep, opts: RunScriptOptions): Promise<StepResult> {
    const sink = new Writable({
      write(chunk, _enc, cb) {
        ctx.trace.write(chunk as Buffer);
        cb();
      },
    });
    const logDone = new Promise<void>((r) => sink.once('finish', r).once('close', r));
    const logCtl = await new k8s.Log(this.kc).log(this.ns, name, CONTAINER, sink, { follow: true }).catch((e) => {
      ctx.trace.line(`WARNING: could not follow the pod log: ${errText(e)}`);
      sink.end();
      return null;
    });
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      // the kubelet sends SIGTERM, then SIGKILL after the grace period
      this.deletePod(name, Math.max(1, Math.ceil(opts.graceMs / 1000))).catch((e: unknown) =>
        ctx.trace.line(`WARNING: deleting pod ${name} failed: ${(e as Error).message ?? String(e)}`),
      );
    };
    if (opts.signal.aborted) onAbort();
    else opts.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const outcome = await this.watchPod(name, undefined, endDecision, null);
      await Promise.race([logDone, new Promise((r) => setTimeout(r, 2000))]);
      if (outcome.kind === 'terminated') {
        const sig = aborted ? signalFromExit(outcome.exitCode, 'SIGTERM') : null;
        return { exitCode: sig ? null : outcome.exitCode, signal: sig, aborted };
      }
      if (aborted) return { exitCode: null, signal: 'SIGKILL', aborted: true };
      throw new BuildError(
        outcome.kind === 'system' || outcome.kind === 'config_error' ? outcome.message : `pod ${name} ended without an exit code`,
        'runner_system_failure',
        step,
        { image: this.image },
      );
    } finally {
      opts.signal.removeEventListener('abort', onAbort);
      logCtl?.abort();
    }
  }

  private async deletePod(name: string, graceSeconds: number): Promise<void> {
    try {
      await this.api.deleteNamespacedPod({ name, namespace: this.ns, gracePeriodSeconds: graceSeconds });
    } catch (e) {
      if (codeOf(e) !== 404) throw e;
    }
  }

  async cleanup(_ctx: JobContext): Promise<void> {
    const names = [...this.pods];
    this.pods.clear();
    await Promise.all(names.map((n) => this.deletePod(n, 0)));
  }
}

/** $0 = step name, $1 = script text; run it with bash when present, forward SIGTERM. */
const STEP_WRAPPER = [
  'f="${TMPDIR:-/tmp}/faultline-$0.sh"; printf "%s\\n" "$1" > "$f"',
  'if command -v bash >/dev/null 2>&1; then s=bash; else s=sh; fi',
  '"$s" "$f" & c=$!',
  `trap 'kill -TERM "$c" 2>/dev/null' TERM INT`,
  'while :; do wait "$c"; r=$?; kill -0 "$c" 2>/dev/null || break; done',
  'exit "$r"',
].join('\n');

const buildStatus = (pod: k8s.V1Pod | null) => pod?.status?.containerStatuses?.find((s) => s.name === CONTAINER);
const disruption = (pod: k8s.V1Pod | null) => pod?.status?.conditions?.find((c) => c.type === 'DisruptionTarget' && c.status === 'True');

/** Before the container runs: is the pod running, failing to pull, misconfigured or gone? */
function startDecision(pod: k8s.V1Pod | null, type: string): PodOutcome | null {
  if (type === 'DELETED' || !pod) return { kind: 'system', message: 'pod was deleted before it started' };
  const d = disruption(pod);
  if (d) return { kind: 'system', message: `${d.type}: ${d.reason ?? ''}: ${d.message ?? ''}` };
  const st = buildStatus(pod);
  const waiting = st?.state?.waiting;
  if (waiting?.reason && PULL_WAITING.has(waiting.reason))
    return { kind: 'pull_failed', reason: waiting.reason, message: waiting.message ?? '' };
  if (waiting?.reason && CONFIG_WAITING.has(waiting.reason))
    return { kind: 'config_error', reason: waiting.reason, message: waiting.message ?? '' };
  if (st?.state?.running) return { kind: 'running' };
  if (st?.state?.terminated) return { kind: 'running' }; // ran already: its log and exit code are read next
  if (pod.status?.phase === 'Failed')
    return { kind: 'system', message: `pod failed: ${pod.status.reason ?? ''} ${pod.status.message ?? ''}`.trim() };
  return null;
}

/** After the container started: its exit code, or why the pod went away. */
function endDecision(pod: k8s.V1Pod | null, type: string): PodOutcome | null {
  const term = buildStatus(pod)?.state?.terminated;
  const d = disruption(pod);
  if (d) return { kind: 'system', message: `${d.type}: ${d.reason ?? ''}: ${d.message ?? ''}` };
  if (term) return { kind: 'terminated', exitCode: term.exitCode };
  if (type === 'DELETED' || !pod) return { kind: 'system', message: 'pod was deleted while the script ran' };
  return null;
}

/** poll_timeout passed: report the condition that keeps the pod from running. */
function notReady(pod: k8s.V1Pod | null): PodOutcome {
  const conds = pod?.status?.conditions ?? [];
  const c =
    conds.find((x) => x.type === 'PodScheduled' && x.status === 'False') ??
    conds.find((x) => x.type === 'Ready' && x.status === 'False') ??
    conds.find((x) => x.status === 'False');
  const why = c ? `${c.reason ?? c.type}: ${c.message ?? ''}` : `pod phase ${pod?.status?.phase ?? 'unknown'}`;
  return { kind: 'system', message: `timed out waiting for pod to start: ${why}` };
}

export function createKubernetesExecutor(config: KubernetesExecutorConfig = {}): Executor {
  return new KubernetesExecutor(config);
}
