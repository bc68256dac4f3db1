/**
 * Docker executor (Docker Engine API through dockerode; works with podman's
 * Docker-compatible service). Each script step runs in its own container of the job
 * image — gitlab-runner's "one container per stage" model — sharing the same bind
 * mounts (build dir and the per-job scratch dir holding the scripts), so after_script
 * gets a fresh container even after the step_script container was killed.
 *
 * prepare: connect (ping) → resolve pull policies → pull with fallback → create the
 * step_script container (config errors surface here, at prepare_executor).
 */
import Docker from 'dockerode';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
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
import { scriptArgv, scriptCommand, signalFromExit } from './docker-script.js';
import {
  containerLogs,
  reportServiceFailure,
  serviceAliases,
  serviceImage,
  servicePorts,
  waitForService,
  type StartedService,
} from './docker-services.js';

/** `[runners.docker]` of config.toml (gitlab-runner's names). */
export interface DockerExecutorConfig {
  /** "unix:///var/run/docker.sock" or "tcp://host:2375"; default $DOCKER_HOST, then the default socket. */
  host?: string;
  /** Image when the job has none. */
  image?: string;
  pull_policy?: PullPolicy[] | PullPolicy;
  allowed_pull_policies?: PullPolicy[];
  /** Transient pull error retries within one policy. */
  pull_retry?: Partial<PullRetryOptions>;
  /** Extra bind mounts "host:container[:ro]". */
  volumes?: string[];
  privileged?: boolean;
  network_mode?: string;
  /** Seconds to wait for services' ports (gitlab-runner's name); -1 = do not wait. Default 30. */
  wait_for_services_timeout?: number;
}

export function dockerClient(host: string | undefined): { docker: Docker; where: string } {
  const where = host || process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
  if (where.startsWith('unix://')) return { docker: new Docker({ socketPath: where.slice('unix://'.length) }), where };
  if (where.startsWith('/')) return { docker: new Docker({ socketPath: where }), where };
  const u = new URL(where.replace(/^tcp:/, 'http:'));
  return {
    docker: new Docker({ host: u.hostname, port: Number(u.port || 2375), protocol: u.protocol === 'https:' ? 'https' : 'http' }),
    where,
  };
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));
const statusOf = (e: unknown) => (e as { statusCode?: number })?.statusCode ?? null;

export class DockerExecutor implements Executor {
  readonly name = 'docker';
  private docker: Docker | null = null;
  private image = '';
  private containers = new Map<ScriptStep, Docker.Container>();
  private allContainers: Docker.Container[] = [];
  private network: Docker.Network | null = null;
  private services: StartedService[] = [];

  constructor(private readonly config: DockerExecutorConfig = {}) {}

  async prepare(ctx: JobContext): Promise<void> {
    const { docker, where } = dockerClient(this.config.host);
    this.docker = docker;
    try {
      await docker.ping();
    } catch (e) {
      throw new BuildError(`Cannot connect to the Docker daemon at ${where}: ${errText(e)}`, 'runner_system_failure', 'prepare_executor');
    }
    const image = ctx.job.image?.name || this.config.image;
    if (!image) {
      throw new BuildError(
        'no image: the job has no `image` and the docker executor section sets none',
        'runner_configuration_error',
        'prepare_executor',
      );
    }
    this.image = image;
    this.currentJob = ctx.job;
    ctx.trace.line(`Using Docker executor with image ${image} ...`);
    await this.pullImage(ctx, image, ctx.job.image?.pull_policy, 'build');
    await this.startServices(ctx);
    this.containers.set('step_script', await this.createContainer(ctx, 'step_script', 'prepare_executor'));
  }

  /**
   * services: a per-job network, each service pulled, created with its aliases and
   * started, then waited for. A pull failure is the job's failure at prepare_executor,
   * naming the service; a service that does not come up is a warning (as gitlab-runner).
   */
  private async startServices(ctx: JobContext): Promise<void> {
    const specs = ctx.job.services ?? [];
    if (specs.length === 0) return;
    const docker = this.docker!;
    const stamp = Date.now().toString(36);
    const labels = { 'com.faultline.job.id': String(ctx.job.id) };
    let networkName = this.config.network_mode;
    if (!networkName) {
      networkName = `faultline-job-${ctx.job.id}-${stamp}`;
      try {
        this.network = await docker.createNetwork({ Name: networkName, Labels: labels, CheckDuplicate: true });
      } catch (e) {
        throw new BuildError(`creating the job network ${networkName}: ${errText(e)}`, 'runner_system_failure', 'prepare_executor');
      }
    }
    this.networkName = networkName;
    for (const [i, spec] of specs.entries()) {
      const image = serviceImage(spec, ctx.env);
      const aliases = serviceAliases(spec, image);
      const what = `service ${image}${aliases.length ? ` (alias ${aliases.join(', ')})` : ''}`;
      ctx.trace.line(`Starting ${what} ...`);
      try {
        await this.pullImage(ctx, image, spec.pull_policy, `service:${aliases[0] ?? i}`);
      } catch (e) {
        if (e instanceof BuildError)
          throw new BuildError(`${what} could not be pulled: ${e.message}`, e.reason, 'prepare_executor', e.extra);
        throw e;
      }
      const name = `faultline-job-${ctx.job.id}-svc-${i}-${stamp}`;
      const env = { ...ctx.env, ...spec.variables };
      let container: Docker.Container;
      try {
        container = await docker.createContainer({
          name,
          Image: image,
          ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
          ...(spec.command ? { Cmd: spec.command } : {}),
          Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
          Labels: { ...labels, 'com.faultline.service': image },
          HostConfig: {
            NetworkMode: networkName,
            Privileged: this.config.privileged ?? false,
            ExtraHosts: this.serviceHosts(),
          },
          NetworkingConfig: { EndpointsConfig: { [networkName]: { Aliases: aliases } } },
        } as Docker.ContainerCreateOptions);
        this.allContainers.push(container);
        await container.start();
      } catch (e) {
        throw new BuildError(`starting ${what}: ${errText(e)}`, 'runner_system_failure', 'prepare_executor', { image });
      }
      const info = (await container.inspect().catch(() => null)) as {
        NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> };
      } | null;
      const ip = info?.NetworkSettings?.Networks?.[networkName]?.IPAddress || null;
      this.services.push({ spec, image, aliases, container, name, ip });
    }
    const timeoutMs = (this.config.wait_for_services_timeout ?? 30) * 1000;
    await Promise.all(
      this.services.map(async (s) => {
        const ports = await servicePorts(docker, s.image, s.spec.variables);
        if (ports.length) ctx.trace.line(`Waiting for services to be up and running (timeout ${timeoutMs / 1000} seconds)...`);
        const problem = await waitForService(s, ports, timeoutMs);
        if (problem) await reportServiceFailure(ctx, s, problem);
      }),
    );
  }

  private networkName: string | undefined;

  /** "alias:ip" for every started service, so containers reach services by alias without engine DNS. */
  private serviceHosts(): string[] {
    return this.services.flatMap((s) => (s.ip ? s.aliases.map((a) => `${a}:${s.ip}`) : []));
  }

  private async pullImage(ctx: JobContext, image: string, jobPolicies: PullPolicy[] | undefined, container: string): Promise<void> {
    const registry = registryOf(image);
    let policies: PullPolicy[];
    try {
      policies = effectivePullPolicies({
        job: jobPolicies,
        runner: parsePullPolicies(this.config.pull_policy, 'docker.pull_policy'),
        allowed: parsePullPolicies(this.config.allowed_pull_policies, 'docker.allowed_pull_policies'),
      });
    } catch (e) {
      if (e instanceof PullPolicyConfigError) {
        throw new BuildError(e.message, 'runner_configuration_error', 'pull_image', { image, registry });
      }
      throw e;
    }
    const started = new Date();
    try {
      const r = await pullWithPolicies({
        image,
        registry,
        policies,
        container,
        trace: ctx.trace,
        records: ctx.imagePulls,
        retry: { attempts: 3, backoffMs: 1000, ...this.config.pull_retry },
        attempt: (policy) => this.attempt(ctx, image, registry, policy),
      });
      ctx.onStage?.('pull_image', started, new Date(), { image, registry, policy: r.policy, outcome: r.outcome });
    } catch (e) {
      ctx.onStage?.('pull_image', started, new Date(), { image, registry, outcome: 'failure' });
      if (e instanceof ImagePullError) throw pullErrorToBuildError(e);
      throw e;
    }
  }

  /** One policy, one try: "local" when the local image is used, "success" when pulled. */
  private async attempt(ctx: JobContext, image: string, registry: string, policy: PullPolicy): Promise<'success' | 'local'> {
    if (policy !== 'always' && (await this.hasLocalImage(image))) return 'local';
    if (policy === 'never') {
      throw new ImagePullError(
        `image "${image}" is not present locally and the pull policy is "never"`,
        image,
        registry,
        policy,
        'not_found',
      );
    }
    ctx.trace.line(`Pulling docker image ${image} ...`);
    await this.pull(image, registry, policy);
    return 'success';
  }

  private async hasLocalImage(image: string): Promise<boolean> {
    try {
      await this.docker!.getImage(image).inspect();
      return true;
    } catch (e) {
      if (statusOf(e) === 404) return false;
      throw new BuildError(`inspecting image ${image}: ${errText(e)}`, 'runner_system_failure', 'pull_image', { image });
    }
  }

  /** A failed pull answers HTTP 200 with `{"error": …}` in the streamed body: read it all. */
  private async pull(image: string, registry: string, policy: PullPolicy): Promise<void> {
    const fail = (msg: string, status?: number | null) => new ImagePullError(msg, image, registry, policy, classifyPullError(msg, status));
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker!.pull(image, this.platform ? { platform: this.platform } : {});
    } catch (e) {
      const status = statusOf(e);
      // No HTTP status: the engine itself is unreachable, not the registry.
      if (status === null)
        throw new BuildError(`pulling ${image}: ${errText(e)}`, 'runner_system_failure', 'pull_image', { image, registry });
      throw fail(errText(e), status);
    }
    const error = await new Promise<string | null>((resolve, reject) => {
      let buf = '';
      let err: string | null = null;
      const take = (line: string) => {
        if (!line.trim()) return;
        try {
          const ev = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
          if (ev.error || ev.errorDetail?.message) err = ev.errorDetail?.message || ev.error || err;
        } catch {
          /* progress noise that is not JSON */
        }
      };
      stream.on('data', (c: Buffer) => {
        buf += c.toString('utf8');
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          take(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
      stream.on('end', () => (take(buf), resolve(err)));
      stream.on('error', (e) => reject(fail(errText(e))));
    });
    if (error) throw fail(error);
  }

  private get platform(): string | undefined {
    return this.currentJob?.image?.docker?.platform;
  }
  private currentJob: JobContext['job'] | null = null;

  private async createContainer(
    ctx: JobContext,
    step: ScriptStep,
    stage: 'prepare_executor' | ScriptStep,
    extraEnv: Record<string, string> = {},
  ) {
    const env = { ...ctx.env, ...extraEnv };
    const scriptPath = join(ctx.tmpDir, `${step}.sh`);
    // `image: entrypoint:` runs that entrypoint with the script command as its arguments
    // (the image's entrypoint must exec "$@", as with gitlab-runner); [""] = none.
    const ep = (ctx.job.image?.entrypoint ?? []).filter((a) => a !== '');
    const user = ctx.job.image?.docker?.user;
    try {
      const c = await this.docker!.createContainer({
        name: `faultline-job-${ctx.job.id}-${step}-${Date.now().toString(36)}`,
        Image: this.image,
        Entrypoint: ep.length ? ep : ['sh', '-c'],
        Cmd: ep.length ? scriptArgv(scriptPath) : scriptCommand(scriptPath),
        ...(user ? { User: user } : {}),
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        WorkingDir: ctx.buildDir,
        Labels: { 'com.faultline.job.id': String(ctx.job.id), 'com.faultline.step': step },
        Tty: false,
        OpenStdin: false,
        AttachStdout: true,
        AttachStderr: true,
        HostConfig: {
          Binds: [`${ctx.buildDir}:${ctx.buildDir}`, `${ctx.tmpDir}:${ctx.tmpDir}`, ...(this.config.volumes ?? [])],
          Privileged: this.config.privileged ?? false,
          NetworkMode: this.networkName ?? this.config.network_mode,
          ...(this.services.length ? { ExtraHosts: this.serviceHosts() } : {}),
        },
      });
      this.allContainers.push(c);
      return c;
    } catch (e) {
      throw new BuildError(`creating the ${step} container: ${errText(e)}`, 'runner_system_failure', stage, { image: this.image });
    }
  }

  async runScript(ctx: JobContext, step: ScriptStep, script: string, opts: RunScriptOptions): Promise<StepResult> {
    if (!this.docker) throw new BuildError('docker executor: runScript before prepare', 'runner_system_failure', step);
    writeFileSync(join(ctx.tmpDir, `${step}.sh`), script, { mode: 0o755 });
    let container = this.containers.get(step);
    this.containers.delete(step);
    // step_script's container was made in prepare without extraEnv; recreate if the step needs extra env.
    if (!container || (opts.extraEnv && Object.keys(opts.extraEnv).length)) {
      container = await this.createContainer(ctx, step, step, opts.extraEnv);
    }
    const c = container;
    const out = new PassThrough();
    out.on('data', (d: Buffer) => ctx.trace.write(d));
    let attach: NodeJS.ReadableStream;
    try {
      attach = await c.attach({ stream: true, stdout: true, stderr: true, logs: true });
      this.docker.modem.demuxStream(attach, out, out);
      await c.start();
    } catch (e) {
      throw new BuildError(`starting the ${step} container: ${errText(e)}`, 'runner_system_failure', step, { image: this.image });
    }
    const drained = new Promise<void>((r) => {
      attach.once('end', r);
      attach.once('close', r);
    });

    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    let lastSignal: string | null = null;
    const kill = (signal: string) => {
      lastSignal = signal;
      c.kill({ signal }).catch(() => undefined); // already gone is fine
    };
    const onAbort = () => {
      aborted = true;
      kill('SIGTERM');
      killTimer = setTimeout(() => kill('SIGKILL'), opts.graceMs);
    };
    if (opts.signal.aborted) onAbort();
    else opts.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const res = (await c.wait()) as { StatusCode: number };
      // the attach stream can lag the exit a little; don't hang on engines that keep it open
      await Promise.race([drained, new Promise((r) => setTimeout(r, 2000))]);
      const code = res.StatusCode;
      const sig = aborted ? signalFromExit(code, lastSignal) : null;
      return { exitCode: sig ? null : code, signal: sig, aborted };
    } catch (e) {
      throw new BuildError(`waiting for the ${step} container: ${errText(e)}`, 'runner_system_failure', step, { image: this.image });
    } finally {
      clearTimeout(killTimer);
      opts.signal.removeEventListener('abort', onAbort);
      out.end();
    }
  }

  async cleanup(ctx: JobContext): Promise<void> {
    // CI_DEBUG_SERVICES=true (gitlab-runner's switch): every service's logs into the job log.
    if (ctx.env.CI_DEBUG_SERVICES === 'true') {
      for (const s of this.services) {
        const logs = await containerLogs(s.container).catch((e) => `(logs unavailable: ${errText(e)})`);
        ctx.trace.line(`Service ${s.name} (${s.image}) logs:`);
        ctx.trace.write(logs.endsWith('\n') || logs === '' ? logs : `${logs}\n`);
      }
    }
    const list = this.allContainers;
    this.allContainers = [];
    this.containers.clear();
    this.services = [];
    // v: anonymous volumes of the image go with the container
    await Promise.all(
      list.map((c) => c.remove({ force: true, v: true }).catch((e) => (statusOf(e) === 404 ? undefined : Promise.reject(e)))),
    );
    const net = this.network;
    this.network = null;
    if (net) await net.remove().catch((e) => (statusOf(e) === 404 ? undefined : Promise.reject(e)));
  }
}

export function createDockerExecutor(config: DockerExecutorConfig = {}): Executor {
  return new DockerExecutor(config);
}
