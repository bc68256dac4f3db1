/**
 * A fake GitLab REST API on loopback, serving what include: asks for the way GitLab
 * does (docs.gitlab.com/ee/api/repository_files.html, /api/templates/gitlab_ci_ymls.html,
 * /api/releases/):
 *   GET /api/v4/projects/:id/repository/files/:path/raw?ref=…   raw bytes; 404 {"message":"404 File Not Found"}
 *   GET /api/v4/templates/gitlab_ci_ymls/:key                   {"name", "content"}
 *   GET /api/v4/projects/:id/releases                            [{"tag_name"}…]
 *   GET /api/v4/projects/:id/repository/tree?recursive=true&ref=&per_page=&page=
 *       [{"id","name","type":"tree"|"blob","path","mode"}…] (directories too, 20 a page by default,
 *       at most 100); 404 {"message":"404 Tree Not Found"} for an unknown ref (docs.gitlab.com/ee/api/repositories.html)
 * `:id` is the URL-encoded full path; a private project needs the PRIVATE-TOKEN header
 * (GitLab answers 404 "Project Not Found" without it). Plain paths under /raw/ serve
 * include:remote files; /slow/ never answers; /stall/ stops mid-body; /big/ streams 8 MiB.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeGitLab {
  url: string;
  /** Each request as "METHOD path?query token=<PRIVATE-TOKEN or ->". */
  requests: string[];
  close(): Promise<void>;
}

export interface FakeGitLabData {
  token: string;
  /** project path → ref → file path → content. `HEAD` is served as the project's `main`. */
  projects: Record<string, Record<string, Record<string, string>>>;
  templates?: Record<string, string>;
  releases?: Record<string, string[]>;
  /** path under /raw/ → content, for include:remote. */
  raw?: Record<string, string>;
}

export async function startFakeGitLab(data: FakeGitLabData): Promise<FakeGitLab> {
  const requests: string[] = [];
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server: Server = createServer((req: IncomingMessage, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const token = req.headers['private-token'];
    requests.push(`${req.method} ${u.pathname}${u.search} token=${typeof token === 'string' ? token : '-'}`);
    const authed = token === data.token;
    let m: RegExpExecArray | null;
    if ((m = /^\/api\/v4\/projects\/([^/]+)\/repository\/files\/([^/]+)\/raw$/.exec(u.pathname))) {
      const project = data.projects[decodeURIComponent(m[1]!)];
      if (!project || !authed) return json(res, 404, { message: '404 Project Not Found' });
      let ref = u.searchParams.get('ref') ?? 'HEAD';
      if (ref === 'HEAD') ref = 'main';
      const files = project[ref];
      if (!files) return json(res, 404, { message: '404 Commit Not Found' });
      const text = files[decodeURIComponent(m[2]!)];
      if (text === undefined) return json(res, 404, { message: '404 File Not Found' });
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
      return;
    }
    if ((m = /^\/api\/v4\/projects\/([^/]+)\/repository\/tree$/.exec(u.pathname))) {
      const project = data.projects[decodeURIComponent(m[1]!)];
      if (!project || !authed) return json(res, 404, { message: '404 Project Not Found' });
      const ref = u.searchParams.get('ref') ?? 'main';
      const files = project[ref === 'HEAD' ? 'main' : ref];
      if (!files) return json(res, 404, { message: '404 Tree Not Found' });
      const recursive = u.searchParams.get('recursive') === 'true';
      const entries = new Map<string, 'tree' | 'blob'>();
      for (const f of Object.keys(files)) {
        const parts = f.split('/');
        for (let i = 1; i < parts.length; i++) entries.set(parts.slice(0, i).join('/'), 'tree');
        entries.set(f, 'blob');
      }
      const all = [...entries]
        .filter(([p]) => recursive || !p.includes('/'))
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([path, type]) => ({
          id: '0'.repeat(40),
          name: path.split('/').pop(),
          type,
          path,
          mode: type === 'tree' ? '040000' : '100644',
        }));
      const perPage = Math.min(100, Number(u.searchParams.get('per_page') ?? 20));
      const page = Number(u.searchParams.get('page') ?? 1);
      return json(res, 200, all.slice((page - 1) * perPage, page * perPage));
    }
    if ((m = /^\/api\/v4\/projects\/([^/]+)\/releases$/.exec(u.pathname))) {
      const name = decodeURIComponent(m[1]!);
      if (!data.projects[name] || !authed) return json(res, 404, { message: '404 Project Not Found' });
      return json(
        res,
        200,
        (data.releases?.[name] ?? []).map((tag_name) => ({ tag_name, name: tag_name })),
      );
    }
    if ((m = /^\/api\/v4\/templates\/gitlab_ci_ymls\/(.+)$/.exec(u.pathname))) {
      const key = decodeURIComponent(m[1]!);
      const content = data.templates?.[key];
      if (content === undefined) return json(res, 404, { message: '404 Template Not Found' });
      return json(res, 200, { name: key, content });
    }
    if (u.pathname.startsWith('/raw/')) {
      const text = data.raw?.[u.pathname.slice(5)];
      if (text === undefined) return res.writeHead(404).end('not found');
      res.writeHead(200, { 'content-type': 'text/plain' }).end(text);
      return;
    }
    if (u.pathname.startsWith('/slow/')) return; // never answers
    if (u.pathname.startsWith('/stall/')) {
      res.writeHead(200, { 'content-type': 'text/plain' }).write('job:\n'); // headers and a little body, then nothing
      return;
    }
    if (u.pathname.startsWith('/big/')) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      let sent = 0;
      const pump = () => {
        while (sent < 8 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
        if (sent >= 8 * 1024 * 1024) res.end();
        else res.once('drain', () => ((sent += chunk.length), pump()));
      };
      res.on('error', () => {});
      pump();
      return;
    }
    json(res, 404, { message: '404 Not Found' });
  });
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
