/**
 * include:project / template / component through a GitLab instance's REST API, the
 * way GitLab serves them:
 *   GET /api/v4/projects/:id/repository/files/:path/raw?ref=…   (the file's bytes)
 *   GET /api/v4/templates/gitlab_ci_ymls/:key                   ({name, content})
 *   GET /api/v4/projects/:id/releases                            ([{tag_name}], newest first)
 *   GET /api/v4/projects/:id/repository/tree?recursive=true&ref=… ([{path, type}], 100 a page)
 * `:id` and `:path` are URL-encoded (`grp%2Fproj`, `ci%2Fa.yml`); the token goes in PRIVATE-TOKEN.
 */
import { missing, unreachable, type FetchOutcome, type GitLabSource } from '../../config/index.js';
import { DEFAULT_HTTP_LIMITS, httpGet, type HttpLimits } from './http-fetch.js';

export interface GitLabInstance {
  url: string;
  token?: string;
}

/** `gitlab:` from the coordinator config, else FAULTLINE_GITLAB_URL / FAULTLINE_GITLAB_TOKEN. */
export function gitlabFromEnv(configured: GitLabInstance | undefined, env: NodeJS.ProcessEnv = process.env): GitLabInstance | undefined {
  if (configured) return configured;
  const url = env.FAULTLINE_GITLAB_URL;
  return url ? { url, ...(env.FAULTLINE_GITLAB_TOKEN ? { token: env.FAULTLINE_GITLAB_TOKEN } : {}) } : undefined;
}

const apiMessage = (body: string): string => {
  try {
    const m = (JSON.parse(body) as { message?: unknown; error?: unknown }).message ?? (JSON.parse(body) as { error?: unknown }).error;
    return typeof m === 'string' ? m : JSON.stringify(m);
  } catch {
    return body.slice(0, 200);
  }
};

const TREE_PAGE = 100;
const MAX_TREE_PAGES = 500;

export function gitlabSource(inst: GitLabInstance, limits: HttpLimits = DEFAULT_HTTP_LIMITS): GitLabSource {
  const base = inst.url.replace(/\/+$/, '');
  const headers: Record<string, string> = inst.token ? { 'PRIVATE-TOKEN': inst.token } : {};
  const get = (path: string, describe: (status: number, msg: string) => string) =>
    httpGet(`${base}/api/v4${path}`, headers, limits, (s, body) => describe(s, apiMessage(body)));
  const enc = encodeURIComponent;
  return {
    fqdn: new URL(base).host,
    async file(project, path, ref): Promise<FetchOutcome> {
      const r = await get(`/projects/${enc(project)}/repository/files/${enc(path)}/raw?ref=${enc(ref ?? 'HEAD')}`, (s, msg) =>
        s === 401 || s === 403 || /project not found/i.test(msg)
          ? `Project \`${project}\` not found or access denied! (HTTP ${s}: ${msg}; is the token allowed to read it?)`
          : s === 404
            ? `Project \`${project}\` file \`${path}\` does not exist${ref ? ` at \`${ref}\`` : ''}! (HTTP 404: ${msg})`
            : `the GitLab API answered HTTP ${s}: ${msg}`,
      );
      return r.ok ? { ok: true, text: r.text } : r;
    },
    async template(name): Promise<FetchOutcome> {
      const key = name.replace(/\.gitlab-ci\.yml$/, '');
      const r = await get(`/templates/gitlab_ci_ymls/${enc(key)}`, (s, msg) =>
        s === 404 ? `Template \`${name}\` does not exist on ${base} (HTTP 404: ${msg})` : `the GitLab API answered HTTP ${s}: ${msg}`,
      );
      if (!r.ok) return r;
      try {
        const content = (JSON.parse(r.text) as { content?: unknown }).content;
        if (typeof content === 'string') return { ok: true, text: content };
      } catch {
        /* fall through */
      }
      return unreachable(`the GitLab API's answer for template \`${name}\` is not {name, content} JSON`);
    },
    async releases(project) {
      const r = await get(
        `/projects/${enc(project)}/releases?per_page=100`,
        (s, msg) => `cannot list the releases of \`${project}\` (HTTP ${s}: ${msg})`,
      );
      if (!r.ok) return r;
      try {
        const list = JSON.parse(r.text) as { tag_name?: unknown }[];
        return { ok: true, tags: list.map((x) => x.tag_name).filter((t): t is string => typeof t === 'string') };
      } catch {
        return missing(`the releases of \`${project}\` are not a JSON list`);
      }
    },
    // rules: exists: project — the repository tree API, page by page (GitLab answers at most 100 a page).
    async tree(project, ref) {
      const paths: string[] = [];
      for (let page = 1; page <= MAX_TREE_PAGES; page++) {
        const q = `recursive=true&per_page=${TREE_PAGE}&page=${page}${ref ? `&ref=${enc(ref)}` : ''}`;
        const r = await get(`/projects/${enc(project)}/repository/tree?${q}`, (s, msg) =>
          s === 401 || s === 403 || /project not found/i.test(msg)
            ? `rules:exists:project \`${project}\` is not a valid project path (HTTP ${s}: ${msg}; is the token allowed to read it?)`
            : s === 404
              ? `rules:exists:ref \`${ref ?? 'HEAD'}\` is not a valid ref in project \`${project}\` (HTTP 404: ${msg})`
              : `the GitLab API answered HTTP ${s}: ${msg}`,
        );
        if (!r.ok) return r;
        let list: { path?: unknown; type?: unknown }[];
        try {
          list = JSON.parse(r.text) as typeof list;
          if (!Array.isArray(list)) throw new Error('not a list');
        } catch {
          return unreachable(`the GitLab API's tree of \`${project}\` is not a JSON list`);
        }
        for (const e of list) if (e.type === 'blob' && typeof e.path === 'string') paths.push(e.path);
        if (list.length < TREE_PAGE) return { ok: true, paths };
      }
      return unreachable(`the tree of \`${project}\` has more than ${MAX_TREE_PAGES * TREE_PAGE} entries, more than faultline reads`);
    },
  };
}
