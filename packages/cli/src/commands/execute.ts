// Every command but `init`: flags in, core's runCommand, the result out. What is left here is a
// terminal's mechanics — the site configuration's file, a prompt, a live task list, Ctrl-C during
// a rollback — and no upgrade policy.
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import type { CommandResult, RawCommandInput } from '@upgradekit/core';
import { type ExitCode, type GlobalFlags, Output } from '../output.js';

export interface CommandFlags extends GlobalFlags {
  /** assess: also write the report as Markdown (a change ticket). */
  readonly markdown?: string;
}

/** Asks on a live terminal; `undefined` (nobody to ask) off one, under CI, or with --json. */
async function ask(
  out: Output,
  prompt: { readonly lines: readonly string[]; readonly question: string },
): Promise<boolean | undefined> {
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY) && !process.env.CI && !out.json;
  if (!interactive) return undefined;
  if (prompt.lines.length > 0) out.note(prompt.lines.join('\n'));
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${prompt.question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

export async function execute(raw: RawCommandInput, flags: CommandFlags): Promise<ExitCode> {
  const out = new Output(flags);
  // The faces this command needs, not the whole package (sub-path exports).
  const [commands, config, eventsFace, assess] = await Promise.all([
    import('@upgradekit/core/commands'),
    import('@upgradekit/core/config'),
    import('@upgradekit/core/events'),
    import('@upgradekit/core/assess'),
  ]);
  const core = { ...commands, ...config, ...eventsFace, ...assess };
  const command = (raw.command ?? 'plan') as CommandResult['command'];
  const events = new core.EventBus();
  const reporter = new core.ConsoleReporter({ level: flags.verbose ? 'debug' : 'info' });
  let off = events.on('*', reporter.handle);
  // Ctrl-C during a rollback's countdown (or a step) cancels it; the rollback records it. A run
  // handles its own signals (it stops before the next commit).
  const abort = new AbortController();
  const onSignal = () => abort.abort(new Error('interrupted by the operator (SIGINT)'));
  if (command === 'rollback') process.once('SIGINT', onSignal);
  let result: CommandResult;
  try {
    const input = core.parseCommandInput(
      {
        ...raw,
        config: flags.config ?? process.env.UPGRADEKIT_CONFIG,
        site: raw.site ?? process.env.UPGRADEKIT_SITE,
        yes: Boolean(flags.yes),
      },
      'cli',
    );
    const config = core.loadSiteConfig({
      ...(input.config ? { file: input.config } : {}),
      ...(input.site ? { overrides: { site: input.site } } : {}),
    });
    const live = Boolean(process.stdout.isTTY && process.stderr.isTTY) && !process.env.CI && !flags.json;
    result = await core.runCommand(input, {
      surface: 'cli',
      config,
      events,
      ask: (prompt) => ask(out, prompt),
      handleSignals: input.command === 'run',
      signal: abort.signal,
      ci: Boolean(process.env.CI),
      color: live && !process.env.NO_COLOR,
      // The assessment a whole run makes is shown as soon as it is made.
      onAssessment: (report) =>
        out.text(core.renderAssessmentText(report, { color: live && !process.env.NO_COLOR })),
      ...(live
        ? {
            around: async (upgrade, stages, run) => {
              const { withTaskList } = await import('../render/task-list.js');
              off();
              off = () => true;
              return withTaskList(upgrade, events, stages, run);
            },
          }
        : {}),
    });
  } catch (error) {
    result = core.errorResult(command, error);
  } finally {
    process.off('SIGINT', onSignal);
    off();
    reporter.close();
  }
  if (flags.markdown && command === 'assess' && result.exitClass !== 'bad-input')
    writeFileSync(flags.markdown, result.markdown);
  return out.result(result, flags.verbose);
}
