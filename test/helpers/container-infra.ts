/**
 * Real container infrastructure on loopback for tests: a Debian docker-registry, a
 * busybox image built from busybox-static and pushed to it, and podman's
 * Docker-compatible API service on a unix socket. Everything (configs, image storage,
 * podman's runtime/lock dirs) lives in one temp dir, so two suites can run side by side
 * and nothing under /etc or /var/lib/containers is touched.
 * Recipe: /work/shared/notes/real-infrastructure-here.md.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync, symlinkSync, copyFileSync, existsSync, chmodSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './tmp.js';

export interface ContainerInfra {
  dir: string;
  /** Env for podman CLI and service (CONTAINERS_CONF, …). */
  env: Record<string, string>;
  registryPort: number;
  /** "127.0.0.1:<port>" */
  registry: string;
  /** "<registry>/busybox:latest", pushed by setup, not present in local storage. */
  image: string;
  socketPath: string;
  /** "unix://<socketPath>" */
  dockerHost: string;
  stopRegistry(): Promise<void>;
  startRegistry(): Promise<void>;
  /** Run the podman CLI against the same storage. */
  podman(...args: string[]): { status: number | null; stdout: string; stderr: string };
  dispose(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const tcpOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });

const socketOpen = (path: string) =>
  new Promise<boolean>((resolve) => {
    const c = connect(path);
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });

function stop(p: ChildProcess | null): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    p.once('exit', () => (clearTimeout(t), resolve()));
    p.kill('SIGTERM');
  });
}

export async function startContainerInfra(): Promise<ContainerInfra> {
  const tmp = tempDir('faultline-infra-');
  const T = tmp.path;
  const registryPort = await freePort();
  const registry = `127.0.0.1:${registryPort}`;
  for (const d of ['reg', 'storage', 'run', 'libpod-tmp', 'rootfs', 'cni']) mkdirSync(join(T, d), { recursive: true });

  writeFileSync(
    join(T, 'registry.yml'),
    `version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: ${T}/reg}, delete: {enabled: true}}\nhttp: {addr: ${registry}}\n`,
  );
  writeFileSync(
    join(T, 'containers.conf'),
    [
      '[containers]',
      'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
      '[engine]',
      'runtime = "runc"',
      'events_logger = "file"',
      `events_logfile_path = "${T}/events.log"`,
      'cgroup_manager = "cgroupfs"',
      `tmp_dir = "${T}/libpod-tmp"`,
      'lock_type = "file"',
      // per-job networks (services:) are written here, never under /etc/cni
      '[network]',
      `network_config_dir = "${T}/cni"`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(T, 'registries.conf'),
    `unqualified-search-registries = []\n[[registry]]\nlocation = "${registry}"\ninsecure = true\n`,
  );
  // vfs: works on any backing filesystem (overlay-on-overlay does not); the image is tiny.
  writeFileSync(join(T, 'storage.conf'), `[storage]\ndriver = "vfs"\ngraphroot = "${T}/storage"\nrunroot = "${T}/run"\n`);
  const env: Record<string, string> = {
    CONTAINERS_CONF: join(T, 'containers.conf'),
    CONTAINERS_REGISTRIES_CONF: join(T, 'registries.conf'),
    CONTAINERS_STORAGE_CONF: join(T, 'storage.conf'),
  };
  const fullEnv = { ...process.env, ...env };
  const podman = (...args: string[]) => {
    const r = spawnSync('podman', args, { env: fullEnv, encoding: 'utf8', timeout: 120_000 });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const must = (r: { status: number | null; stderr: string }, what: string) => {
    if (r.status !== 0) throw new Error(`${what} failed: ${r.stderr}`);
  };

  let registryProc: ChildProcess | null = null;
  let serviceProc: ChildProcess | null = null;
  const startRegistry = async () => {
    registryProc = spawn('/usr/bin/docker-registry', ['serve', join(T, 'registry.yml')], { stdio: 'ignore' });
    await waitFor('docker-registry', () => tcpOpen(registryPort));
  };
  const stopRegistry = async () => {
    await stop(registryProc);
    registryProc = null;
  };

  try {
    await startRegistry();
    // busybox image from busybox-static, no internet needed
    const rootfs = join(T, 'rootfs');
    for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev']) mkdirSync(join(rootfs, d), { recursive: true });
    copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
    chmodSync(join(rootfs, 'bin/busybox'), 0o755);
    for (const a of ['sh', 'echo', 'sleep', 'cat', 'ls', 'kill', 'env', 'pwd', 'true', 'false']) {
      if (!existsSync(join(rootfs, 'bin', a))) symlinkSync('busybox', join(rootfs, 'bin', a));
    }
    writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    must(spawnSync('tar', ['-C', rootfs, '-cf', join(T, 'busybox.tar'), '.'], { encoding: 'utf8' }), 'tar rootfs');
    must(podman('import', '--change', 'CMD ["/bin/sh"]', join(T, 'busybox.tar'), 'localhost/busybox:latest'), 'podman import');
    const image = `${registry}/busybox:latest`;
    must(podman('push', '--tls-verify=false', 'localhost/busybox:latest', `docker://${image}`), 'podman push');
    must(podman('rmi', 'localhost/busybox:latest'), 'podman rmi');

    const socketPath = join(T, 'podman.sock');
    serviceProc = spawn('podman', ['system', 'service', '--time=0', `unix://${socketPath}`], {
      env: fullEnv,
      stdio: 'ignore',
    });
    await waitFor('podman API socket', () => socketOpen(socketPath));

    return {
      dir: T,
      env,
      registryPort,
      registry,
      image,
      socketPath,
      dockerHost: `unix://${socketPath}`,
      stopRegistry,
      startRegistry,
      podman,
      async dispose() {
        await stop(serviceProc);
        await stopRegistry();
        podman('rm', '--all', '--force');
        podman('rmi', '--all', '--force');
        tmp.dispose();
      },
    };
  } catch (e) {
    await stop(serviceProc);
    await stopRegistry();
    tmp.dispose();
    throw e;
  }
}
