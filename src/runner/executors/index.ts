/**
 * Executor registry: name → factory. The daemon makes a fresh executor per job
 * (executors keep per-job state) from the runner's `[runners.<executor>]` section,
 * passed through as-is. Heavy clients (dockerode, @kubernetes/client-node) are imported
 * lazily so a shell runner never loads them.
 *
 * To add an executor: one entry below, `name: async (section, runner) => Executor`.
 */
import type { Executor } from '../executor.js';
import type { RunnerLogger } from '../logger.js';
import { createShellExecutor, type ShellExecutorConfig } from './shell.js';

/** What a factory may want to know about the runner that owns the executor. */
export interface RunnerContext {
  runnerId: number | null;
  name: string;
  buildsDir: string;
  logger?: RunnerLogger;
}

export type ExecutorFactory = (section: unknown, runner: RunnerContext) => Executor | Promise<Executor>;

const sectionOf = <T>(section: unknown): T => (section ?? {}) as T;

export const EXECUTOR_FACTORIES: Record<string, ExecutorFactory> = {
  shell: (section) => createShellExecutor(sectionOf<ShellExecutorConfig>(section)),
  // ── container / driver executors (owned by their module's author) ──
  docker: async (section) => {
    const m = await import('./docker.js');
    return m.createDockerExecutor(sectionOf(section));
  },
  kubernetes: async (section) => {
    const m = await import('./kubernetes.js');
    return m.createKubernetesExecutor(sectionOf(section));
  },
  custom: async (section) => {
    const m = await import('./custom.js');
    return m.createCustomExecutor(sectionOf(section));
  },
};

export const EXECUTOR_NAMES = Object.keys(EXECUTOR_FACTORIES);

export async function createExecutor(name: string, section: unknown, runner: RunnerContext): Promise<Executor> {
  const factory = Object.hasOwn(EXECUTOR_FACTORIES, name) ? EXECUTOR_FACTORIES[name] : undefined;
  if (!factory) throw new Error(`unknown executor "${name}" (known: ${EXECUTOR_NAMES.join(', ')})`);
  return factory(section, runner);
}
