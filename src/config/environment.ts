/**
 * `environment:` → the CI_ENVIRONMENT_* variables a job sees. The name and url are
 * expanded with the variables known when the pipeline is created (GitLab does the
 * same); the slug and tier follow GitLab's rules. Deployments are not recorded.
 */
import { createHash } from 'node:crypto';
import { expandString } from '../pipeline/variables.js';
import { describe, joinPath, type Diagnostics } from './diagnostics.js';
import type { Vars } from './expression.js';
import { isPlainMap, keyPos, valuePos, type Pos } from './yaml-source.js';

const ACTIONS = ['start', 'prepare', 'stop', 'verify', 'access'];
const TIERS = ['production', 'staging', 'testing', 'development', 'other'];
const KEYS = ['name', 'url', 'action', 'deployment_tier', 'on_stop', 'auto_stop_in', 'kubernetes'];

/** GitLab's Environment#generate_slug: ≤ 24 chars, starts with a letter, a hash suffix when altered. */
export function environmentSlug(name: string): string {
  let s = name.toLowerCase().replace(/[^a-z0-9]/g, '-');
  if (!/^[a-z]/.test(s)) s = `env-${s}`;
  s = s.replace(/-+/g, '-');
  if (s.length > 24 || s !== name) {
    s = s.slice(0, 17);
    if (!s.endsWith('-')) s += '-';
    const hex = createHash('sha256').update(name).digest('hex');
    return s + BigInt(`0x${hex}`).toString(36).slice(-6);
  }
  return s.replace(/-$/, '');
}

/** GitLab's guess of the deployment tier from the environment name. */
export function guessTier(name: string): string {
  if (/(dev|review|trunk)/i.test(name)) return 'development';
  if (/(test|tst|int|ac(ce|)pt|qa|qc|control|quality)/i.test(name)) return 'testing';
  if (/(st(a|)g|mod(e|)l|pre|demo|non)/i.test(name)) return 'staging';
  if (/(pr(o|)d|live)/i.test(name)) return 'production';
  return 'other';
}

export function readEnvironment(raw: unknown, job: string, at: Pos, vars: Vars, diag: Diagnostics): Record<string, string> {
  const path = joinPath(job, 'environment');
  if (raw === undefined || raw === null) return {};
  const m = typeof raw === 'string' ? { name: raw } : isPlainMap(raw) ? raw : null;
  if (!m) {
    diag.error(path, at, `expected an environment name or a map with name:, got ${describe(raw)}`);
    return {};
  }
  for (const k of Object.keys(m)) {
    if (!KEYS.includes(k)) diag.error(joinPath(path, k), keyPos(m, k, at), `unknown key '${k}' (allowed: ${KEYS.join(', ')})`);
    else if (k === 'on_stop' || k === 'auto_stop_in' || k === 'kubernetes') {
      diag.warn(
        joinPath(path, k),
        keyPos(m, k, at),
        'not supported by faultline; ignored: environments are not tracked, so nothing is stopped',
      );
    }
  }
  const str = (k: string): string | undefined => {
    const v = m[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') {
      diag.error(joinPath(path, k), valuePos(m, k, at), `expected a non-empty string, got ${describe(v)}`);
      return undefined;
    }
    return v;
  };
  const rawName = str('name');
  if (rawName === undefined) {
    if (m.name === undefined) diag.error(joinPath(path, 'name'), at, 'name is required');
    return {};
  }
  const name = expandString(rawName, vars);
  const out: Record<string, string> = { CI_ENVIRONMENT_NAME: name, CI_ENVIRONMENT_SLUG: environmentSlug(name) };
  const url = str('url');
  if (url !== undefined) out.CI_ENVIRONMENT_URL = expandString(url, vars);
  const action = str('action') ?? 'start';
  if (!ACTIONS.includes(action))
    diag.error(joinPath(path, 'action'), valuePos(m, 'action', at), `expected one of ${ACTIONS.join(', ')}, got ${describe(action)}`);
  out.CI_ENVIRONMENT_ACTION = action;
  const tier = str('deployment_tier') ?? guessTier(name);
  if (!TIERS.includes(tier))
    diag.error(
      joinPath(path, 'deployment_tier'),
      valuePos(m, 'deployment_tier', at),
      `expected one of ${TIERS.join(', ')}, got ${describe(tier)}`,
    );
  out.CI_ENVIRONMENT_TIER = tier;
  return out;
}
