/**
 * Group commit per pipeline. While an engine step of a pipeline is in flight in this process,
 * further events for that pipeline wait here, then go in together as one step: one row lock,
 * one version bump, one commit. Without this queue every hand-out and finish of a busy pipeline
 * would wait for the row lock inside the database, each holding a pooled connection, and then
 * commit on its own.
 */
export class StepQueue<T, R> {
  /** Pipelines with a batch in flight → the entries that arrived since it started. */
  private readonly waiting = new Map<number, Entry<T, R>[]>();

  constructor(
    /** Runs one batch; answers each item in order, fulfilled or rejected. */
    private readonly runBatch: (key: number, items: T[]) => Promise<PromiseSettledResult<R>[]>,
    /** Most items per batch (bounds one transaction). */
    private readonly max = 64,
  ) {}

  submit(key: number, item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const entry = { item, resolve, reject };
      const q = this.waiting.get(key);
      if (q) q.push(entry);
      else {
        this.waiting.set(key, []);
        void this.drain(key, [entry]);
      }
    });
  }

  /** Entries waiting behind in-flight batches (for tests and metrics). */
  get queued(): number {
    let n = 0;
    for (const q of this.waiting.values()) n += q.length;
    return n;
  }

  private async drain(key: number, batch: Entry<T, R>[]): Promise<void> {
    while (batch.length > 0) {
      let out: PromiseSettledResult<R>[];
      try {
        out = await this.runBatch(
          key,
          batch.map((e) => e.item),
        );
      } catch (reason) {
        out = batch.map(() => ({ status: 'rejected', reason }));
      }
      batch.forEach((e, i) => {
        const o = out[i];
        if (o?.status === 'fulfilled') e.resolve(o.value);
        else e.reject(o ? o.reason : new Error('step batch gave no answer for this event'));
      });
      batch = this.waiting.get(key)!.splice(0, this.max);
    }
    this.waiting.delete(key);
  }
}

interface Entry<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}
