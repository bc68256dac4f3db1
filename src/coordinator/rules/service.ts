/**
 * Keeps the rules in force for a rules directory: reload is all-or-nothing (a broken edit
 * leaves the previous rules classifying), and watch() reloads on file changes.
 */
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import type { FailureClassification, FailureReport } from '../../protocol/failure.js';
import { Classifier, formatRuleError, type ClassifierOptions, type ClassifyOptions, type RuleError, type RuleSet } from '../../classify/index.js';
import { loadRules } from './load.js';

export interface ClassifierServiceOptions extends ClassifierOptions {
  dir: string;
  /** Quiet time after the last file event before reloading (default 200 ms). */
  debounceMs?: number;
}

export interface ReloadResult {
  ok: boolean;
  errors: RuleError[];
}

/** Thrown by the constructor when the rules cannot be loaded at start. */
export class RulesLoadError extends Error {
  override readonly name = 'RulesLoadError';
  constructor(readonly errors: RuleError[]) {
    super(`classification rules invalid:\n${errors.map(formatRuleError).join('\n')}`);
  }
}

export class ClassifierService {
  private current: Classifier;
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<(r: ReloadResult) => void>();
  /** Errors of the last failed reload (empty once a reload succeeds). */
  lastErrors: RuleError[] = [];
  /** When the rules in force were loaded (epoch ms). */
  loadedAt = Date.now();
  /** The last reload attempt, manual or watched (null until one happens). */
  lastReload: { at: number; ok: boolean; errors: RuleError[] } | null = null;

  constructor(private readonly opts: ClassifierServiceOptions) {
    const res = loadRules(opts.dir);
    if (!res.ok) throw new RulesLoadError(res.errors);
    this.current = new Classifier(res.rules, opts);
  }

  get rules(): RuleSet {
    return this.current.rules;
  }

  get classifier(): Classifier {
    return this.current;
  }

  classify(report: FailureReport, log: Buffer | string, opts?: ClassifyOptions): FailureClassification {
    return this.current.classify(report, log, opts);
  }

  /** Re-read the directory; on any error the rules in force stay. */
  reload(): ReloadResult {
    const res = loadRules(this.opts.dir);
    const out: ReloadResult = res.ok ? { ok: true, errors: [] } : { ok: false, errors: res.errors };
    if (res.ok) this.current = new Classifier(res.rules, this.opts);
    const at = Date.now();
    if (res.ok) this.loadedAt = at;
    this.lastReload = { at, ok: out.ok, errors: out.errors };
    this.lastErrors = out.errors;
    for (const l of this.listeners) l(out);
    return out;
  }

  /** Called after every reload (manual or watched). Returns an unsubscribe function. */
  onReload(listener: (r: ReloadResult) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reload when files of the rules dir change (debounced). Idempotent. */
  watch(): this {
    if (this.watcher) return this;
    const debounce = this.opts.debounceMs ?? 200;
    this.watcher = fsWatch(this.opts.dir, { persistent: false }, () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.timer = null;
        this.reload();
      }, debounce);
    });
    this.watcher.on('error', () => this.close()); // dir removed: stop watching, keep rules
    return this;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.watcher?.close();
    this.watcher = null;
  }
}
