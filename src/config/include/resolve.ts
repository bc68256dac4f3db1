/**
 * `include:` resolution, GitLab semantics (docs.gitlab.com/ee/ci/yaml/includes.html):
 * each file's includes are fetched in order and deep-merged (later ones win), then the
 * including file is merged on top (it wins); nested includes resolve in the context of
 * the file that names them (a local include inside another project's file is that
 * project's file). Limits as GitLab's: 150 files per pipeline (duplicates count),
 * 100 levels of nesting, 30 s for all fetches; a file included twice with the same
 * inputs is merged once. Positions keep the included file's name.
 */
import { createHash } from 'node:crypto';
import RE2 from 're2';
import { joinPath, type Diagnostics } from '../diagnostics.js';
import type { Vars } from '../expression.js';
import { deepMerge } from '../extends.js';
import type { CommitFacts } from '../index.js';
import { isPlainMap, newMap, parseYaml, START, valuePos, locOf, type PlainMap, type Pos } from '../yaml-source.js';
import { componentFiles, componentRef, parseComponent } from './component.js';
import { readEntries, UNSET_VARIABLE, type Entry, type Location } from './entries.js';
import { bindInputs, interpolate, readSpec } from './inputs.js';
import { includeRulesMatch } from './rules.js';
import { unreachable, type FetchFailure, type FetchOutcome, type IncludeSources } from './sources.js';

export interface IncludeLimits {
  maxIncludes: number;
  maxDepth: number;
  timeoutMs: number;
}
export const GITLAB_LIMITS: IncludeLimits = { maxIncludes: 150, maxDepth: 100, timeoutMs: 30_000 };

export interface ResolveOptions {
  sources: IncludeSources;
  commit?: CommitFacts;
  /** Variables include: may use (predefined + pipeline variables). */
  variables: Vars;
  /** 'error' when creating a pipeline; 'warn' for lint, which then skips the file. */
  onUnreachable: 'error' | 'warn';
  limits?: Partial<IncludeLimits>;
}

export interface ResolveResult {
  /** The merged configuration without include:, or null when resolution failed. */
  top: PlainMap;
  /** Includes lint could not fetch (label + reason); their content was not checked. */
  skipped: { label: string; reason: string }[];
}

/** Where a file came from, which decides what its own `local:` includes mean. */
type Origin = { project: null } | { project: string; ref: string | undefined };

const NO_GITLAB =
  'no GitLab instance is configured (set gitlab: {url, token} in the coordinator config, or FAULTLINE_GITLAB_URL and FAULTLINE_GITLAB_TOKEN)';

export class IncludeResolver {
  private count = 0;
  private readonly seen = new Set<string>();
  private readonly started = Date.now();
  private readonly limits: IncludeLimits;
  private stopped = false;
  readonly skipped: ResolveResult['skipped'] = [];

  constructor(
    private readonly opts: ResolveOptions,
    private readonly diag: Diagnostics,
  ) {
    this.limits = { ...GITLAB_LIMITS, ...opts.limits };
  }

  /** Resolve the includes of `map` (the main file or an included one), returning the merged map. */
  async expand(map: PlainMap, origin: Origin, depth: number): Promise<PlainMap> {
    if (!('include' in map)) return map;
    const incPos = valuePos(map, 'include', START);
    const own = newMap(locOf(map)?.self ?? START);
    const ownLoc = locOf(own)!.entries;
    for (const k of Object.keys(map)) {
      if (k === 'include') continue;
      own[k] = map[k];
      const e = locOf(map)?.entries.get(k);
      if (e) ownLoc.set(k, e);
    }
    if (map.include === null || map.include === undefined) return own;
    if (depth >= this.limits.maxDepth) {
      this.diag.error(
        'include',
        incPos,
        `includes nest more than ${this.limits.maxDepth} levels deep (GitLab's limit); is a file including itself with different inputs?`,
      );
      this.stopped = true;
      return own;
    }
    let merged = newMap(locOf(map)?.self ?? START);
    for (const entry of readEntries(map.include, incPos, this.opts.variables, this.diag)) {
      if (this.stopped) break;
      if (
        entry.rules !== undefined &&
        !includeRulesMatch(entry.rules, joinPath(entry.path, 'rules'), entry.rulesPos!, this.opts.variables, this.opts.commit, this.diag)
      )
        continue;
      for (const file of await this.files(entry, origin)) {
        const got = await this.load(entry, file, depth);
        if (got) merged = deepMerge(merged, got);
        if (this.stopped) break;
      }
    }
    return deepMerge(merged, own);
  }

  /** The concrete files one entry stands for (wildcard local includes expand to many). */
  private async files(entry: Entry, origin: Origin): Promise<Location[]> {
    const loc = entry.loc;
    if (loc.kind !== 'local') return [loc];
    const path = loc.path.replace(/^\/+/, '');
    if (origin.project !== null) {
      if (path.includes('*')) {
        // Listing another project's tree is not implemented; refuse rather than include nothing.
        this.diag.error(
          entry.path,
          entry.pos,
          `a wildcard local include inside a file of ${origin.project} is not supported by faultline; list the files`,
        );
        return [];
      }
      return [{ kind: 'project', project: origin.project, file: path, ...(origin.ref ? { ref: origin.ref } : {}) }];
    }
    if (!path.includes('*')) return [{ kind: 'local', path }];
    const list = this.opts.sources.local
      ? await this.opts.sources.local.list()
      : unreachable('the pipeline has no repository to read local files from');
    if (!Array.isArray(list)) {
      this.fail(entry, `local \`${loc.path}\``, list as FetchFailure);
      return [];
    }
    // GitLab turns the pattern into a regex: `**` is any text, `*` any text without '/'.
    const escaped = path
      .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
      .replace(/\*\*/g, '\u0000')
      .replace(/\*/g, '[^/]*')
      .replace(/\u0000/g, '.*');
    const re = new RE2(`^${escaped}$`);
    const hits = (list as readonly string[]).filter((f) => re.test(f) && /\.ya?ml$/.test(f)).sort();
    if (hits.length === 0)
      this.diag.error(entry.path, entry.pos, `Local file \`${loc.path}\` does not exist! (the wildcard matches no .yml/.yaml file)`);
    return hits.map((p) => ({ kind: 'local' as const, path: p }));
  }

  private async load(entry: Entry, loc: Location, depth: number): Promise<PlainMap | null> {
    const label = labelOf(loc);
    if (++this.count > this.limits.maxIncludes) {
      this.diag.error(
        entry.path,
        entry.pos,
        `Maximum of ${this.limits.maxIncludes} nested includes are allowed! (${label} would be number ${this.count})`,
      );
      this.stopped = true;
      return null;
    }
    const key = `${label}\u0000${JSON.stringify(entry.inputs ?? null)}`;
    if (this.seen.has(key)) return null; // GitLab merges a file included twice only once
    this.seen.add(key);
    const unset = loc.kind === 'remote' && UNSET_VARIABLE.test(loc.url); // judged when fetched
    if (!unset && loc.kind !== 'template' && loc.kind !== 'component' && !/\.ya?ml$/i.test(pathOf(loc))) {
      this.diag.error(entry.path, entry.pos, `Included file \`${label}\` does not have YAML extension!`);
      return null;
    }
    if (loc.kind === 'template' && !/\.gitlab-ci\.yml$/.test(loc.name)) {
      this.diag.error(
        entry.path,
        entry.pos,
        `Template file \`${loc.name}\` is not a valid location! (template names end in .gitlab-ci.yml)`,
      );
      return null;
    }
    const fetched = await this.fetch(loc);
    if (!fetched.ok) {
      this.fail(entry, label, fetched);
      return null;
    }
    const { text, origin, component } = fetched;
    if (loc.kind === 'remote' && loc.integrity) {
      const got = `sha256-${createHash('sha256').update(text).digest('base64')}`;
      if (got !== loc.integrity) {
        this.diag.error(
          joinPath(entry.path, 'integrity'),
          entry.pos,
          `Remote file \`${label}\` failed the integrity check (expected ${loc.integrity}, got ${got})`,
        );
        return null;
      }
    }
    if (text.trim() === '') {
      this.diag.error(entry.path, entry.pos, `Included file \`${label}\` is empty or does not exist!`);
      return null;
    }
    const parsed = parseYaml(text, label);
    for (const w of parsed.warnings) this.diag.warn('', w.pos, `YAML: ${w.message}`);
    for (const e of parsed.errors) this.diag.error('', e.pos, e.fatal ? `YAML syntax error: ${e.message}` : e.message);
    if (parsed.errors.some((e) => e.fatal)) {
      this.diag.error(entry.path, entry.pos, `Included file \`${label}\` does not have valid YAML syntax!`);
      return null;
    }
    let content = parsed.value;
    if (parsed.header) {
      const spec = readSpec(parsed.header, `\`${label}\``, this.diag);
      if (!spec) return null;
      const inputs = bindInputs(
        spec.inputs,
        entry.inputs,
        `\`${label}\``,
        { path: joinPath(entry.path, 'inputs'), pos: entry.inputsPos ?? entry.pos },
        this.diag,
      );
      if (!inputs) return null;
      content = interpolate(content, { inputs, component, variables: this.opts.variables }, `\`${label}\``, this.diag);
    } else if (entry.inputs) {
      this.diag.error(
        joinPath(entry.path, 'inputs'),
        entry.inputsPos ?? entry.pos,
        `inputs: given, but \`${label}\` has no spec: inputs header to declare them`,
      );
      return null;
    }
    if (content === null || content === undefined) {
      this.diag.error(entry.path, entry.pos, `Included file \`${label}\` is empty or does not exist!`);
      return null;
    }
    if (!isPlainMap(content)) {
      this.diag.error(
        entry.path,
        entry.pos,
        `Included file \`${label}\` does not have valid YAML syntax! (its top level must be a map of keywords and jobs)`,
      );
      return null;
    }
    return this.expand(content, origin, depth + 1);
  }

  private fail(entry: Entry, label: string, f: FetchFailure): void {
    const text = `include ${label}: ${f.reason}`;
    if (f.kind === 'unreachable' && this.opts.onUnreachable === 'warn') {
      this.skipped.push({ label, reason: f.reason });
      this.diag.warn(
        entry.path,
        entry.pos,
        `${text} — not checked: the jobs and keywords it defines, and extends:/needs:/!reference pointing into it`,
      );
    } else this.diag.error(entry.path, entry.pos, text, f.kind === 'unreachable' ? 'include_unreachable' : undefined);
  }

  private async fetch(
    loc: Location,
  ): Promise<{ ok: true; text: string; origin: Origin; component?: Record<string, string> } | FetchFailure> {
    const left = this.limits.timeoutMs - (Date.now() - this.started);
    if (left <= 0) return unreachable(`resolving includes took longer than ${this.limits.timeoutMs / 1000} s (GitLab's limit)`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<FetchFailure>((r) => {
      timer = setTimeout(
        () => r(unreachable(`resolving includes took longer than ${this.limits.timeoutMs / 1000} s (GitLab's limit)`)),
        left,
      );
    });
    try {
      // A source that throws is a source that could not answer, not a crash of the compiler.
      const asked = this.fetchNow(loc).catch((e: unknown) => unreachable(`the source failed: ${(e as Error)?.message ?? String(e)}`));
      return await Promise.race([asked, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async fetchNow(
    loc: Location,
  ): Promise<{ ok: true; text: string; origin: Origin; component?: Record<string, string> } | FetchFailure> {
    const { sources } = this.opts;
    const withOrigin = (r: FetchOutcome, origin: Origin) => (r.ok ? { ...r, origin } : r);
    switch (loc.kind) {
      case 'local':
        if (!sources.local) return unreachable('the pipeline has no repository to read local files from');
        return withOrigin(await sources.local.read(loc.path), { project: null });
      case 'remote': {
        const unset = UNSET_VARIABLE.exec(loc.url);
        if (unset)
          return unreachable(`its address uses ${unset[0]}, which is not set for this pipeline (a project or group CI/CD variable?)`);
        if (!sources.remote) return unreachable('remote includes cannot be fetched here (no HTTP access)');
        return withOrigin(await sources.remote(loc.url), { project: null });
      }
      case 'project':
        if (!sources.gitlab) return unreachable(NO_GITLAB);
        return withOrigin(await sources.gitlab.file(loc.project, loc.file.replace(/^\/+/, ''), loc.ref), {
          project: loc.project,
          ref: loc.ref,
        });
      case 'template':
        if (!sources.gitlab) return unreachable(NO_GITLAB);
        return withOrigin(await sources.gitlab.template(loc.name), { project: null });
      case 'component': {
        const c = parseComponent(loc.address);
        if (typeof c === 'string') return { ok: false, kind: 'missing', reason: c };
        if (!sources.gitlab) return unreachable(NO_GITLAB);
        if (c.fqdn !== sources.gitlab.fqdn) {
          return {
            ok: false,
            kind: 'missing',
            reason: `the component's host \`${c.fqdn}\` must be the configured GitLab instance (\`${sources.gitlab.fqdn}\`, $CI_SERVER_FQDN)`,
          };
        }
        const ref = await componentRef(sources.gitlab, c);
        if (!ref.ok) return ref;
        let last: FetchFailure | null = null;
        for (const f of componentFiles(c.name)) {
          const r = await sources.gitlab.file(c.project, f, ref.ref);
          if (r.ok) {
            const facts = { name: c.name, version: c.version, reference: c.version, sha: ref.ref };
            return { ...r, origin: { project: c.project, ref: ref.ref }, component: facts };
          }
          if (r.kind === 'unreachable') return r;
          last = r;
        }
        return {
          ok: false,
          kind: 'missing',
          reason: `component not found: neither ${componentFiles(c.name).join(' nor ')} exists in ${c.project}@${ref.ref}${last ? ` (${last.reason})` : ''}`,
        };
      }
    }
  }
}

function pathOf(loc: Location): string {
  return loc.kind === 'local' ? loc.path : loc.kind === 'remote' ? urlPath(loc.url) : loc.kind === 'project' ? loc.file : '';
}

function urlPath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url; // an address with an unset $VAR in it
  }
}

/** How an included file is named in messages and positions. */
export function labelOf(loc: Location): string {
  switch (loc.kind) {
    case 'local':
      return loc.path;
    case 'remote':
      return loc.url;
    case 'project':
      return `${loc.project}:${loc.file.replace(/^\/+/, '')}${loc.ref ? `@${loc.ref}` : ''}`;
    case 'template':
      return `template ${loc.name}`;
    case 'component':
      return loc.address;
  }
}

export type { Pos };
