/** The `faultline` command line. Each command lives in ./commands; this file only wires them. */
import { Command, Option } from 'commander';
import { ApiRequestError } from './api-client.js';
import { lintCommand } from './commands/lint.js';
import { cancelCommand, failuresCommand, whyCommand } from './commands/query.js';
import { runCommand } from './commands/run.js';
import { upCommand } from './commands/up.js';
import { coordinatorCommand, runnerCommand } from './commands/serve.js';
import { rulesTestCommand } from './commands/rules.js';
import { red } from './format.js';

const program = new Command('faultline')
  .description('CI coordinator + runner that tells infrastructure failures from build failures')
  .showHelpAfterError();

const conn = (c: Command) =>
  c
    .option('--url <url>', 'coordinator URL (env FAULTLINE_URL)')
    .option('--token <token>', 'API token (env FAULTLINE_API_TOKEN)')
    .option('--data <dir>', 'local data dir holding api-token', '.faultline')
    .option('--json', 'print JSON');

program
  .command('up')
  .description('coordinator + embedded shell runners in one process (SQLite, UI and /metrics on localhost)')
  .option('--port <port>', 'HTTP port', '8080')
  .option('--host <host>', 'listen address', '127.0.0.1')
  .option('--data <dir>', 'data directory', './.faultline')
  .option('--runners <n>', 'embedded shell runners', '2')
  .option('--example', 'submit the example pipelines at start')
  .action(upCommand);

program
  .command('coordinator')
  .description('run the coordinator alone')
  .option('--port <port>', 'HTTP port', '8080')
  .option('--host <host>', 'listen address', '127.0.0.1')
  .option('--data <dir>', 'data directory', './.faultline')
  .option('--registration-token <token>', 'runner registration token (default: generated, saved in the data dir)')
  .option('--heartbeat-timeout <seconds>', 'fail jobs of runners silent this long', '60')
  .option('--rules <dir>', 'classification rules directory', 'rules/classification')
  .option('--auto-cancel', 'cancel interruptible jobs of older pipelines on the same ref')
  .option('--max-artifact-size <MiB>', 'largest artifact upload (default 100)')
  .option('--artifact-sweep-interval <seconds>', 'how often expired artifacts are deleted (default 60)')
  .option('--config <file>', 'coordinator.yml (options and notifications:); flags given here override it')
  .action((o, cmd: Command) => coordinatorCommand(o, (k) => cmd.getOptionValueSource(k)));

program
  .command('runner')
  .description('run a runner that polls a coordinator')
  .option('--config <file>', 'config.toml with [[runners]] sections')
  .option('--url <url>', 'coordinator URL')
  .option('--token <token>', 'runner token (from a previous registration)')
  .option('--registration-token <token>', 'registers a new runner')
  .option('--name <name>', 'runner name')
  .addOption(new Option('--executor <name>', 'executor').choices(['shell', 'docker', 'kubernetes', 'custom']).default('shell'))
  .option('--concurrency <n>', 'jobs at once', '1')
  .option('--tags <list>', 'comma-separated tags', '')
  .option('--builds-dir <dir>', 'where job sources are checked out')
  .option('--heartbeat <seconds>', 'heartbeat interval')
  .option('--metrics-listen <host:port>', 'serve Prometheus GET /metrics here (first runner of a config file)')
  .action((o) => runnerCommand(o));

program
  .command('run [file]')
  .description("run this git working tree's pipeline at HEAD and follow it")
  .option('--url <url>', 'submit to this coordinator instead of an in-process one')
  .option('--token <token>', 'API token for --url')
  .option('--ref <ref>', 'ref name (default: current branch)')
  .option('--var <KEY=VALUE...>', 'pipeline variables')
  .option('--runners <n>', 'in-process runners', '2')
  .option('--quiet', 'only the summary')
  .action(async (file, o) => {
    process.exitCode = await runCommand(file, o);
  });

program
  .command('lint <file>')
  .description('validate a .gitlab-ci.yml')
  .action((file) => {
    process.exitCode = lintCommand(file);
  });

conn(program.command('failures').description('list classified failures'))
  .addOption(new Option('--class <class>').choices(['infra', 'build', 'unknown']))
  .option('--reason <reason>')
  .option('--cause <cause>')
  .option('--ref <ref>')
  .option('--job <name>')
  .option('--runner <id>')
  .option('--image <image>')
  .option('--since <when>', 'e.g. 24h, 7d or an ISO time')
  .option('--until <when>')
  .option('--limit <n>')
  .action(async (o) => {
    process.exitCode = await failuresCommand(o);
  });

conn(program.command('why <job>').description('why did this job fail, and whose is it?')).action(async (job, o) => {
  process.exitCode = await whyCommand(job, o);
});

conn(program.command('cancel <pipeline>').description('cancel a pipeline (gracefully where graceful)')).action(async (id, o) => {
  process.exitCode = await cancelCommand(id, o);
});

const rules = program.command('rules').description('classification rules');
rules
  .command('test')
  .description('backtest candidate rules on stored failures; writes nothing')
  .option('--rules <dir>', 'candidate rules directory', 'rules/classification')
  .option('--since <when>', 'window, e.g. 7d', '7d')
  .option('--data <dir>', 'data directory of the coordinator', './.faultline')
  .option('--json', 'print JSON')
  .option('--sample <n>', 'sample job ids per change', '5')
  .action(async (o) => {
    process.exitCode = await rulesTestCommand(o);
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof ApiRequestError) {
    console.error(red(`error: ${e.message} (HTTP ${e.status})`));
    for (const d of e.body.details ?? []) console.error(red(`  ${d.path}${d.line ? `:${d.line}:${d.column}` : ''}: ${d.message}`));
  } else {
    const cause = (e as Error & { cause?: { message?: string } }).cause;
    console.error(red(`error: ${(e as Error).message}${cause?.message ? ` (${cause.message})` : ''}`));
  }
  process.exitCode = process.exitCode || 1;
});
