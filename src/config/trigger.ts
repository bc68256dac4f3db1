/**
 * `trigger:` → TriggerSpec: a child pipeline (`trigger: include:`) the coordinator creates when
 * the job would start (docs.gitlab.com/ee/ci/yaml/#trigger). Multi-project pipelines
 * (`trigger: project` or `trigger: "group/project"`) need a GitLab to run in and are refused,
 * naming the job. A trigger job has no script: it never goes to a runner.
 */
import type { TriggerInclude, TriggerSpec } from '../pipeline/model.js';
import { describe, joinPath, type Diagnostics } from './diagnostics.js';
import { isPlainMap, keyPos, valuePos, type PlainMap, type Pos } from './yaml-source.js';

const MULTI_PROJECT =
  'multi-project pipelines (trigger: project) are not run by faultline: there is no GitLab project for the downstream pipeline to run in, so the pipeline is refused';
const TRIGGER_KEYS = ['include', 'strategy', 'forward', 'project', 'branch'];
/** GitLab: at most 3 files in a child pipeline's trigger: include:. */
const MAX_INCLUDES = 3;

/** Keys a trigger job may not have: it runs nothing itself (GitLab: "unknown keys" for a bridge). */
export const NOT_FOR_TRIGGER_JOBS = [
  'script',
  'before_script',
  'after_script',
  'image',
  'services',
  'cache',
  'artifacts',
  'timeout',
  'tags',
  'coverage',
  'hooks',
];

export function readTrigger(raw: unknown, name: string, at: Pos, diag: Diagnostics): TriggerSpec | null {
  const path = joinPath(name, 'trigger');
  if (typeof raw === 'string') {
    diag.error(path, at, `${name}: ${MULTI_PROJECT} ('${raw}')`);
    return null;
  }
  if (!isPlainMap(raw)) {
    diag.error(path, at, `expected a map with include: (a child pipeline), got ${describe(raw)}`);
    return null;
  }
  for (const k of Object.keys(raw))
    if (!TRIGGER_KEYS.includes(k))
      diag.error(joinPath(path, k), keyPos(raw, k, at), `unknown key '${k}' (allowed: include, strategy, forward)`);
  if (raw.project !== undefined) {
    diag.error(joinPath(path, 'project'), keyPos(raw, 'project', at), `${name}: ${MULTI_PROJECT} ('${String(raw.project)}')`);
    return null;
  }
  if (raw.branch !== undefined)
    diag.error(joinPath(path, 'branch'), keyPos(raw, 'branch', at), 'trigger: branch belongs to trigger: project');
  if (raw.include === undefined) {
    diag.error(path, at, 'trigger: needs include: (the child pipeline configuration)');
    return null;
  }
  const include = readIncludes(raw.include, joinPath(path, 'include'), valuePos(raw, 'include', at), diag);
  let strategy: TriggerSpec['strategy'] = null;
  if (raw.strategy !== undefined) {
    if (raw.strategy === 'depend') strategy = 'depend';
    else diag.error(joinPath(path, 'strategy'), valuePos(raw, 'strategy', at), `expected depend, got ${describe(raw.strategy)}`);
  }
  const forward = readForward(raw, path, at, diag);
  return include ? { include, strategy, forward } : null;
}

function readIncludes(raw: unknown, path: string, at: Pos, diag: Diagnostics): TriggerInclude[] | null {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0 || list.length > MAX_INCLUDES) {
    diag.error(path, at, `expected 1 to ${MAX_INCLUDES} files, got ${list.length}`);
    return null;
  }
  const out: TriggerInclude[] = [];
  list.forEach((e, i) => {
    const p = Array.isArray(raw) ? joinPath(path, i) : path;
    const pos = Array.isArray(raw) ? valuePos(raw, i, at) : at;
    const one = readInclude(e, p, pos, diag);
    if (one) out.push(one);
  });
  if (out.length !== list.length) return null;
  if (out.some((e) => 'artifact' in e) && out.length > 1) {
    diag.error(path, at, 'an artifact: include must be the only file of the child pipeline here (faultline merges no other file with it)');
    return null;
  }
  return out;
}

function readInclude(e: unknown, path: string, at: Pos, diag: Diagnostics): TriggerInclude | null {
  if (typeof e === 'string') return /^https?:\/\//.test(e) ? { remote: e } : { local: e };
  if (!isPlainMap(e)) {
    diag.error(path, at, `expected a file name or a map (local, artifact + job, project + file, template, remote), got ${describe(e)}`);
    return null;
  }
  const str = (k: string): string | undefined => (typeof e[k] === 'string' ? (e[k] as string) : undefined);
  const bad = (k: string) => diag.error(joinPath(path, k), valuePos(e, k, at), `expected a string, got ${describe(e[k])}`);
  const only = (allowed: string[]): boolean => {
    let ok = true;
    for (const k of Object.keys(e))
      if (!allowed.includes(k)) {
        diag.error(joinPath(path, k), keyPos(e, k, at), `unknown key '${k}' here (allowed: ${allowed.join(', ')})`);
        ok = false;
      }
    for (const k of allowed)
      if (e[k] !== undefined && k !== 'file' && typeof e[k] !== 'string') {
        bad(k);
        ok = false;
      }
    return ok;
  };
  if (e.local !== undefined) return only(['local']) ? { local: str('local')! } : null;
  if (e.artifact !== undefined) {
    if (!only(['artifact', 'job'])) return null;
    if (!str('job')) {
      diag.error(path, at, 'artifact: needs job: (the job of this pipeline whose artifacts hold the file)');
      return null;
    }
    return { artifact: str('artifact')!, job: str('job')! };
  }
  if (e.project !== undefined) {
    if (!only(['project', 'file', 'ref'])) return null;
    const file = e.file;
    if (typeof file !== 'string') {
      diag.error(joinPath(path, 'file'), valuePos(e, 'file', at), `expected one file name, got ${describe(file)}`);
      return null;
    }
    return { project: str('project')!, file, ...(str('ref') ? { ref: str('ref')! } : {}) };
  }
  if (e.template !== undefined) return only(['template']) ? { template: str('template')! } : null;
  if (e.remote !== undefined) return only(['remote']) ? { remote: str('remote')! } : null;
  diag.error(path, at, 'expected local:, artifact: with job:, project: with file:, template: or remote:');
  return null;
}

function readForward(raw: PlainMap, path: string, at: Pos, diag: Diagnostics): TriggerSpec['forward'] {
  // GitLab's defaults: the trigger job's (and global) variables go down, pipeline variables do not.
  const out = { yaml_variables: true, pipeline_variables: false };
  const f = raw.forward;
  if (f === undefined) return out;
  const fp = joinPath(path, 'forward');
  const fat = valuePos(raw, 'forward', at);
  if (!isPlainMap(f)) {
    diag.error(fp, fat, `expected a map with yaml_variables: and/or pipeline_variables:, got ${describe(f)}`);
    return out;
  }
  for (const k of Object.keys(f)) {
    if (k !== 'yaml_variables' && k !== 'pipeline_variables') {
      diag.error(joinPath(fp, k), keyPos(f, k, fat), `unknown key '${k}' (allowed: yaml_variables, pipeline_variables)`);
    } else if (typeof f[k] !== 'boolean') {
      diag.error(joinPath(fp, k), valuePos(f, k, fat), `expected true or false, got ${describe(f[k])}`);
    } else out[k] = f[k] as boolean;
  }
  return out;
}
