/**
 * Artifact throughput: a 200 MB archive uploaded to and downloaded from a real coordinator
 * process (streamed over HTTP into its data dir), next to a plain stream copy of the same
 * file on the same disk in the same run. The coordinator's RSS is sampled (/proc) while it
 * streams: it must stay flat (no whole-archive buffering).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { RunnerClient } from '../src/runner/client.js';
import { startCoordinator, userApi } from '../test/helpers/system.js';

const SIZE = 200 * 1024 * 1024;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function sampled<T>(pid: number, fn: () => Promise<T>): Promise<{ out: T; ms: number; peak: number }> {
  let peak = rssOf(pid);
  const t = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 25);
  const t0 = performance.now();
  try {
    const out = await fn();
    return { out, ms: performance.now() - t0, peak: Math.max(peak, rssOf(pid)) };
  } finally {
    clearInterval(t);
  }
}

export async function benchArtifacts(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'faultline-bench-artifacts-'));
  try {
    // A zip holding 200 MB of incompressible data (stored), as a runner would send it.
    const raw = join(dir, 'blob.bin');
    const ws = createWriteStream(raw);
    for (let i = 0; i < SIZE / (1 << 20); i++)
      if (!ws.write(randomBytes(1 << 20))) await new Promise<void>((r) => ws.once('drain', () => r()));
    await new Promise<void>((r) => ws.end(() => r()));
    const zipPath = join(dir, 'artifacts.zip');
    const zip = new yazl.ZipFile();
    zip.addFile(raw, 'blob.bin', { compress: false });
    zip.end();
    await pipeline(zip.outputStream, createWriteStream(zipPath));
    const zipBytes = statSync(zipPath).size;

    const coord = await startCoordinator({
      dataDir: join(dir, 'data'),
      heartbeatTimeoutSec: 600,
      extraArgs: ['--max-artifact-size', '512'],
    });
    try {
      const pid = coord.child.pid!;
      const api = userApi(coord.url, coord.apiToken);
      await api.createPipeline('build:\n  script: [make]\n  artifacts: {paths: [blob.bin]}\n');
      const client = new RunnerClient({ url: coord.url });
      await client.register({ registration_token: coord.registrationToken, name: 'bench', tags: [], executor: 'shell', concurrency: 1 });
      const job = (await client.requestJob(AbortSignal.timeout(10_000)))!;

      const copy = await sampled(pid, () => pipeline(createReadStream(zipPath), createWriteStream(join(dir, 'copy.zip'))));
      rmSync(join(dir, 'copy.zip'));
      const rssBefore = rssOf(pid);
      const up = await sampled(pid, () => client.uploadArtifact(job, 'archive', createReadStream(zipPath)));
      if (!up.out.ok) throw new Error(`upload refused: ${up.out.error}`);
      const dest = join(dir, 'down.zip');
      const down = await sampled(pid, () => client.downloadArtifact(job, job.id, dest));
      if (statSync(dest).size !== zipBytes) throw new Error('downloaded archive has the wrong size');
      const mbps = (ms: number) => Math.round((zipBytes / 1048576 / (ms / 1000)) * 10) / 10;
      const round = (v: number) => Math.round(v * 100) / 100;
      return {
        artifact_copy_mb_s: mbps(copy.ms),
        artifact_upload_mb_s: mbps(up.ms),
        artifact_download_mb_s: mbps(down.ms),
        artifact_upload_over_copy_ratio: round(copy.ms / up.ms),
        artifact_download_over_copy_ratio: round(copy.ms / down.ms),
        artifact_coordinator_rss_growth_mb: Math.round((Math.max(up.peak, down.peak) - rssBefore) / 1048576),
      };
    } finally {
      await coord.kill();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
