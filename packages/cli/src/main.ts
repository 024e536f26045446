// The `upgradekit` command: argument parsing and dispatch only. Every command module (and the
// core behind it) is imported when its command runs, so `upgradekit --help` starts fast.
import { readFileSync } from 'node:fs';
import type { RawCommandInput } from '@upgradekit/core';
import { Command, CommanderError } from 'commander';
import type { CommandFlags } from './commands/execute.js';
import { Exit, type ExitCode, type GlobalFlags, Output } from './output.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

// Which options a command needs, and every other rule, is core's input schema (parseCommandInput):
// the parser only collects what was typed, so the CLI and the Action refuse the same things alike.
function releaseOptions(command: Command, versions: 'required' | 'optional'): Command {
  command.option('--release <dir>', 'the release (upgrade package) directory (required)');
  if (versions === 'required') {
    command
      .option('--from <version>', 'the version running now, e.g. 2.16.5 (required)')
      .option('--to <version>', 'the version to upgrade to, e.g. 2.16.7 (required)');
  } else {
    command
      .option('--from <version>', 'the version running before (default: the last recorded run)')
      .option('--to <version>', 'the version upgraded to (default: the last recorded run)');
  }
  return command.option('--site <id>', 'the site id; also UPGRADEKIT_SITE or `site:` in --config');
}

/** `--accept ID`, repeatable: an assessment check whose failure or warning this run accepts. */
const ACCEPT = [
  '--accept <check>',
  'accept this assessment check for this run (its id, e.g. resources.local.cpu; repeatable)',
  (value: string, previous: string[] = []) => [...previous, value],
] as const;

/**
 * Parses `argv` and runs the command; resolves to the exit code (0 ok, 1 failed, 2 bad input,
 * 3 needs an operator decision). Never throws and never calls `process.exit`.
 */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<ExitCode> {
  let exit: ExitCode = Exit.ok;
  const program = new Command('upgradekit')
    .description('Safe, resumable, rollback-able upgrades of on-premise deployments.')
    // `-V` only: after `resolve`, `--version V` names the version of a task. `--version` before
    // any command still prints upgradekit's own (see below).
    .version(VERSION, '-V', 'print the version of upgradekit (also --version, before any command)')
    .option('--json', 'print one JSON document on stdout (logs stay on stderr)')
    .option('--config <file>', 'the site configuration (YAML); also UPGRADEKIT_CONFIG')
    .option('-y, --yes', 'answer yes to confirmations (needed off a terminal)')
    .option('--verbose', 'debug logs and stack traces')
    .showHelpAfterError('(add --help for usage)')
    // A subcommand's help lists --config, --yes and --json too: most runs need one of them.
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });

  // Flags and arguments become core's command input; core validates it and runs the command.
  const run =
    (name: string, raw: (flags: Record<string, unknown>, args: unknown[]) => RawCommandInput = () => ({})) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const flags = command.optsWithGlobals() as CommandFlags & Record<string, unknown>;
      const { execute } = await import('./commands/execute.js');
      exit = await execute(
        { ...(flags as RawCommandInput), config: undefined, command: name, ...raw(flags, args.slice(0, -2)) },
        flags,
      );
    };

  // A command about one release's upgrade: --release, the versions (needed, or defaulting to the
  // last recorded run) and --site, then whatever the command adds.
  const releaseCommand = (name: string, description: string, versions: 'required' | 'optional') =>
    releaseOptions(program.command(name).description(description), versions);

  releaseCommand('plan', 'show which tasks an upgrade runs, per stage, and its mode', 'required').action(
    run('plan'),
  );

  releaseCommand(
    'assess',
    'resources, data quality, compatibility and duration, before anything changes',
    'required',
  )
    .option('--markdown <file>', 'also write the report as Markdown')
    .option(...ACCEPT)
    .action(run('assess'));

  releaseCommand('run', 'run the upgrade: every stage in order, or one --stage (resumes)', 'required')
    .option(
      '--stage <name>',
      "run only this cut-point, hooks included: install, resourceCheck, businessCheck, preUpgrade, preStart, postStart, openTraffic, postUpgrade; tasks.yaml's names work too (pre_stop = preUpgrade, in_stop = preStart, post_start = postStart)",
    )
    .option('--dry-run', 'show what would run and what is skipped, and why; execute nothing')
    .option(
      '--services <who>',
      'external: your pipeline stops and starts the services; a stop-mode run stops after preUpgrade and prints the next command',
    )
    .option(...ACCEPT)
    .option(
      '--kill-in-doubt',
      'a statement an interrupted run left running on the database server is cancelled there, instead of awaited, before its outcome is decided',
    )
    .action(run('run'));

  releaseCommand('status', 'what is done, pending, failed or in doubt', 'optional').action(run('status'));

  releaseCommand(
    'resolve',
    'settle a failed or in-doubt step: it was --applied, must --retry, or --restart',
    'optional',
  )
    .argument('<task>', 'the step or task id')
    .option('--applied', 'the failed or in-doubt part took effect: continue after it')
    .option('--retry', 'the failed or in-doubt part did not take effect: run it again')
    .option('--restart', 'forget saved progress: run the task from its very start')
    .option('--from-statement <n>', 'continue the task at statement N (1-based)')
    .option('--version <version>', 'the version that introduced the task, when its id is in more than one')
    .option('--host <name>', 'the host of a host-level step')
    .action(run('resolve', (_flags, [task]) => ({ task: task as string })));

  releaseCommand(
    'backup',
    'a verified backup of the site (database, program directory, configuration) before upgrading',
    'required',
  ).action(run('backup'));

  const rollback = program
    .command('rollback')
    .description('restore a backup: list, auto, manual, step N, status, auto-continue-from N, abandon');
  const rollbackAction = (
    name: string,
    description: string,
    argument?: [name: string, description: string, defaultValue?: string],
    extra: {
      compatible?: boolean;
      alias?: string;
      hidden?: boolean;
      as?: { action: string; arg: string };
    } = {},
  ): void => {
    const command = rollback
      .command(name, { hidden: Boolean(extra.hidden) })
      .description(description)
      .option('--release <dir>', "the release: gives the component and the datasources' engines")
      .option('--component <name>', "the component (default: backup.component, or the release's)")
      .option('--site <id>', 'the site id; also UPGRADEKIT_SITE or `site:` in --config');
    if (argument) command.argument(argument[0], argument[1], argument[2]);
    if (extra.alias) command.alias(extra.alias);
    if (extra.compatible) {
      command
        .option(
          '--compatible',
          'the upgrade only added things: restore program and configuration, keep the data',
        )
        .option(
          '--full',
          'restore the data too (default without --release; with it, unless every task is marked additive)',
        );
    }
    command.action(
      run('rollback', (_flags, args) => {
        const action = extra.as?.action ?? name;
        const arg = extra.as?.arg ?? (typeof args[0] === 'string' ? args[0] : undefined);
        return {
          action,
          ...(arg === undefined
            ? {}
            : action === 'auto' || action === 'manual'
              ? { backup: arg }
              : { step: arg }),
        };
      }),
    );
  };
  rollbackAction('list', 'the backups, newest first, and the rollback history');
  rollbackAction('status', 'where the unfinished (or last) rollback stands; exit 3 while one is unfinished');
  rollbackAction(
    'auto',
    'verify, count down 5 s (skipped with --yes or under CI), then all six steps; continues an interrupted one',
    ['[backup]', 'a backup id, or latest', 'latest'],
    { compatible: true },
  );
  rollbackAction(
    'manual',
    'verify the backup and open a rollback to run step by step',
    ['[backup]', 'a backup id, or latest', 'latest'],
    { compatible: true },
  );
  rollbackAction('step', 'run step N (1–6) of the open rollback', ['<n>', 'the step, 1 to 6']);
  // Seed 004 §4.4.2.2 spells them `step1` … `step6` and `auto_continue_from`: accept both.
  for (let n = 1; n <= 6; n++)
    rollbackAction(`step${n}`, `step ${n}`, undefined, {
      hidden: true,
      as: { action: 'step', arg: String(n) },
    });
  rollbackAction(
    'auto-continue-from',
    'run steps N…6 of the open rollback; earlier unfinished steps are recorded as skipped',
    ['<n>', 'the step, 1 to 6'],
    { alias: 'auto_continue_from' },
  );
  rollbackAction('abandon', 'give up the unfinished rollback (the copies kept aside stay)');

  program
    .command('init')
    .description('create a new release directory to start from')
    .argument('[dir]', 'where to create it', '.')
    .requiredOption('--component <name>', 'the component the release upgrades')
    .option('--first-version <version>', 'the first version with tasks', '1.0.0')
    .option('--datasource <type>', 'sqlite, mariadb, mysql, postgres or clickhouse', 'sqlite')
    .action(async (dir: string, _options: unknown, command: Command) => {
      const flags = command.optsWithGlobals() as GlobalFlags;
      const out = new Output(flags);
      try {
        exit = await (await import('./commands/init.js')).initCommand(dir, flags as never, out);
      } catch (error) {
        exit = report(out, error);
      }
    });

  // Before any command, `--version` is upgradekit's own version, as every tool has it.
  const args = argv[0] === '--version' ? ['-V', ...argv.slice(1)] : [...argv];
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, successfully.
      return error.exitCode === 0 ? Exit.ok : Exit.badInput;
    }
    return report(new Output({}), error);
  }
  return exit;
}

/** An error outside a command's run (init, or the parser itself): its message, exit 2 for bad input. */
function report(out: Output, error: unknown): ExitCode {
  const e = error as Error & { code?: string };
  out.document({ ok: false, status: 'failed', error: { name: e?.name, code: e?.code, message: e?.message } });
  out.note(`upgradekit: ${e?.code ? `${e.code}: ` : ''}${e?.message ?? String(error)}`);
  return e?.code === 'UPGRADEKIT_BAD_INPUT' || e?.code === 'UPGRADEKIT_BAD_VERSION'
    ? Exit.badInput
    : Exit.failed;
}
