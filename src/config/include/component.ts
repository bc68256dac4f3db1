/**
 * CI/CD component addresses: `<fqdn>/<project path>/<name>@<version>`. The version is
 * a tag, branch or SHA, `~latest` (the newest release) or a partial semantic version
 * (`1`, `1.2`: the newest release it prefixes). The file is `templates/<name>.yml` or
 * `templates/<name>/template.yml` in the project at that version
 * (docs.gitlab.com/ee/ci/components/).
 */
import type { FetchFailure, GitLabSource } from './sources.js';
import { missing } from './sources.js';

export interface ComponentAddress {
  fqdn: string;
  project: string;
  name: string;
  version: string;
}

export function parseComponent(address: string): ComponentAddress | string {
  const at = address.lastIndexOf('@');
  if (at < 0) return `component \`${address}\` has no version: add @<version> (a tag, a SHA, ~latest)`;
  const path = address.slice(0, at);
  const version = address.slice(at + 1);
  const parts = path.split('/');
  if (parts.length < 3 || parts.some((p) => p === '') || version === '') {
    return `component \`${address}\` is not of the form <fqdn>/<project path>/<component name>@<version>`;
  }
  return { fqdn: parts[0]!, project: parts.slice(1, -1).join('/'), name: parts[parts.length - 1]!, version };
}

const SEMVER = /^(\d+)\.(\d+)\.(\d+)$/;

/** The ref a version stands for; partial versions and ~latest go through the releases. */
export async function componentRef(gl: GitLabSource, c: ComponentAddress): Promise<{ ok: true; ref: string } | FetchFailure> {
  const partial = /^\d+(\.\d+)?$/.test(c.version);
  if (c.version !== '~latest' && !partial) return { ok: true, ref: c.version };
  const rel = await gl.releases(c.project);
  if (!rel.ok) return rel;
  const tags = rel.tags.filter((t) => SEMVER.test(t.replace(/^v/, '')));
  const want = partial ? c.version.split('.') : [];
  const matching = tags.filter((t) => want.every((w, i) => t.replace(/^v/, '').split('.')[i] === w));
  matching.sort((a, b) => cmp(b, a));
  const best = matching[0];
  if (!best) return missing(`component \`${c.project}/${c.name}\` has no release matching \`${c.version}\``);
  return { ok: true, ref: best };
}

function cmp(a: string, b: string): number {
  const pa = a.replace(/^v/, '').split('.').map(Number);
  const pb = b.replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return 0;
}

export const componentFiles = (name: string): string[] => [`templates/${name}.yml`, `templates/${name}/template.yml`];
