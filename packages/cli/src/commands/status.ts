import type { StatusReport, Upgrade } from '@upgradekit/core';
import { Exit, type ExitCode, type Output, UsageError } from '../output.js';
import { lastVersions, openSession, type ReleaseFlags, type Session } from './session.js';

export interface StatusFlags extends ReleaseFlags {
  readonly from?: string;
  readonly to?: string;
}

export interface ResolveFlags extends StatusFlags {
  readonly applied?: boolean;
  readonly retry?: boolean;
  readonly host?: string;
}

/** The upgrade named by --from/--to, or the last one recorded for this component and site. */
async function versionsOf(session: Session, flags: StatusFlags, component: string) {
  if (flags.from && flags.to) return { from: flags.from, to: flags.to };
  if (flags.from || flags.to)
    throw new UsageError('give both --from and --to, or neither (the last run is used)');
  return lastVersions(session, component);
}

function statusLines(report: StatusReport): string[] {
  const c = report.counts;
  const lines = [
    `${report.component} ${report.from} → ${report.to} on site ${report.site}: ${c.done} done, ${c.pending} pending, ${c.failed} failed, ${c.skipped} skipped, ${c.inDoubt} in doubt${c.running ? `, ${c.running} running` : ''}`,
  ];
  if (report.lock) {
    lines.push(
      `  locked by run ${report.lock.runId} (${report.lock.host}, pid ${report.lock.pid}) since ${new Date(report.lock.acquiredAt).toISOString()}`,
    );
  }
  if (report.lastRun) {
    lines.push(
      `  last run ${report.lastRun.runId}: ${report.lastRun.status}, started ${new Date(report.lastRun.startedAt).toISOString()}`,
    );
  }
  for (const s of report.steps) {
    lines.push(
      `  ${s.status.toUpperCase().padEnd(10)} ${s.stage.padEnd(13)} ${s.id}${s.host ? ` on ${s.host}` : ''}${s.error ? ` — ${s.error.split('\n')[0]}` : ''}`,
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
  fn: (upgrade: Upgrade) => Promise<ExitCode>,
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
      return await fn(prepared.upgrade);
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
    async (upgrade) => {
      const report = await upgrade.status();
      out.document({ ok: true, status: report });
      out.text(statusLines(report));
      return report.counts.inDoubt > 0 ? Exit.decision : Exit.ok;
    },
  );
}

export function resolveCommand(task: string, flags: ResolveFlags, out: Output): Promise<ExitCode> {
  if (Boolean(flags.applied) === Boolean(flags.retry)) {
    throw new UsageError('say what happened to the task: exactly one of --applied or --retry');
  }
  const decision = flags.applied ? 'applied' : 'retry';
  return withRecordedUpgrade(
    flags,
    (session, component) => {
      throw new UsageError(
        `no upgrade of ${component} recorded on site ${session.siteId}: nothing to resolve`,
      );
    },
    async (upgrade) => {
      const result = await upgrade.resolve(task, decision, flags.host ? { host: flags.host } : {});
      out.document({ ok: true, resolved: result });
      out.text(
        `${task}: resolved as ${decision} — ${decision === 'applied' ? 'it will not run again' : 'the next run executes it again'}.`,
      );
      return Exit.ok;
    },
  );
}
