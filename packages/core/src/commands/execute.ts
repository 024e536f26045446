// Runs one command from its validated input and hands back its result: what opens and closes
// around the work (release, prepared upgrade, rollback), and every confirmation rule, in one place.
// A surface supplies only its mechanics: how to ask a person, how to draw a run, its signals.
import type { AssessmentReport } from '../assess/index.js';
import type { SiteConfig } from '../config/index.js';
import { backupSettings, DEFAULT_SITE, readableSecrets } from '../config/internal.js';
import { describeStateLocation } from '../datasources/internal.js';
import type { EventBus } from '../events/index.js';
import { STAGES, type StageName } from '../model/index.js';
import { anObject, checkArguments } from '../options/index.js';
import { plan } from '../plan/index.js';
import { loadRelease } from '../release/index.js';
import {
  assessSite,
  backupSite,
  type ConfirmReasons,
  executeUpgrade,
  openSiteRollback,
  type PreparedUpgrade,
  prepareUpgrade,
  rollbackModeFromRelease,
} from '../site/index.js';
import { lastRecordedUpgrade } from '../site/internal.js';
import type { Upgrade } from '../stages/index.js';
import { idRepeats } from '../stages/internal.js';
import { assessResult } from './assess.js';
import { backupResult, rollbackListResult, rollbackRunResult, rollbackStatusResult } from './backup.js';
import type { CommandInput, Surface } from './input.js';
import { planResult } from './plan.js';
import { type CommandResult, errorResult } from './result.js';
import { runResult } from './run.js';
import { noStatusResult, resolveResult, statusResult } from './status.js';

/** What the surface running the command provides. */
export interface CommandIO {
  readonly surface: Surface;
  readonly config: SiteConfig;
  readonly events: EventBus;
  /**
   * Asks a person; `undefined` when nobody can be asked (no terminal, CI, --json). Without it the
   * answer is the input's `yes`.
   */
  readonly ask?: (prompt: {
    readonly lines: readonly string[];
    readonly question: string;
  }) => Promise<boolean | undefined>;
  /** Draws a run while it runs (a terminal task list). */
  readonly around?: <R>(upgrade: Upgrade, stages: readonly StageName[], run: () => Promise<R>) => Promise<R>;
  /** The assessment a whole run makes, as soon as it is made, before anything runs. */
  readonly onAssessment?: (report: AssessmentReport) => void;
  /** SIGINT/SIGTERM stop a run before its next commit (the CLI and the Action; not a library caller). */
  readonly handleSignals?: boolean;
  /** Cancels a rollback (its countdown or a step). */
  readonly signal?: AbortSignal;
  /** Under CI: no countdown before an automatic rollback. */
  readonly ci?: boolean;
  readonly color?: boolean;
}

/**
 * Runs the command and returns its result; never throws. A thrown error becomes a result too,
 * with the exit class its code gives (bad input 2, in doubt 3, else 1).
 *
 * @example
 * const input = parseCommandInput({ command: 'status', release: './release' });
 * const result = await runCommand(input, { surface: 'script', config: loadSiteConfig(), events: new EventBus() });
 * if (result.exitClass !== 'ok') console.error(result.failure);
 */
export async function runCommand(input: CommandInput, io: CommandIO): Promise<CommandResult> {
  checkArguments(
    'runCommand',
    { input: anObject('a command input (parseCommandInput())'), io: anObject('{ events, confirm, … }') },
    { input, io },
  );
  // Every secret of the configuration is masked in the result — its text, report, summary and
  // annotations — as in the events: a failure's message may quote one (a program's stderr).
  for (const secret of readableSecrets(io.config)) io.events.addSecret(secret);
  let result: CommandResult;
  try {
    result = await dispatch(input, io);
  } catch (error) {
    result = errorResult(input.command, error);
  }
  return io.events.redact(result);
}

const siteOf = (config: SiteConfig) => config.site?.id ?? DEFAULT_SITE;

async function dispatch(input: CommandInput, io: CommandIO): Promise<CommandResult> {
  const { config, events } = io;
  const yes = io.surface === 'action' ? '`yes: true`' : '--yes';
  switch (input.command) {
    case 'plan': {
      const release = await loadRelease(input.release);
      const p = plan({ release, from: input.from, to: input.to, site: siteOf(config) });
      const backup = config.backup ? backupSettings(config, { release, credentials: false }) : undefined;
      return planResult(
        release,
        p,
        backup && { root: backup.options.root, ...(backup.host ? { host: backup.host.name } : {}) },
      );
    }
    case 'assess':
      return withPrepared(input, io, {}, async (prepared) => {
        const report = await assessSite(prepared, config, { events, accept: input.accept });
        return assessResult(report, {
          accepted: input.yes,
          yes,
          ...(io.color ? { color: true } : {}),
          mode: prepared.plan.mode,
        });
      });
    case 'run':
      return withPrepared(
        input,
        io,
        {
          ...(io.handleSignals ? { handleSignals: true } : {}),
          ...(input.killInDoubt ? { killInDoubt: true } : {}),
        },
        async (prepared) => {
          const outcome = await executeUpgrade(prepared, {
            ...(input.stage ? { stage: input.stage } : {}),
            ...(input.dryRun ? { dryRun: true } : {}),
            events,
            accept: input.accept,
            ...(input.services ? { services: input.services } : {}),
            // One decision, one question, whatever the reasons (each is shown above it).
            confirm: async (reasons) =>
              input.yes ||
              ((await io.ask?.({ lines: confirmLines(reasons), question: 'Run the upgrade anyway?' })) ??
                false),
            ...(io.onAssessment ? { onAssessment: io.onAssessment } : {}),
            ...(io.around
              ? {
                  around: <R>(stages: readonly StageName[], run: () => Promise<R>) =>
                    io.around!(prepared.upgrade, stages, run),
                }
              : {}),
          });
          return runResult(outcome, {
            input,
            release: prepared.release,
            plan: prepared.plan,
            site: prepared.upgrade.site.id,
            hasBackup: Boolean(config.backup),
            // A printed `resolve` names the version of a step whose id another version has too.
            repeats: idRepeats(STAGES.flatMap((stage) => prepared.upgrade.planned(stage))),
            yes,
            state: describeStateLocation(config),
          });
        },
      );
    case 'status':
    case 'resolve': {
      const release = await loadRelease(input.release);
      const versions =
        input.from && input.to
          ? { from: input.from, to: input.to }
          : await lastRecordedUpgrade(release.component, {
              ...config,
              site: config.site ?? { id: siteOf(config) },
            });
      if (!versions) {
        if (input.command === 'status')
          return noStatusResult(release.component, siteOf(config), describeStateLocation(config));
        return errorResult(
          'resolve',
          Object.assign(
            new Error(
              `no upgrade of ${release.component} recorded on site ${siteOf(config)}: nothing to resolve`,
            ),
            { code: 'UPGRADEKIT_BAD_INPUT' },
          ),
        );
      }
      return withPrepared(
        { ...input, release: release.dir, ...versions },
        io,
        {},
        async (prepared) => {
          if (input.command === 'status')
            return statusResult(
              await prepared.upgrade.status(),
              { ...input, ...versions },
              prepared.plan.mode,
              describeStateLocation(config),
            );
          const resolved = await prepared.upgrade.resolve(input.task, input.decision, {
            ...(input.host ? { host: input.host } : {}),
            ...(input.version ? { version: input.version } : {}),
          });
          return resolveResult(input.task, input.decision, resolved as never);
        },
        release,
      );
    }
    case 'backup': {
      const release = await loadRelease(input.release);
      const result = await backupSite({ config, release, from: input.from, to: input.to, events });
      return backupResult(result, {
        component: release.component,
        from: input.from,
        to: input.to,
        site: siteOf(config),
      });
    }
    case 'rollback': {
      const release = input.release ? await loadRelease(input.release) : undefined;
      const { action } = input;
      const opened = await openSiteRollback({
        config,
        ...(release ? { release } : {}),
        ...(input.component ? { component: input.component } : {}),
        // Only restores need database credentials: looking and giving up must work without them.
        credentials: action !== 'list' && action !== 'status' && action !== 'abandon',
        events,
        ...(io.signal ? { signal: io.signal } : {}),
        yes: input.yes,
        ci: Boolean(io.ci),
      });
      try {
        const { rollback } = opened;
        if (action === 'list') {
          const { backups, history } = await rollback.list();
          return rollbackListResult(opened, backups, history);
        }
        if (action === 'status') return rollbackStatusResult(opened, await rollback.status(), input);
        // Said by the operator, or judged from the release's `additive` tasks, or else full.
        const start = {
          compatible:
            input.compatible === 'auto'
              ? release
                ? rollbackModeFromRelease(release, opened.site)
                : false
              : input.compatible,
        };
        const step = input.step ?? 1;
        const result =
          action === 'auto'
            ? await rollback.auto(input.backup, start)
            : action === 'manual'
              ? await rollback.manual(input.backup, start)
              : action === 'step'
                ? await rollback.step(step)
                : action === 'auto-continue-from'
                  ? await rollback.autoContinueFrom(step)
                  : await rollback.abandon();
        return rollbackRunResult(result, input);
      } finally {
        await opened.close();
      }
    }
  }
}

/** Prepares the upgrade the input names (release validated, plan made, datasources checked), runs `fn`, closes it. */
async function withPrepared(
  input: { readonly release: string; readonly from: string; readonly to: string },
  io: CommandIO,
  options: { readonly handleSignals?: boolean; readonly killInDoubt?: boolean },
  fn: (prepared: PreparedUpgrade) => Promise<CommandResult>,
  release?: Awaited<ReturnType<typeof loadRelease>>,
): Promise<CommandResult> {
  const prepared = await prepareUpgrade({
    release: release ?? input.release,
    from: input.from,
    to: input.to,
    config: io.config,
    events: io.events,
    ...options,
  });
  try {
    return await fn(prepared);
  } finally {
    await prepared.close();
  }
}

/** What the one confirmation question stands on: each reason in a line or a list. */
function confirmLines(reasons: ConfirmReasons): string[] {
  const lines: string[] = [];
  const warnings = reasons.assessment?.counts.warn ?? 0;
  if (warnings > 0) lines.push(`The assessment above has ${warnings} warning${warnings === 1 ? '' : 's'}.`);
  if (reasons.tasks.length > 0)
    lines.push(
      'These tasks carry no compatibility annotation (compatibleFrom):',
      ...reasons.tasks.map((i) => `  - ${i.id} (${i.version}): ${i.reason}`),
    );
  if (reasons.order.length > 0)
    lines.push(
      `${reasons.order.length} task${reasons.order.length === 1 ? '' : 's'} would run ahead of older versions' work (the warnings above).`,
    );
  return lines;
}
