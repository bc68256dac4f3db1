/**
 * `services:` for the docker executor: one container per service on a per-job network,
 * started before the script. The job container reaches each service by its aliases
 * through /etc/hosts entries (ExtraHosts) with the service's address on that network —
 * this needs no DNS plugin in the engine (podman with CNI has none by default), and the
 * result is what the job sees with gitlab-runner: `curl http://<alias>:<port>` works.
 *
 * Readiness, as gitlab-runner: for every port the service image EXPOSEs (or the
 * service's HEALTHCHECK_TCP_PORT variable) wait until it accepts TCP, up to
 * `wait_for_services_timeout` (30 s; -1 = no wait). A service that does not come up is a
 * WARNING with its logs in the job trace — the job still runs, as gitlab-runner's does.
 */
import type Docker from 'dockerode';
import { connect } from 'node:net';
import type { ServiceSpec } from '../../pipeline/model.js';
import { expandVariables } from '../cache.js';
import type { JobContext } from '../executor.js';

export interface StartedService {
  spec: ServiceSpec;
  image: string;
  aliases: string[];
  container: Docker.Container;
  name: string;
  ip: string | null;
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;

/** `alias:` or, as gitlab-runner, the image name without tag: "/" → "__" and "-". */
export function serviceAliases(spec: ServiceSpec, image: string): string[] {
  if (spec.alias.length) return [...new Set(spec.alias)];
  const base = image.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
  return [...new Set([base.replace(/\//g, '__'), base.replace(/\//g, '-')])].filter((a) => HOSTNAME.test(a));
}

export function serviceImage(spec: ServiceSpec, env: Record<string, string>): string {
  return expandVariables(spec.name, env);
}

/** Ports to wait for: HEALTHCHECK_TCP_PORT, else the image's EXPOSEd TCP ports. */
export async function servicePorts(docker: Docker, image: string, vars: Record<string, string>): Promise<number[]> {
  const explicit = Number.parseInt(vars.HEALTHCHECK_TCP_PORT ?? '', 10);
  if (Number.isFinite(explicit) && explicit > 0) return [explicit];
  try {
    const info = (await docker.getImage(image).inspect()) as { Config?: { ExposedPorts?: Record<string, unknown> } };
    return Object.keys(info.Config?.ExposedPorts ?? {})
      .filter((p) => !p.endsWith('/udp'))
      .map((p) => Number.parseInt(p, 10))
      .filter((n) => Number.isFinite(n) && n > 0);
  } catch {
    return [];
  }
}

const tcpOpen = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const c = connect({ host, port, timeout: 1000 });
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('timeout', () => (c.destroy(), resolve(false)));
    c.once('error', () => resolve(false));
  });

/** Wait for every port; the first problem as text, or null when the service is up. */
export async function waitForService(s: StartedService, ports: number[], timeoutMs: number): Promise<string | null> {
  if (ports.length === 0 || timeoutMs < 0) return null;
  const end = Date.now() + timeoutMs;
  for (const port of ports) {
    for (;;) {
      const state = ((await s.container.inspect().catch(() => null)) as { State?: { Running?: boolean; ExitCode?: number } } | null)?.State;
      if (state && state.Running === false)
        return `service "${s.name}" exited with code ${state.ExitCode ?? '?'} before port ${port} was open`;
      if (s.ip && (await tcpOpen(s.ip, port))) break;
      if (Date.now() >= end) return `service "${s.name}" timeout: port ${port}/tcp not open after ${Math.round(timeoutMs / 1000)} s`;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return null;
}

/** A container's stdout+stderr so far (the engine's multiplexed frames, de-framed). */
export async function containerLogs(c: Docker.Container): Promise<string> {
  const raw = (await c.logs({ stdout: true, stderr: true, follow: false, timestamps: false })) as unknown as Buffer | string;
  const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw));
  const out: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length && buf[i]! <= 2 && buf[i + 1] === 0 && buf[i + 2] === 0 && buf[i + 3] === 0) {
    const n = buf.readUInt32BE(i + 4);
    out.push(buf.subarray(i + 8, i + 8 + n));
    i += 8 + n;
  }
  if (i < buf.length) out.push(buf.subarray(i)); // not framed (TTY) or a partial tail
  return Buffer.concat(out).toString('utf8');
}

/** gitlab-runner's warning block for a service that did not come up. */
export async function reportServiceFailure(ctx: JobContext, s: StartedService, problem: string): Promise<void> {
  const logs = await containerLogs(s.container).catch((e) => `(logs unavailable: ${(e as Error).message})`);
  ctx.trace.line('');
  ctx.trace.line(`*** WARNING: Service ${s.name} probably didn't start properly.`);
  ctx.trace.line('');
  ctx.trace.line('Health check error:');
  ctx.trace.line(problem);
  ctx.trace.line('');
  ctx.trace.line('Service container logs:');
  ctx.trace.write(logs.endsWith('\n') || logs === '' ? logs : `${logs}\n`);
  ctx.trace.line('');
  ctx.trace.line('*********');
  ctx.trace.line('');
}
