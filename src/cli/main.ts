/** The `faultline` command line. Each command lives in ./commands; this file only wires them. */
import { Command, Option } from 'commander';
import { ApiRequestError } from './api-client.js';
import { lintCommand } from './commands/lint.js';
import { cancelCommand, failuresCommand, whyCommand } from './commands/query.js';
import { runCommand } from './commands/run.js';
import { upCommand } from './commands/up.js';
import { coordinatorCommand, runnerCommand } from './commands/serve.js';
import { rulesTestCommand } from './commands/rules.js';
import { classifyCommand, DEFAULT_CORPUS_DIR, rulesEvalCommand } from './commands/eval.js';
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
  .option('--builds-dir <dir>', 'where jobs are checked out (default: under the OS temp dir; never inside --data)')
  .option('--user <name>', 'run jobs as this user (the process must run as root)')
  .option('--show-tokens', 'print the API token and the sign-in link (otherwise only on the start that creates them)')
  .option('--example', 'submit the example pipelines at start')
  .action(upCommand);

program
  .command('coordinator')
  .description('run the coordinator alone')
  .option('--port <port>', 'HTTP port', '8080')
  .option('--host <host>', 'listen address', '127.0.0.1')
  .option('--data <dir>', 'data directory', './.faultline')
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
  .action((o, cmd: Command) => coordinatorCommand(o, (k) => cmd.getOptionValueSource(k)));

program
  .command('runner')
  .description('run a runner that polls a coordinator')
  .option('--config <file>', 'config.toml with [[runners]] sections')
  .option('--url <url>', 'coordinator URL')
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
  .description('validate a .gitlab-ci.yml, simulating a pipeline as GitLab CI Lint does (default: a push to the default branch)')
  .option('--ref <ref>', 'branch or tag to simulate (default: the default branch)')
  .option('--source <source>', 'CI_PIPELINE_SOURCE: push, merge_request_event, schedule, web, …', 'push')
  .option('--var <KEY=VALUE...>', 'pipeline variables')
  .option('--executor <name>', 'also check what this executor would do with the jobs (shell ignores image:, only docker runs services:)')
  .action(async (file, o) => {
    process.exitCode = await lintCommand(file, o);
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
  .option(
    '--from-widespread <n>',
    'print a rule skeleton from the nth unclassified, widespread error line (GET /api/v1/incidents/widespread)',
  )
  .action(async (o) => {
    process.exitCode = await rulesTestCommand(o);
  });

rules
  .command('eval')
  .description('run a labelled failure-log corpus through the classifier; accuracy, precision/recall, coverage per part')
  .option('--corpus <dir>', 'corpus directory (<id>.yml + <id>.log)', DEFAULT_CORPUS_DIR)
  .option('--rules <dir>', 'rules directory (default: the shipped rules)')
  .addOption(new Option('--part <part>', 'which part to report').choices(['train', 'heldout', 'all']).default('all'))
  .option('--json', 'print JSON')
  .action((o) => {
    process.exitCode = rulesEvalCommand(o);
  });

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
  .action((file, o) => {
    process.exitCode = classifyCommand(file, o);
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
