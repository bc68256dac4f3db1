/**
 * What the coordinator itself was able to hear. A runner's silence only counts while the
 * coordinator could have heard it: an event-loop stall (a long compile, a SQLite lock
 * held by another process, which blocks every statement for busy_timeout) or a failed
 * store write delays or loses heartbeats that the runner did send. The reaper asks here
 * before calling a runner lost.
 */
export class Hearing {
  /** Silence is counted from here: start-up, or the end of the latest stall. */
  private since: number;
  /** Last contact per runner as this process saw it, even when storing it failed. */
  private readonly heard = new Map<number, number>();

  constructor(now = Date.now()) {
    this.since = now;
  }

  /** The coordinator could not hear until `at` (it was stalled, or could not store what it heard). */
  deafUntil(at: number): void {
    this.since = Math.max(this.since, at);
  }

  /** A request from this runner reached a handler (called before anything is stored). */
  runnerHeard(runnerId: number, at: number): void {
    this.heard.set(runnerId, Math.max(this.heard.get(runnerId) ?? 0, at));
  }

  /** From when silence counts. */
  get listeningSince(): number {
    return this.since;
  }

  /** Last contact with this runner: the stored heartbeat, or what this process heard, or when it regained hearing. */
  lastContact(runnerId: number, storedHeartbeat: number | null): number {
    return Math.max(storedHeartbeat ?? 0, this.heard.get(runnerId) ?? 0, this.since);
  }
}
