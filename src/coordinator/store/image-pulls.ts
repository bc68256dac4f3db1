/** The `image_pulls` table: one row per pull attempt reported by a runner. */
import type { ImagePullRecord } from '../../protocol/runner-api.js';
import type { Sql } from './engine.js';

export class ImagePullStore {
  constructor(private readonly sql: Sql) {}
  async insert(jobId: number, runnerId: number | null, p: ImagePullRecord): Promise<void> {
    const at = Date.parse(p.at);
    await this.sql.run(
      `INSERT INTO image_pulls (job_id, runner_id, image, registry, policy, outcome, kind, duration_ms, at)
       VALUES (@job_id, @runner_id, @image, @registry, @policy, @outcome, @kind, @duration_ms, @at)`,
      {
        job_id: jobId,
        runner_id: runnerId,
        image: p.image,
        registry: p.registry,
        policy: p.policy,
        outcome: p.outcome,
        kind: p.kind ?? null,
        duration_ms: Math.round(p.duration_ms),
        at: Number.isFinite(at) ? at : Date.now(),
      },
    );
  }
}
