import type { ResolveDecision, StatusReport, Upgrade } from '@upgradekit/core';
import { Exit, type ExitCode, type Output, UsageError } from '../output.js';
import { lastVersions, openSession, type ReleaseFlags, type Session } from './session.js';

export interface StatusFlags extends ReleaseFlags {
  readonly from?: string;
  readonly to?: string;
}

export interface ResolveFlags extends StatusFlags {
  readonly applied?: boolean;
  readonly retry?: boolean;
  readonly restart?: boolean;
  /** `--from-statement N`: continue at statement N. */
  readonly fromStatement?: string;
  readonly host?: string;
  /** The version that introduced the task, when its id is in more than one. */
  readonly version?: string;
}

/** The upgrade named by --from/--to, or the last one recorded for this component and site. */
async function versionsOf(session: Session, flags: StatusFlags, component: string) {
  if (flags.from && flags.to) return { from: flags.from, to: flags.to };
  if (flags.from || flags.to)
    throw new UsageError('give both --from and --to, or neither (the last run is used)');
  return lastVersions(session, component);
}

const iso = (ms: number) => new Date(ms).toISOString();
const LIVENESS = { alive: 'alive', dead: 'dead', unknown: 'cannot be checked' } as const;

/** The run that stopped without finishing, why we know, and what the operator does next. */
function interruptedLine(report: StatusReport): string | undefined {
  const run = report.interrupted;
  if (!run) return undefined;
  const { inDoubt, interrupted } = report.counts;
  const next =
    inDoubt > 0
      ? `${inDoubt} step${inDoubt === 1 ? ' needs' : 's need'} your decision (IN_DOUBT below): check what ${inDoubt === 1 ? 'it' : 'each'} did, then \`upgradekit resolve TASK --applied\` (it took effect) or \`--retry\` (it did not), and run again.`
      : interrupted > 0
        ? `Its step${interrupted === 1 ? ' resumes' : 's resume'} by itself: run again.`
        : 'Run again to finish.';
  return `  INTERRUPTED: run ${run.runId} (${run.host}, pid ${run.pid}) stopped without finishing — ${run.why}. ${next}`;
}

function statusLines(report: StatusReport, core: typeof import('@upgradekit/core')): string[] {
  const c = report.counts;
  // Ids are per version: where one repeats, the version tells the two apart.
  const repeats = core.idRepeats(report.steps);
  const lines = [
    `${report.component} ${report.from} → ${report.to} on site ${report.site}: ${c.done} done, ${c.pending} pending, ${c.failed} failed, ${c.skipped} skipped, ${c.inDoubt} in doubt${c.interrupted ? `, ${c.interrupted} interrupted` : ''}${c.running ? `, ${c.running} running` : ''}`,
  ];
  const interrupted = interruptedLine(report);
  if (interrupted) lines.push(interrupted);
  const lock = report.lock;
  if (lock) {
    lines.push(
      `  lock: run ${lock.runId} (${lock.host}, pid ${lock.pid}) since ${iso(lock.acquiredAt)}, last heartbeat ${iso(lock.heartbeatAt)}: ${LIVENESS[lock.liveness.state]} — ${lock.liveness.reason}; ${lock.takeover}`,
    );
  }
  if (report.lastRun) {
    const recorded =
      report.interrupted?.runId === report.lastRun.runId && report.lastRun.status === 'running'
        ? 'interrupted (recorded as running)'
        : report.lastRun.status;
    lines.push(`  last run ${report.lastRun.runId}: ${recorded}, started ${iso(report.lastRun.startedAt)}`);
  }
  for (const s of report.steps) {
    // A crash leaves no error behind, and a step in doubt may still carry an older attempt's:
    // for both, what the next run does with it, and why, is the news.
    const why =
      s.status === 'interrupted'
        ? `resumes by itself (${s.next.reason})`
        : s.status === 'in_doubt'
          ? s.next.reason
          : s.error;
    const line = why?.split('\n')[0];
    // Progress the reason already names is not said twice.
    const progress = s.progress && !line?.includes(s.progress) ? ` — ${s.progress}` : '';
    lines.push(
      `  ${s.status.toUpperCase().padEnd(11)} ${s.stage.padEnd(13)} ${s.id}${repeats(s) ? ` (version ${s.version})` : ''}${s.host ? ` on ${s.host}` : ''}${progress}${line ? ` — ${line}` : ''}`,
    );
  }
  return lines;
}

/**
 * Opens the upgrade the flags name (or the last recorded one), runs `fn` on it and closes it;
 * `none` answers when nothing was ever recorded for this component and site.
 */
async function withRecordedUpgrade(
  flags: StatusFlags,
  none: (session: Session, component: string) => ExitCode,
  fn: (upgrade: Upgrade, session: Session) => Promise<ExitCode>,
): Promise<ExitCode> {
  const session = await openSession(flags);
  try {
    const release = await session.core.loadRelease(flags.release);
    const versions = await versionsOf(session, flags, release.component);
    if (!versions) return none(session, release.component);
    const prepared = await session.core.prepareUpgrade({
      release,
      ...versions,
      config: session.config,
      events: session.events,
    });
    try {
      return await fn(prepared.upgrade, session);
    } finally {
      await prepared.close();
    }
  } finally {
    session.close();
  }
}

export function statusCommand(flags: StatusFlags, out: Output): Promise<ExitCode> {
  return withRecordedUpgrade(
    flags,
    (session, component) => {
      const message = `No upgrade of ${component} recorded on site ${session.siteId} yet.`;
      out.document({ ok: true, component, site: session.siteId, runs: 0, message });
      out.text(message);
      return Exit.ok;
    },
    async (upgrade, session) => {
      const report = await upgrade.status();
      out.document({ ok: true, status: report });
      out.text(statusLines(report, session.core));
      // Steps the next run resumes by itself ask nothing of the operator; steps in doubt do.
      return report.counts.inDoubt > 0 ? Exit.decision : Exit.ok;
    },
  );
}

/** The one decision the flags give; a usage error unless exactly one is given. */
function decisionOf(flags: ResolveFlags): ResolveDecision {
  const given = [flags.applied, flags.retry, flags.restart, flags.fromStatement !== undefined].filter(
    Boolean,
  );
  if (given.length !== 1) {
    throw new UsageError(
      'say what happened to the task: exactly one of --applied, --retry, --restart or --from-statement N',
    );
  }
  if (flags.applied) return { kind: 'applied' };
  if (flags.retry) return { kind: 'retry' };
  if (flags.restart) return { kind: 'restart' };
  const position = Number(flags.fromStatement);
  if (!Number.isInteger(position) || position < 1) {
    throw new UsageError(
      `--from-statement must be a whole number ≥ 1 (got ${JSON.stringify(flags.fromStatement)})`,
    );
  }
  return { kind: 'from', position };
}

export function resolveCommand(task: string, flags: ResolveFlags, out: Output): Promise<ExitCode> {
  const decision = decisionOf(flags);
  const label = decision.kind === 'from' ? `from statement ${decision.position}` : decision.kind;
  return withRecordedUpgrade(
    flags,
    (session, component) => {
      throw new UsageError(
        `no upgrade of ${component} recorded on site ${session.siteId}: nothing to resolve`,
      );
    },
    async (upgrade) => {
      const result = await upgrade.resolve(task, decision, {
        ...(flags.host ? { host: flags.host } : {}),
        ...(flags.version ? { version: flags.version } : {}),
      });
      out.document({ ok: true, resolved: result });
      // The step's own words, which `status` shows too.
      out.text(`${task}: resolved as ${label} — ${result.message}`);
      return Exit.ok;
    },
  );
}
