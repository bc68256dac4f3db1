/**
 * The `faultline` command line. Each command lives in ./commands and is imported only when
 * it runs, so `faultline lint` never loads express, OpenTelemetry, dockerode or the
 * Kubernetes client; this file only wires them.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { red } from './format.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Exit codes shared by every command (README: "Exit codes"). */
const EXIT_CODES = `
Exit codes:
  0  success
  1  the command's subject failed: a refused config (lint), a failed pipeline (run, pipelines status),
     an API error (not found, conflict) or an unreachable coordinator
  2  usage: unknown command or option, bad argument, unreadable file, not a git repository or one
     without commits, a config refused by run
  3  run / pipelines status: the pipeline was canceled or is blocked on a manual job`;

const program = new Command('faultline')
  .description('CI coordinator + runner that tells infrastructure failures from build failures')
  .version(VERSION, '-V, --version', 'print the version')
  .addOption(
    new Option('--log-format <format>', 'logs of up/coordinator/runner/run: human (default on a TTY) or json').choices(['human', 'json']),
  )
  .showHelpAfterError()
  .exitOverride()
  .addHelpText('after', EXIT_CODES)
  .hook('preAction', (cmd) => {
    const f = cmd.opts<{ logFormat?: string }>().logFormat;
    if (f) process.env.FAULTLINE_LOG_FORMAT = f;
  });

// A subcommand (pipelines status, runners remove, incidents ack/resolve) reads its parent's
// --json/--url/--token/--data too (commander gives an option both define to the parent): optsWithGlobals().

/** Runs a command module's function and makes its result the exit code. */
const exit = (n: number | void) => {
  if (typeof n === 'number') process.exitCode = n;
};

const conn = (c: Command, json = true) => {
  c.option('--url <url>', 'coordinator URL (env FAULTLINE_URL)')
    .option('--token <token>', 'API token (env FAULTLINE_API_TOKEN)')
    .option('--data <dir>', 'local data dir holding api-token (a `faultline run`/`up` here)', '.faultline');
  return json ? c.option('--json', 'print JSON') : c;
};

program
  .command('up')
  .description('coordinator + embedded shell runners in one process (SQLite, UI and /metrics on localhost)')
  .option('--port <port>', 'HTTP port', '8080')
  .option('--host <host>', 'listen address', '127.0.0.1')
  .option('--data <dir>', 'data directory', './.faultline')
  .option('--runners <n>', 'embedded shell runners', '2')
  .option('--builds-dir <dir>', 'where jobs are checked out (default: under the OS temp dir; never inside --data)')
  .option('--user <name>', 'run jobs as this user (the process must run as root)')
  .option('--show-tokens', 'print the API token and the sign-in link (otherwise only on the start that creates them)')
  .option('--example', 'submit the example pipelines at start')
  .action(async (o) => exit(await (await import('./commands/up.js')).upCommand(o)));

program
  .command('coordinator')
  .description('run the coordinator alone')
  .option('--port <port>', 'HTTP port', '8080')
  .option('--host <host>', 'listen address', '127.0.0.1')
  .option('--data <dir>', 'data directory', './.faultline')
  .option(
    '--database-url <url>',
    'postgres:// database shared by several coordinators (env FAULTLINE_DATABASE_URL; default: SQLite in the data dir); a password in it is visible in ps — prefer the env or PGPASSWORD',
  )
  .option(
    '--database-pool-size <n>',
    'PostgreSQL connections this coordinator opens at most (default 10; file: database_pool_size)',
    (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError('expected a whole number from 1 to 1000');
      return n;
    },
  )
  .option(
    '--registration-token <token>',
    'runner registration token (default: generated, saved in the data dir); visible in ps — prefer the file or FAULTLINE_REGISTRATION_TOKEN',
  )
  .option('--registration-token-file <file>', 'read the runner registration token from this file')
  .option('--show-tokens', 'print the tokens (otherwise only on the start that generates them)')
  .option('--heartbeat-timeout <seconds>', 'fail jobs of runners silent this long', '60')
  .option('--rules <dir>', 'classification rules directory', 'rules/classification')
  .option('--auto-cancel', 'cancel interruptible jobs of older pipelines on the same ref')
  .option('--max-artifact-size <MiB>', 'largest artifact upload (default 100)')
  .option('--artifact-sweep-interval <seconds>', 'how often expired artifacts are deleted (default 60)')
  .option('--config <file>', 'coordinator.yml (options and notifications:); flags given here override it')
  .action(async (o, cmd: Command) => (await import('./commands/serve.js')).coordinatorCommand(o, (k) => cmd.getOptionValueSource(k)));

program
  .command('runner')
  .description('run a runner that polls a coordinator')
  .option('--config <file>', 'config.toml with [[runners]] sections')
  .option(
    '--url <url>',
    'coordinator URL; several coordinators of one database: repeat --url or separate with commas (fail-over in order; env FAULTLINE_URL)',
    (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
  )
  .option('--token <token>', 'runner token (from a previous registration); visible in ps — prefer --token-file or FAULTLINE_RUNNER_TOKEN')
  .option('--token-file <file>', 'read the runner token from this file')
  .option(
    '--registration-token <token>',
    'registers a new runner; visible in ps — prefer --registration-token-file or FAULTLINE_REGISTRATION_TOKEN',
  )
  .option('--registration-token-file <file>', 'read the registration token from this file')
  .option('--user <name>', 'shell executor: run jobs as this user (the runner must run as root)')
  .option('--name <name>', 'runner name')
  .addOption(new Option('--executor <name>', 'executor').choices(['shell', 'docker', 'kubernetes', 'custom']).default('shell'))
  .option('--concurrency <n>', 'jobs at once', '1')
  .option('--tags <list>', 'comma-separated tags', '')
  .option('--builds-dir <dir>', 'where job sources are checked out')
  .option('--heartbeat <seconds>', 'heartbeat interval')
  .option('--metrics-listen <host:port>', 'serve Prometheus GET /metrics here (first runner of a config file)')
  .action(async (o) => (await import('./commands/serve.js')).runnerCommand(o));

program
  .command('run [file]')
  .description(
    "run this git working tree's pipeline (its files as they are now; --committed for HEAD) and follow it; " +
      'results stay in ./.faultline for why/failures/logs/up',
  )
  .option('--url <url>', 'submit to this coordinator (default: a `faultline up` of this directory if one runs, else in-process)')
  .option('--token <token>', 'API token for --url')
  .option('--data <dir>', 'where the in-process coordinator keeps its state', '.faultline')
  .option('--ref <ref>', 'ref name (default: current branch)')
  .option('--var <KEY=VALUE...>', 'pipeline variables')
  .option('--runners <n>', 'in-process runners', '2')
  .option('--committed', "run HEAD's files instead of the working tree's")
  .option('--quiet', "only the summary, not every job's output")
  .option('--json', 'print the finished pipeline as JSON (implies --quiet)')
  .addHelpText('after', '\nExit codes: 0 success, 1 failed, 2 usage or refused config, 3 canceled or blocked on a manual job')
  .action(async (file, o) => exit(await (await import('./commands/run.js')).runCommand(file, o)));

program
  .command('lint <file>')
  .description('validate a .gitlab-ci.yml, simulating a pipeline as GitLab CI Lint does (default: a push to the default branch)')
  .option('--ref <ref>', 'branch or tag to simulate (default: the default branch)')
  .option('--source <source>', 'CI_PIPELINE_SOURCE: push, merge_request_event, schedule, web, …', 'push')
  .option('--var <KEY=VALUE...>', 'pipeline variables')
  .option('--executor <name>', 'also check what this executor would do with the jobs (shell ignores image:, only docker runs services:)')
  .option('--json', 'print { valid, errors, warnings, jobs, stages } as JSON')
  .addHelpText('after', '\nExit codes: 0 valid (warnings allowed), 1 refused, 2 usage or unreadable file')
  .action(async (file, o) => exit(await (await import('./commands/lint.js')).lintCommand(file, o)));

conn(program.command('failures').description('list classified failures'))
  .addOption(new Option('--class <class>').choices(['infra', 'build', 'unknown']))
  .option('--reason <reason>')
  .option('--cause <cause>')
  .option('--ref <ref>')
  .option('--job <name>')
  .option('--runner <id>')
  .option('--image <image>')
  .option('--executor <names>', 'executor(s), comma-separated')
  .option('--registry <hosts>', 'image registry host(s), comma-separated')
  .option('--runner-name <names>', "runner name(s), comma-separated (the metrics' runner label)")
  .option('--since <when>', 'e.g. 24h, 7d or an ISO time')
  .option('--until <when>')
  .option('--limit <n>')
  .action(async (o) => exit(await (await import('./commands/query.js')).failuresCommand(o)));

conn(program.command('why <job>').description('why did this job fail, and whose is it?')).action(async (job, o) =>
  exit(await (await import('./commands/query.js')).whyCommand(job, o)),
);

conn(program.command('cancel <pipeline>').description('cancel a pipeline (gracefully where graceful)'), false).action(async (id, o) =>
  exit(await (await import('./commands/query.js')).cancelCommand(id, o)),
);

const pipelines = conn(program.command('pipelines').description('list pipelines (newest first)'))
  .option('--ref <ref>')
  .option('--status <status>')
  .option('--limit <n>', 'how many', '20')
  .action(async (o) => exit(await (await import('./commands/pipelines.js')).pipelinesCommand(o)));
conn(pipelines.command('status <pipeline>').description("a pipeline's jobs"))
  .addHelpText('after', '\nExit codes: 0 success or still running, 1 failed, 3 canceled/blocked')
  .action(async (id, _o, cmd: Command) =>
    exit(await (await import('./commands/pipelines.js')).pipelineStatusCommand(id, cmd.optsWithGlobals())),
  );

conn(program.command('play <job>').description('play a manual job')).action(async (id, o) =>
  exit(await (await import('./commands/pipelines.js')).playCommand(id, o)),
);
conn(program.command('retry <job>').description('retry a finished job (a new attempt)')).action(async (id, o) =>
  exit(await (await import('./commands/pipelines.js')).retryCommand(id, o)),
);
conn(program.command('logs <job>').description("print a job's log"), false)
  .option('-f, --follow', 'keep printing until the job finishes')
  .action(async (id, o) => exit(await (await import('./commands/pipelines.js')).logsCommand(id, o)));

const runners = conn(program.command('runners').description('list runners')).action(async (o) =>
  exit(await (await import('./commands/ops.js')).runnersCommand(o)),
);
conn(runners.command('remove <runner>').description('remove a runner (its incidents resolve as runner_removed)')).action(
  async (id, _o, cmd: Command) => exit(await (await import('./commands/ops.js')).runnerRemoveCommand(id, cmd.optsWithGlobals())),
);

const incidents = conn(program.command('incidents').description('list infrastructure incidents'))
  .addOption(new Option('--state <state>', 'which').choices(['open', 'acknowledged', 'resolved', 'all']))
  .action(async (o) => exit(await (await import('./commands/ops.js')).incidentsCommand(o)));
conn(incidents.command('ack <incident>').description('acknowledge an incident'))
  .option('--note <text>', 'what you are doing about it')
  .action(async (id, _o, cmd: Command) =>
    exit(await (await import('./commands/ops.js')).incidentActionCommand('ack', id, cmd.optsWithGlobals())),
  );
conn(incidents.command('resolve <incident>').description('resolve an incident'))
  .requiredOption('--note <text>', 'what was fixed')
  .action(async (id, _o, cmd: Command) =>
    exit(await (await import('./commands/ops.js')).incidentActionCommand('resolve', id, cmd.optsWithGlobals())),
  );

const rules = program.command('rules').description('classification rules');
rules
  .command('test')
  .description('backtest candidate rules on stored failures; writes nothing')
  .option('--rules <dir>', 'candidate rules directory', 'rules/classification')
  .option('--since <when>', 'window, e.g. 7d', '7d')
  .option('--data <dir>', 'data directory of the coordinator', './.faultline')
  .option('--json', 'print JSON')
  .option('--sample <n>', 'sample job ids per change', '5')
  .option(
    '--from-widespread <n>',
    'print a rule skeleton from the nth unclassified, widespread error line (GET /api/v1/incidents/widespread)',
  )
  .action(async (o) => exit(await (await import('./commands/rules.js')).rulesTestCommand(o)));

rules
  .command('eval')
  .description('run a labelled failure-log corpus through the classifier; accuracy, precision/recall, coverage per part')
  .option('--corpus <dir>', 'corpus directory (<id>.yml + <id>.log)', 'test/corpus/failures')
  .option('--rules <dir>', 'rules directory (default: the shipped rules)')
  .addOption(new Option('--part <part>', 'which part to report').choices(['train', 'heldout', 'all']).default('all'))
  .option('--json', 'print JSON')
  .action(async (o) => exit((await import('./commands/eval.js')).rulesEvalCommand(o)));

program
  .command('classify <file>')
  .description('classify one job log (a file, or - for stdin) as the coordinator would store it')
  .option('--reason <reason>', 'runner-reported failure reason', 'script_failure')
  .option('--stage <stage>', 'stage the job failed in', 'step_script')
  .option('--exit-code <n>', 'exit code of the script')
  .option('--executor <name>', 'executor (docker, shell, kubernetes, …)')
  .option('--message <text>', "the runner's own error text")
  .option('--rules <dir>', 'rules directory (default: the shipped rules)')
  .option('--baseline <file>', 'the last successful log of the same job: when no rule matches, show the new error-like lines')
  .option('--json', 'print the classification as JSON')
  .action(async (file, o) => exit((await import('./commands/eval.js')).classifyCommand(file, o)));

program.parseAsync(process.argv).catch(async (e: unknown) => {
  if (e instanceof CommanderError) {
    // --help and --version exit 0; every usage error exits 2 (commander's own code is 1).
    process.exitCode = e.exitCode === 0 ? 0 : 2;
    return;
  }
  const { ApiRequestError } = await import('./api-client.js');
  const { safe } = await import('./format.js');
  if (e instanceof ApiRequestError) {
    console.error(red(safe(`error: ${e.message} (HTTP ${e.status})`)));
    for (const d of e.body.details ?? []) console.error(red(safe(`  ${d.path}${d.line ? `:${d.line}:${d.column}` : ''}: ${d.message}`)));
  } else {
    const cause = (e as Error & { cause?: { message?: string } }).cause;
    console.error(red(safe(`error: ${(e as Error).message}${cause?.message ? ` (${cause.message})` : ''}`)));
  }
  process.exitCode = process.exitCode || 1;
});
