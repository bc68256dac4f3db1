/**
 * A fake Kubernetes API server (plain node http) for the kubernetes executor's tests:
 * no API server can run on the build machines. It speaks the real REST + watch
 * protocol for core/v1 pods — create, get, list, watch (`?watch=true`, chunked JSON
 * lines {"type": ADDED|MODIFIED|DELETED, "object": pod} with resourceVersions), delete
 * (with grace period), log (?follow=true) — and plays a simulated node that walks pods
 * through the status sequences real clusters show:
 *
 *   Pending (PodScheduled=False, Unschedulable)                       node "full"
 *   Pending, ContainersNotReady, build waiting ContainerCreating       forever when `stuckCreating`
 *   … waiting ErrImagePull → ImagePullBackOff                          registry down / image missing
 *   … waiting InvalidImageName / ErrImageNeverPull
 *   Running → Succeeded | Failed (terminated.exitCode)                 the command really runs
 *   Running → DisruptionTarget=True, Failed/Evicted → DELETED          `evictAfterMs`
 *
 * The "kubelet" runs the container's command as a host process (cwd = workingDir,
 * env from the spec), so logs, exit codes and SIGTERM/SIGKILL on delete are real.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeKubeNode {
  /** Images present on the node. */
  localImages: Set<string>;
  /** Images the registry serves (a pull adds them to localImages). */
  registryImages: Set<string>;
  registryDown: boolean;
  unschedulable: boolean;
  /** Containers never leave ContainerCreating. */
  stuckCreating: boolean;
  /** Evict running pods after this many ms. */
  evictAfterMs: number | null;
  /** Delay between status transitions (real clusters take seconds; tests want ms). */
  stepMs: number;
}

type Json = Record<string, any>;
interface PodState {
  pod: Json;
  proc: ChildProcess | null;
  log: Buffer[];
  logDone: boolean;
  logWaiters: Set<ServerResponse>;
  timers: NodeJS.Timeout[];
  deleted: boolean;
}
interface WatchClient {
  res: ServerResponse;
  ns: string;
  name: string | null;
}

export interface FakeKubeApi {
  url: string;
  node: FakeKubeNode;
  /** Every pod ever created (latest state), for assertions. */
  created: Json[];
  /** Pods that still exist. */
  livePods(): Json[];
  close(): Promise<void>;
}

const now = () => new Date().toISOString();

export async function startFakeKubeApi(node: Partial<FakeKubeNode> = {}): Promise<FakeKubeApi> {
  const n: FakeKubeNode = {
    localImages: new Set(),
    registryImages: new Set(),
    registryDown: false,
    unschedulable: false,
    stuckCreating: false,
    evictAfterMs: null,
    stepMs: 20,
    ...node,
  };
  let rv = 1;
  const pods = new Map<string, PodState>(); // key ns/name
  const created: Json[] = [];
  const watchers = new Set<WatchClient>();
  const history: Array<{ rv: number; type: string; ns: string; name: string; object: Json }> = [];

  const emit = (type: 'ADDED' | 'MODIFIED' | 'DELETED', s: PodState) => {
    s.pod.metadata.resourceVersion = String(++rv);
    const { namespace: ns, name } = s.pod.metadata;
    const object = structuredClone(s.pod);
    history.push({ rv, type, ns, name, object });
    for (const w of watchers) {
      if (w.ns === ns && (w.name === null || w.name === name)) w.res.write(JSON.stringify({ type, object }) + '\n');
    }
  };
  const later = (s: PodState, ms: number, f: () => void) => {
    s.timers.push(setTimeout(() => !s.deleted && f(), ms));
  };
  const build = (s: PodState) => s.pod.spec.containers[0];
  const cond = (type: string, status: string, reason?: string, message?: string) => ({
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: now(),
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  });
  const setContainerState = (s: PodState, state: Json, ready = false) => {
    const c = build(s);
    s.pod.status.containerStatuses = [
      { name: c.name, image: c.image, imageID: '', ready, restartCount: 0, started: !!state.running, state },
    ];
  };

  /** The simulated node's kubelet: scheduling, image pull, run. */
  function schedule(s: PodState) {
    if (n.unschedulable) {
      s.pod.status.conditions = [
        cond(
          'PodScheduled',
          'False',
          'Unschedulable',
          '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
        ),
      ];
      return emit('MODIFIED', s);
    }
    s.pod.spec.nodeName = 'fake-node-1';
    s.pod.status.conditions = [
      cond('PodReadyToStartContainers', 'False'),
      cond('Initialized', 'True'),
      cond('Ready', 'False', 'ContainersNotReady', `containers with unready status: [${build(s).name}]`),
      cond('ContainersReady', 'False', 'ContainersNotReady', `containers with unready status: [${build(s).name}]`),
      cond('PodScheduled', 'True'),
    ];
    s.pod.status.hostIP = '10.0.0.1';
    s.pod.status.startTime = now();
    setContainerState(s, { waiting: { reason: 'ContainerCreating' } });
    emit('MODIFIED', s);
    if (!n.stuckCreating) later(s, n.stepMs, () => pull(s));
  }

  function pull(s: PodState) {
    const { image, imagePullPolicy: policy = 'IfNotPresent' } = build(s);
    if (!/^[a-z0-9]+([._\-/:@][a-z0-9A-Z._-]+)*$/.test(image) || /[A-Z]/.test(image.split(/[:@]/)[0])) {
      setContainerState(s, {
        waiting: {
          reason: 'InvalidImageName',
          message: `Failed to apply default image tag "${image}": couldn't parse image reference "${image}": invalid reference format: repository name must be lowercase`,
        },
      });
      return emit('MODIFIED', s);
    }
    const fail = (reason: string, message: string) => {
      setContainerState(s, { waiting: { reason, message } });
      emit('MODIFIED', s);
      if (reason === 'ErrImagePull') {
        later(s, n.stepMs * 2, () => {
          setContainerState(s, { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}"` } });
          emit('MODIFIED', s);
        });
      }
    };
    const local = n.localImages.has(image);
    if (policy === 'Never' && !local) {
      return fail('ErrImageNeverPull', `Container image "${image}" is not present with pull policy of Never`);
    }
    if (policy === 'Always' || !local) {
      const host = image.includes('/') ? image.split('/')[0] : 'registry-1.docker.io';
      if (n.registryDown) {
        return fail(
          'ErrImagePull',
          `failed to pull and unpack image "${image}": failed to resolve reference "${image}": failed to do request: Head "https://${host}/v2/": dial tcp ${host}: connect: connection refused`,
        );
      }
      if (!n.registryImages.has(image)) {
        return fail(
          'ErrImagePull',
          `rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found`,
        );
      }
      n.localImages.add(image);
    }
    later(s, n.stepMs, () => run(s));
  }

  function run(s: PodState) {
    const c = build(s);
    const argv: string[] = [...(c.command ?? []), ...(c.args ?? [])];
    const env = Object.fromEntries((c.env ?? []).map((e: Json) => [e.name, e.value ?? '']));
    // Each "container" gets a /tmp of its own (TMPDIR), as real pods do; host processes would share /tmp.
    const tmp = mkdtempSync(join(tmpdir(), 'fake-pod-'));
    const proc = spawn(argv[0], argv.slice(1), {
      cwd: c.workingDir || '/',
      env: { PATH: process.env.PATH, TMPDIR: tmp, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    proc.once('exit', () => rmSync(tmp, { recursive: true, force: true }));
    s.proc = proc;
    // when a container's PID 1 exits, the runtime kills everything left in it
    proc.on('exit', () => {
      try {
        process.kill(-proc.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    });
    const onData = (d: Buffer) => {
      s.log.push(d);
      for (const r of s.logWaiters) r.write(d);
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    const startedAt = now();
    s.pod.status.phase = 'Running';
    s.pod.status.podIP = '10.1.0.7';
    for (const k of s.pod.status.conditions)
      if (k.type !== 'PodScheduled' && k.type !== 'Initialized')
        Object.assign(k, { status: 'True', reason: undefined, message: undefined });
    s.pod.status.conditions = s.pod.status.conditions.map((k: Json) => JSON.parse(JSON.stringify(k)));
    setContainerState(s, { running: { startedAt } }, true);
    emit('MODIFIED', s);
    proc.on('close', (code, signal) => {
      const exitCode = code ?? 128 + (signal === 'SIGKILL' ? 9 : 15);
      s.logDone = true;
      for (const r of s.logWaiters) r.end();
      s.logWaiters.clear();
      if (s.deleted) return;
      setContainerState(s, {
        terminated: {
          exitCode,
          reason: exitCode === 0 ? 'Completed' : 'Error',
          startedAt,
          finishedAt: now(),
          containerID: `containerd://${s.pod.metadata.uid}`,
        },
      });
      s.pod.status.phase = exitCode === 0 ? 'Succeeded' : 'Failed';
      for (const k of s.pod.status.conditions)
        if (k.type === 'Ready' || k.type === 'ContainersReady') Object.assign(k, { status: 'False', reason: 'PodCompleted' });
      emit('MODIFIED', s);
    });
    if (n.evictAfterMs !== null) later(s, n.evictAfterMs, () => evict(s));
  }

  function evict(s: PodState) {
    s.pod.status.conditions.push(cond('DisruptionTarget', 'True', 'EvictionByEvictionAPI', 'Eviction API: evicting'));
    emit('MODIFIED', s);
    terminate(s, 0);
    s.pod.status.phase = 'Failed';
    s.pod.status.reason = 'Evicted';
    s.pod.status.message = 'The node was low on resource: memory.';
  }

  /** Deletion: SIGTERM now, SIGKILL after the grace period, DELETED once the process is gone. */
  function terminate(s: PodState, graceSeconds: number) {
    if (s.deleted) return;
    s.pod.metadata.deletionTimestamp = now();
    s.pod.metadata.deletionGracePeriodSeconds = graceSeconds;
    const gone = () => {
      if (s.deleted) return;
      s.deleted = true;
      s.timers.forEach(clearTimeout);
      pods.delete(`${s.pod.metadata.namespace}/${s.pod.metadata.name}`);
      emit('DELETED', s);
    };
    const p = s.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      emit('MODIFIED', s);
      p.once('close', (code, signal) => {
        const exitCode = code ?? (signal === 'SIGKILL' ? 137 : 143);
        setContainerState(s, { terminated: { exitCode, reason: 'Error', finishedAt: now() } });
        gone();
      });
      p.kill('SIGTERM');
      setTimeout(() => {
        try {
          process.kill(-p.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, graceSeconds * 1000);
    } else {
      gone();
    }
  }

  const send = (res: ServerResponse, code: number, body: Json) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const status = (code: number, reason: string, message: string, details?: Json) => ({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    details,
    code,
  });
  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let b = '';
      req.on('data', (c) => (b += c));
      req.on('end', () => resolve(b));
    });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const u = new URL(req.url!, 'http://x');
    const m = u.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+))?(?:\/(log))?$/);
    if (!m)
      return send(res, 404, status(404, 'NotFound', `the server could not find the requested resource (${req.method} ${u.pathname})`));
    const [, ns, name, sub] = m;
    const key = `${ns}/${name}`;
    const s = name ? pods.get(key) : undefined;
    const notFound = () => send(res, 404, status(404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' }));

    if (req.method === 'POST' && !name) {
      const pod = JSON.parse(await readBody(req)) as Json;
      const pname = pod.metadata?.name ?? `${pod.metadata?.generateName ?? 'pod-'}${Math.random().toString(36).slice(2, 7)}`;
      if (pods.has(`${ns}/${pname}`)) return send(res, 409, status(409, 'AlreadyExists', `pods "${pname}" already exists`));
      if (!pod.spec?.containers?.length)
        return send(res, 422, status(422, 'Invalid', 'Pod "" is invalid: spec.containers: Required value'));
      pod.apiVersion = 'v1';
      pod.kind = 'Pod';
      pod.metadata = { ...pod.metadata, name: pname, namespace: ns, uid: crypto.randomUUID(), creationTimestamp: now() };
      for (const c of pod.spec.containers)
        c.imagePullPolicy ??= c.image.endsWith(':latest') || !c.image.includes(':') ? 'Always' : 'IfNotPresent';
      pod.status = { phase: 'Pending', qosClass: 'BestEffort' };
      const st: PodState = { pod, proc: null, log: [], logDone: false, logWaiters: new Set(), timers: [], deleted: false };
      pods.set(`${ns}/${pname}`, st);
      created.push(pod);
      emit('ADDED', st);
      later(st, n.stepMs, () => schedule(st));
      return send(res, 201, pod);
    }
    if (req.method === 'GET' && !name) {
      const selector = u.searchParams.get('fieldSelector');
      const only = selector?.match(/^metadata\.name=(.+)$/)?.[1] ?? null;
      const matching = [...pods.values()].filter((p) => p.pod.metadata.namespace === ns && (only === null || p.pod.metadata.name === only));
      if (u.searchParams.get('watch') !== 'true' && u.searchParams.get('watch') !== '1') {
        return send(res, 200, {
          kind: 'PodList',
          apiVersion: 'v1',
          metadata: { resourceVersion: String(rv) },
          items: matching.map((p) => p.pod),
        });
      }
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      const from = u.searchParams.get('resourceVersion');
      if (from) {
        if (Number(from) < (history[0]?.rv ?? 0) - 1) {
          res.end(JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from}`) }) + '\n');
          return;
        }
        for (const h of history)
          if (h.rv > Number(from) && h.ns === ns && (only === null || h.name === only))
            res.write(JSON.stringify({ type: h.type, object: h.object }) + '\n');
      } else {
        for (const p of matching) res.write(JSON.stringify({ type: 'ADDED', object: p.pod }) + '\n');
      }
      const w: WatchClient = { res, ns, name: only };
      watchers.add(w);
      req.on('close', () => watchers.delete(w));
      return;
    }
    if (!s) return notFound();
    if (req.method === 'GET' && !sub) return send(res, 200, s.pod);
    if (req.method === 'DELETE' && !sub) {
      const body = await readBody(req);
      const grace = Number(
        u.searchParams.get('gracePeriodSeconds') ??
          (body ? JSON.parse(body).gracePeriodSeconds : undefined) ??
          s.pod.spec.terminationGracePeriodSeconds ??
          30,
      );
      terminate(s, grace);
      return send(res, 200, s.pod);
    }
    if (req.method === 'GET' && sub === 'log') {
      const container = u.searchParams.get('container') ?? build(s).name;
      if (!s.proc) {
        const reason = s.pod.status.containerStatuses?.[0]?.state?.waiting?.reason ?? 'ContainerCreating';
        return send(res, 400, status(400, 'BadRequest', `container "${container}" in pod "${name}" is waiting to start: ${reason}`));
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
      for (const b of s.log) res.write(b);
      if (s.logDone || u.searchParams.get('follow') !== 'true') return res.end();
      s.logWaiters.add(res);
      req.on('close', () => s.logWaiters.delete(res));
      return;
    }
    return send(res, 405, status(405, 'MethodNotAllowed', `${req.method} not allowed`));
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e) => send(res, 500, status(500, 'InternalError', String(e))));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    node: n,
    created,
    livePods: () => [...pods.values()].map((p) => p.pod),
    async close() {
      for (const s of pods.values()) {
        s.timers.forEach(clearTimeout);
        try {
          if (s.proc?.pid) process.kill(-s.proc.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
        for (const r of s.logWaiters) r.end();
      }
      for (const w of watchers) w.res.end();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
