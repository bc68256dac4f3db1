/** The `image_pulls` table: one row per pull attempt reported by a runner. */
import type { ImagePullRecord } from '../../protocol/runner-api.js';
import type { Db } from './db.js';

export class ImagePullStore {
  private readonly s;
  constructor(db: Db) {
    this.s = {
      insert: db.prepare(
        `INSERT INTO image_pulls (job_id, runner_id, image, registry, policy, outcome, kind, duration_ms, at)
         VALUES (@job_id, @runner_id, @image, @registry, @policy, @outcome, @kind, @duration_ms, @at)`,
      ),
    };
  }
  insert(jobId: number, runnerId: number | null, p: ImagePullRecord): void {
    const at = Date.parse(p.at);
    this.s.insert.run({
      job_id: jobId,
      runner_id: runnerId,
      image: p.image,
      registry: p.registry,
      policy: p.policy,
      outcome: p.outcome,
      kind: p.kind ?? null,
      duration_ms: Math.round(p.duration_ms),
      at: Number.isFinite(at) ? at : Date.now(),
    });
  }
}
