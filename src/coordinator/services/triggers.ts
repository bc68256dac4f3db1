/**
 * trigger: jobs — child pipelines (docs.gitlab.com/ee/ci/pipelines/downstream_pipelines.html).
 * A trigger job never goes to a runner: when it would start, PipelineService marks it running
 * and calls `start`, which builds the child's configuration (`trigger: include:` local files of
 * the parent's commit, a job's artifact, a project/template/remote file through the include
 * resolver), passes variables down and creates the child pipeline (source `parent_pipeline`,
 * linked to the parent and the trigger job). Without `strategy: depend` the trigger job then
 * succeeds; with it, it mirrors the child's final status. GitLab's nesting limit: 2 levels.
 */
import type { Logger } from 'pino';
import { stringify } from 'yaml';
import { EngineError } from '../../pipeline/errors.js';
import type { JobSpec, TriggerSpec } from '../../pipeline/model.js';
import type { FailureClassification, FailureClass } from '../../protocol/failure.js';
import type { PipelineJson } from '../../protocol/user-api.js';
import type { ArtifactStorage } from '../artifacts/storage.js';
import { openZipEntry } from '../artifacts/zip.js';
import type { CoordinatorEvents } from '../events.js';
import type { Store } from '../store/index.js';
import type { PipelineService } from './pipeline-service.js';
import type { PipelineVariable } from './variables.js';

/** GitLab: a parent can have children, and those children one more level. */
export const MAX_CHILD_DEPTH = 2;
const MAX_ARTIFACT_CONFIG_BYTES = 2 * 1024 * 1024;
const TERMINAL = new Set(['success', 'failed', 'canceled', 'skipped']);

export class TriggerService {
  storage: ArtifactStorage | null = null;

  constructor(
    private readonly store: Store,
    private readonly pipelines: PipelineService,
    private readonly events: CoordinatorEvents,
    private readonly log: Logger,
  ) {
    pipelines.onTrigger = (what, pipelineId, name, jobId) => {
      const run = what === 'start' ? this.start(pipelineId, name, jobId) : this.cancel(pipelineId, name, jobId);
      run.catch((err: unknown) => this.log.error({ err, pipeline: pipelineId, job: name }, 'trigger job failed in the coordinator'));
    };
    events.on('pipeline_finished', ({ pipeline }) => void this.childFinished(pipeline));
  }

  /** After a restart: trigger jobs left running are picked up again (no runner holds them). */
  async recover(): Promise<void> {
    for (const j of await this.store.jobs.runningWithoutRunner()) {
      const child = await this.store.pipelines.childOfJob(j.id);
      const logged = (p: Promise<void>) =>
        p.catch((err: unknown) => this.log.error({ err, pipeline: j.pipeline_id, job: j.name }, 'recovering a trigger job failed'));
      if (!child) void logged(this.start(j.pipeline_id, j.name, j.id));
      else if (j.status === 'canceling') await logged(this.cancel(j.pipeline_id, j.name, j.id));
      else if (!(await this.spec(j.pipeline_id, j.name))?.trigger?.strategy)
        await logged(this.finish(j.pipeline_id, j.name, j.id, 'success', null));
      else if (TERMINAL.has(child.status))
        await this.mirrorLogged(child.id, child.status, (await this.store.pipelines.get(child.id))?.failure_class ?? null);
    }
  }

  private async spec(pipelineId: number, name: string): Promise<JobSpec | undefined> {
    return (await this.pipelines.model(pipelineId)).jobs.find((j) => j.name === name);
  }

  async start(pipelineId: number, name: string, jobId: number): Promise<void> {
    const spec = await this.spec(pipelineId, name);
    const parent = await this.store.pipelines.get(pipelineId);
    if (!spec?.trigger || !parent) return;
    await this.store.jobs.markStarted(jobId, Date.now());
    const depth = (await this.store.pipelines.depth(pipelineId)) + 1;
    if (depth > MAX_CHILD_DEPTH) {
      return this.refuse(pipelineId, name, jobId, 'build', [
        `maximum depth of child pipelines reached: this pipeline is already ${depth - 1} levels below its parent (GitLab allows ${MAX_CHILD_DEPTH})`,
      ]);
    }
    const config = await this.childConfig(pipelineId, spec.trigger);
    if (!config.ok) return this.refuse(pipelineId, name, jobId, config.cls, [config.message]);
    const model = await this.pipelines.model(pipelineId);
    const created = await this.pipelines.create({
      yaml: config.yaml,
      ref: parent.ref,
      project: parent.project,
      name: `${parent.name} -> ${name}`,
      variables: this.variablesDown(spec, parent.variables_json, model.masked_variables ?? []),
      repository: parent.repository_url ? { url: parent.repository_url, sha: parent.sha } : null,
      source: 'parent_pipeline',
      defaultBranch: model.predefined?.CI_DEFAULT_BRANCH ?? 'main',
      parent: { pipelineId, jobId },
    });
    if (!created.ok) {
      const lines = created.errors.map((e) => `${e.file ?? config.file}:${e.line}:${e.column}: ${e.message}`);
      // An include that could not be reached is the operators' (network); a keyword faultline has no
      // provider for (secrets, id_tokens) is faultline's own gap, no one's to blame (unknown);
      // anything else is the configuration's.
      const only = (codes: string[]) => created.errors.every((e) => e.code !== undefined && codes.includes(e.code));
      const cls: FailureClass = only(['include_unreachable'])
        ? 'infra'
        : only(['include_unreachable', 'no_provider'])
          ? 'unknown'
          : 'build';
      return this.refuse(pipelineId, name, jobId, cls, lines);
    }
    const child = created.id;
    await this.trace(jobId, [`Created child pipeline #${child} (${parent.name} -> ${name}) from ${config.file}`]);
    const job = await this.store.jobs.get(jobId);
    if (job?.status === 'canceling' || job?.status === 'canceled') return this.cancel(pipelineId, name, jobId);
    if (!spec.trigger.strategy) return this.finish(pipelineId, name, jobId, 'success', null);
    const row = await this.store.pipelines.get(child);
    if (row && TERMINAL.has(row.status)) await this.mirror(child, row.status, row.failure_class);
  }

  /** The child's configuration: one artifact file as it is, else an include: of the files. */
  private async childConfig(
    pipelineId: number,
    t: TriggerSpec,
  ): Promise<{ ok: true; yaml: string; file: string } | { ok: false; message: string; cls: FailureClass }> {
    const first = t.include[0]!;
    if ('artifact' in first) {
      const job = await this.store.jobs.latestByName(pipelineId, first.job);
      const art = job ? await this.store.artifacts.get(job.id, 'archive') : undefined;
      const where = `artifact ${first.artifact} of job ${first.job}`;
      if (!job || !art || art.expired_at !== null || !this.storage)
        return { ok: false, cls: 'build', message: `${where}: the job left no artifacts in this pipeline` };
      const entry = await openZipEntry(this.storage.localPath(art.storage_key), first.artifact.replace(/^\.?\//, ''));
      if (!entry) return { ok: false, cls: 'build', message: `${where}: no such file in the job's artifacts` };
      if (entry.size > MAX_ARTIFACT_CONFIG_BYTES) {
        entry.stream.destroy();
        return { ok: false, cls: 'build', message: `${where}: ${entry.size} bytes, more than ${MAX_ARTIFACT_CONFIG_BYTES}` };
      }
      const chunks: Buffer[] = [];
      for await (const c of entry.stream) chunks.push(c as Buffer);
      return { ok: true, yaml: Buffer.concat(chunks).toString('utf8'), file: where };
    }
    const file = t.include.map((e) => Object.values(e).join('@')).join(', ');
    return { ok: true, yaml: stringify({ include: t.include }), file };
  }

  /** GitLab: the trigger job's variables (globals among them, per inherit:) unless forward: says otherwise. */
  private variablesDown(spec: JobSpec, parentVarsJson: string, maskedKeys: string[]): PipelineVariable[] {
    const out = new Map<string, PipelineVariable>();
    const masked = new Set(maskedKeys);
    if (spec.trigger!.forward.yaml_variables)
      for (const [key, value] of Object.entries(spec.variables))
        if (!/^CI_(NODE_|ENVIRONMENT_)/.test(key)) out.set(key, { key, value, masked: masked.has(key) });
    if (spec.trigger!.forward.pipeline_variables) for (const v of JSON.parse(parentVarsJson) as PipelineVariable[]) out.set(v.key, v);
    return [...out.values()];
  }

  private async cancel(pipelineId: number, name: string, jobId: number): Promise<void> {
    const child = await this.store.pipelines.childOfJob(jobId);
    if (child && !TERMINAL.has(child.status)) await this.pipelines.apply(child.id, { type: 'pipeline_cancel' });
    await this.finish(pipelineId, name, jobId, 'canceled', null);
  }

  /** strategy: depend — the trigger job takes the child's final status. */
  private async childFinished(p: PipelineJson): Promise<void> {
    const link = await this.store.pipelines.parentOf(p.id).catch(() => undefined);
    // Next turn: a child that ends while it is being created is mirrored after start() logged it.
    if (link) setImmediate(() => void this.mirrorLogged(p.id, p.status, p.failure_class ?? null));
  }

  private mirrorLogged(childId: number, status: string, childClass: string | null): Promise<void> {
    return this.mirror(childId, status, childClass).catch((err: unknown) =>
      this.log.error({ err, pipeline: childId }, 'mirroring the child pipeline onto its trigger job failed'),
    );
  }

  private async mirror(childId: number, status: string, childClass: string | null): Promise<void> {
    const link = await this.store.pipelines.parentOf(childId);
    const job = link ? await this.store.jobs.get(link.trigger_job_id) : undefined;
    if (!link || !job || job.status !== 'running') return;
    if (!(await this.spec(link.parent, job.name))?.trigger?.strategy) return;
    await this.trace(job.id, [`Child pipeline #${childId} finished: ${status}`]);
    if (status === 'failed') {
      const cls = (childClass ?? 'unknown') as FailureClass;
      await this.finish(
        link.parent,
        job.name,
        job.id,
        'failed',
        this.classification('downstream_pipeline_failed', cls, `child pipeline #${childId} failed${await this.failedJobs(childId)}`),
      );
    } else if (status === 'canceled') {
      await this.pipelines.apply(link.parent, { type: 'job_cancel', name: job.name });
      await this.finish(link.parent, job.name, job.id, 'canceled', null);
    } else await this.finish(link.parent, job.name, job.id, 'success', null);
  }

  /** ": its failed job(s) a (build · script_failed), b (infra · …)" — the verdict the trigger job takes. */
  private async failedJobs(childId: number): Promise<string> {
    const failed = (await this.store.jobs.latestPerName(childId))
      .filter((j) => j.status === 'failed' && !j.allow_failure)
      .map((j) => `${j.name} (${j.failure_class ?? 'unclassified'}${j.failure_cause ? ` · ${j.failure_cause}` : ''})`);
    if (failed.length === 0) return '';
    const shown = failed.slice(0, 5).join(', ') + (failed.length > 5 ? ` and ${failed.length - 5} more` : '');
    return `: its failed job${failed.length > 1 ? 's' : ''} ${shown}`;
  }

  private async refuse(pipelineId: number, name: string, jobId: number, cls: FailureClass, lines: string[]): Promise<void> {
    await this.trace(jobId, ['ERROR: the child pipeline could not be created:', ...lines.map((l) => `  ${l}`)]);
    const c = this.classification('downstream_pipeline_creation_failed', cls, `the child pipeline could not be created: ${lines[0] ?? ''}`);
    await this.finish(pipelineId, name, jobId, 'failed', c);
  }

  private classification(reason: FailureClassification['reason'], cls: FailureClass, summary: string): FailureClassification {
    return {
      reason,
      stage: 'coordinator',
      exit_code: null,
      executor: null,
      message: summary,
      image: null,
      registry: null,
      class: cls,
      cause: reason === 'downstream_pipeline_failed' ? 'downstream_failed' : 'downstream_creation_failed',
      summary,
      owner: cls === 'infra' ? 'operators' : cls === 'build' ? 'developers' : 'unknown',
      rule: null,
      fallback: false,
      evidence: [],
    };
  }

  private async finish(
    pipelineId: number,
    name: string,
    jobId: number,
    result: 'success' | 'failed' | 'canceled',
    c: FailureClassification | null,
  ): Promise<void> {
    try {
      await this.pipelines.apply(
        pipelineId,
        { type: 'job_finished', name, result, exit_code: null, ...(c ? { failure_reason: c.reason, failure_class: c.class } : {}) },
        {
          // The verdict first: the pipeline's failure_class is computed from it in the same step.
          guard: async () => {
            const s = (await this.store.jobs.get(jobId))?.status;
            if (s !== 'running' && s !== 'canceling') return false;
            if (c) await this.store.jobs.storeClassification(jobId, c);
            return true;
          },
        },
      );
    } catch (err) {
      if (!(err instanceof EngineError)) throw err;
      this.log.warn({ err, pipeline: pipelineId, job: name }, 'trigger job already finished');
    }
  }

  private async trace(jobId: number, lines: string[]): Promise<void> {
    const start = (await this.store.traces.length(jobId)) ?? 0;
    await this.store.traces.append(jobId, start, Buffer.from(lines.map((l) => `${l}\n`).join('')), 1024 * 1024);
  }
}
