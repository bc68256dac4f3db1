/** `faultline up`: the embedded default — coordinator + shell runners in one process. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PipelineJson } from '../../protocol/user-api.js';
import { api } from '../api-client.js';
import { startEmbedded } from '../embedded.js';
import { bold, dim } from '../format.js';

export interface UpOptions {
  port: string;
  host: string;
  data: string;
  runners: string;
  buildsDir?: string;
  user?: string;
  example?: boolean;
  showTokens?: boolean;
}

/** The demo: a green pipeline, a build failure, and an infra failure (sources on a git remote nobody answers). */
const EXAMPLES: { file: string; repository?: { url: string } }[] = [
  { file: 'examples/passing.gitlab-ci.yml' },
  { file: 'examples/failing.gitlab-ci.yml' },
  { file: 'examples/infra.gitlab-ci.yml', repository: { url: 'http://127.0.0.1:1/examples/app.git' } },
];

export async function upCommand(opts: UpOptions): Promise<void> {
  const sys = await startEmbedded({
    dataDir: resolve(opts.data),
    port: Number(opts.port),
    host: opts.host,
    runners: Number(opts.runners),
    ...(opts.buildsDir ? { buildsDir: resolve(opts.buildsDir) } : {}),
    ...(opts.user ? { jobUser: opts.user } : {}),
  });
  const { created, files } = sys.coordinator.tokens;
  // The sign-in link carries the API token: printed on the start that created it, or on request.
  const link = created.api || opts.showTokens;
  console.log(bold(`faultline is up: ${sys.url}`));
  console.log(
    `  UI:       ${link ? `${sys.url}/?token=${sys.apiToken}` : `${sys.url}/  ${dim(`(API token in ${files.api}; --show-tokens prints the sign-in link)`)}`}`,
  );
  console.log(`  API:      ${sys.url}/api/v1  (Authorization: Bearer ${link ? sys.apiToken : `<${files.api}>`})`);
  console.log(`  metrics:  ${sys.url}/metrics`);
  console.log(
    `  runners:  ${opts.runners} shell runner(s) in this process, running jobs as ${sys.jobUser}; data in ${resolve(opts.data)}, builds in ${sys.buildsDir}`,
  );
  console.log(dim('  stop with Ctrl-C (SIGINT) or SIGTERM'));
  if (opts.example) {
    const root = new URL('../../../', import.meta.url).pathname;
    const client = { url: sys.url, token: sys.apiToken };
    const tokenQuery = link ? `?token=${sys.apiToken}` : '';
    // Submitted once per data dir: a restart shows the earlier examples instead of adding more.
    const earlier = await api<{ total: number }>(client, 'GET', '/api/v1/pipelines?project=examples&limit=1');
    if (earlier.total > 0) console.log(`  examples: already submitted (${earlier.total}): ${sys.url}/${tokenQuery}#/pipelines`);
    else
      for (const ex of EXAMPLES) {
        const p = await api<PipelineJson>(client, 'POST', '/api/v1/pipelines', {
          yaml: readFileSync(resolve(root, ex.file), 'utf8'),
          ref: 'main',
          project: 'examples',
          ...(ex.repository ? { repository: ex.repository } : {}),
        });
        console.log(`  example pipeline #${p.id} from ${ex.file}: ${sys.url}/${tokenQuery}#/pipelines/${p.id}`);
      }
  }
  await new Promise<void>((done) => {
    const shutdown = (sig: string) => {
      console.log(dim(`${sig}: stopping…`));
      sys.stop().then(done, (e) => {
        console.error(e);
        process.exitCode = 1;
        done();
      });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}
