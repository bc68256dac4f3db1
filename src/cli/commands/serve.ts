/** `faultline coordinator` and `faultline runner`: the two long-running services. */
import { resolve } from 'node:path';
import { loadCoordinatorConfig, overlayOptions } from '../../coordinator/config-file.js';
import { createCoordinator } from '../../coordinator/index.js';
import { parseCoordinatorUrls } from '../../runner/coordinators.js';
import { loadRunnerConfig, startRunner, type RunnerHandle, type StartRunnerOptions } from '../../runner/index.js';
import { parseListen } from '../../telemetry/runner-telemetry.js';
import { bold, dim, yellow } from '../format.js';
import { chooseDatabase } from '../../coordinator/database-url.js';
import { readSecret } from '../secret-input.js';
import { tokenLines } from '../tokens.js';
import { coordinatorLevel } from '../embedded.js';
import { cliLogger } from '../log.js';

/** Resolves when SIGTERM/SIGINT arrives and `stop` has finished. */
function untilSignal(stop: () => Promise<void>): Promise<void> {
  return new Promise((done) => {
    const on = (sig: string) => {
      console.log(dim(`${sig}: stopping…`));
      stop().then(done, (e) => {
        console.error(e);
        process.exitCode = 1;
        done();
      });
    };
    process.once('SIGTERM', () => on('SIGTERM'));
    process.once('SIGINT', () => on('SIGINT'));
  });
}

export async function coordinatorCommand(
  o: {
    config?: string;
    port: string;
    host: string;
    data: string;
    databaseUrl?: string;
    databasePoolSize?: number;
    registrationToken?: string;
    registrationTokenFile?: string;
    heartbeatTimeout: string;
    rules: string;
    autoCancel?: boolean;
    showTokens?: boolean;
    maxArtifactSize?: string;
    artifactSweepInterval?: string;
  },
  /** Where each option's value came from (commander's getOptionValueSource): flags given on the command line override the file. */
  source: (key: string) => string | undefined = () => 'cli',
): Promise<void> {
  const file = o.config ? loadCoordinatorConfig(o.config) : {};
  // Without a file every value (defaults included) applies; with one, only flags typed out do.
  const given = <T>(key: string, v: T): T | undefined => (!o.config || source(key) === 'cli' || source(key) === 'env' ? v : undefined);
  const opts = overlayOptions(file, {
    dataDir: given('data', resolve(o.data)),
    port: given('port', Number(o.port)),
    host: given('host', o.host),
    databasePoolSize: o.databasePoolSize,
    registrationToken: readSecret({
      value: o.registrationToken,
      file: o.registrationTokenFile,
      env: 'FAULTLINE_REGISTRATION_TOKEN',
      flag: '--registration-token',
    }),
    heartbeatTimeoutMs: given('heartbeatTimeout', Number(o.heartbeatTimeout) * 1000),
    rulesDir: given('rules', resolve(o.rules)),
    autoCancel: o.autoCancel,
  });
  const db = databaseUrlOf(o.databaseUrl, file.databaseUrl, o.config);
  const c = await createCoordinator({
    ...opts,
    ...(db ? { databaseUrl: db } : {}),
    dataDir: opts.dataDir ?? resolve(o.data),
    port: opts.port ?? Number(o.port),
    host: opts.host ?? o.host,
    rulesDir: opts.rulesDir ?? resolve(o.rules),
    autoCancel: opts.autoCancel ?? false,
    logger: cliLogger('coordinator', coordinatorLevel()),
    ...(o.maxArtifactSize ? { maxArtifactBytes: Math.round(Number(o.maxArtifactSize) * 1024 * 1024) } : {}),
    ...(o.artifactSweepInterval ? { artifactSweepIntervalMs: Number(o.artifactSweepInterval) * 1000 } : {}),
  });
  console.log(bold(`coordinator listening on ${c.url}`));
  for (const l of tokenLines(c, o.showTokens ?? false)) console.log(l);
  await untilSignal(() => c.close());
}

/** --database-url, else FAULTLINE_DATABASE_URL, else the file's database_url: checked here, where its origin is known. */
function databaseUrlOf(flag: string | undefined, fromFile: string | undefined, configFile: string | undefined): string | undefined {
  const env = process.env.FAULTLINE_DATABASE_URL || undefined;
  const url = flag ?? env ?? fromFile;
  if (url === undefined) return undefined;
  const from = flag !== undefined ? '--database-url' : env !== undefined ? 'FAULTLINE_DATABASE_URL' : `database_url in ${configFile}`;
  if (flag !== undefined && URL.canParse(flag) && new URL(flag).password)
    console.error(
      yellow('warning: --database-url holds a password, visible to every local user (ps); use FAULTLINE_DATABASE_URL or PGPASSWORD'),
    );
  chooseDatabase(url, from);
  return url;
}

export async function runnerCommand(o: {
  config?: string;
  url?: string[];
  token?: string;
  tokenFile?: string;
  registrationToken?: string;
  registrationTokenFile?: string;
  user?: string;
  name?: string;
  executor: string;
  concurrency: string;
  tags: string;
  buildsDir?: string;
  heartbeat?: string;
  metricsListen?: string;
}): Promise<void> {
  const heartbeatMs = o.heartbeat ? Number(o.heartbeat) * 1000 : undefined;
  const listen = o.metricsListen ? parseListen(o.metricsListen) : null;
  if (o.config && o.url?.length)
    throw new Error('runner: --url and --config both name coordinators: put the URLs in config.toml (url = [...])');
  const urls = o.url?.length ? o.url : process.env.FAULTLINE_URL ? [process.env.FAULTLINE_URL] : undefined;
  const specs: Array<Partial<StartRunnerOptions>> = o.config
    ? loadRunnerConfig(o.config)
    : [
        {
          ...(urls ? { url: parseCoordinatorUrls(urls, o.url?.length ? '--url' : 'FAULTLINE_URL') } : {}),
          token: readSecret({ value: o.token, file: o.tokenFile, env: 'FAULTLINE_RUNNER_TOKEN', flag: '--token' }),
          registrationToken: readSecret({
            value: o.registrationToken,
            file: o.registrationTokenFile,
            env: 'FAULTLINE_REGISTRATION_TOKEN',
            flag: '--registration-token',
          }),
          name: o.name,
          executor: o.executor as StartRunnerOptions['executor'],
          concurrency: Number(o.concurrency),
          tags: o.tags
            ? o.tags
                .split(',')
                .map((t) => t.trim())
                .filter(Boolean)
            : [],
          buildsDir: o.buildsDir,
          ...(o.user ? { executorConfig: { user: o.user } } : {}),
        },
      ];
  if (o.user && (o.config || o.executor !== 'shell'))
    throw new Error('runner: --user applies to the shell executor given by flags (in config.toml: [runners.shell] user = "…")');
  const runners: RunnerHandle[] = [];
  for (const spec of specs) {
    if (!spec.url) throw new Error('runner: --url (or FAULTLINE_URL, or url in config.toml) is required');
    if (!spec.token && !spec.registrationToken)
      throw new Error(
        'runner: a runner token (--token-file, FAULTLINE_RUNNER_TOKEN) or a registration token (--registration-token-file, FAULTLINE_REGISTRATION_TOKEN) is required',
      );
    const metrics = listen && runners.length === 0 ? { metricsPort: listen.port, metricsHost: listen.host } : {};
    const r = await startRunner({
      logger: cliLogger('runner', process.env.FAULTLINE_RUNNER_LOG_LEVEL ?? 'warn', 2),
      ...(spec as StartRunnerOptions),
      ...(heartbeatMs ? { heartbeatMs } : {}),
      ...metrics,
    });
    console.log(
      bold(
        `runner ${String(spec.name ?? '')} (#${r.runnerId}) polling ${[spec.url].flat().join(', ')} with the ${String(spec.executor)} executor`,
      ),
    );
    if (r.metricsUrl) console.log(`  metrics: ${r.metricsUrl}/metrics`);
    runners.push(r);
  }
  await untilSignal(async () => {
    await Promise.all(runners.map((r) => r.stop()));
  });
}
