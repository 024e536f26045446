// `upgradekit backup` and `upgradekit rollback …` (seed 004 §4.4.2): thin wrappers over the core's
// backupSite / openSiteRollback; what is backed up and how services stop and start is the site
// configuration's `backup:` section.
import type {
  BackupSummary,
  KeptCopy,
  RollbackRecord,
  RollbackResult,
  RollbackStatusReport,
} from '@upgradekit/core';
import type { GlobalFlags } from '../output.js';
import { Exit, type ExitCode, type Output, UsageError } from '../output.js';
import { siteArgs, upgradekit } from './paste.js';
import { openSession, type Session } from './session.js';

export interface BackupFlags extends GlobalFlags {
  readonly release: string;
  readonly from: string;
  readonly to: string;
  readonly site?: string;
}

export interface RollbackFlags extends GlobalFlags {
  readonly release?: string;
  readonly component?: string;
  readonly site?: string;
  readonly compatible?: boolean;
  readonly full?: boolean;
}

export type RollbackAction =
  | 'list'
  | 'status'
  | 'auto'
  | 'manual'
  | 'step'
  | 'auto-continue-from'
  | 'abandon';

function sizeOf(summary: BackupSummary): number {
  return Object.values(summary.manifest?.backup_files ?? {}).reduce((sum, f) => sum + f.size, 0);
}

export async function backupCommand(flags: BackupFlags, out: Output): Promise<ExitCode> {
  const session = await openSession({ ...flags });
  try {
    const release = await session.core.loadRelease(flags.release);
    const result = await session.core.backupSite({
      config: session.config,
      release,
      from: flags.from,
      to: flags.to,
      events: session.events,
    });
    out.document({
      ok: result.status === 'completed',
      status: result.status,
      backupId: result.backupId,
      dir: result.dir,
      host: result.host,
      durationMs: result.durationMs,
      ...(result.manifest ? { manifest: result.manifest } : {}),
      ...(result.error ? { error: result.error } : {}),
    });
    if (result.status !== 'completed') {
      out.note(`upgradekit: the backup failed and was removed: ${result.error?.message ?? 'unknown error'}`);
      return Exit.failed;
    }
    const files = Object.values(result.manifest?.backup_files ?? {});
    out.text([
      `${release.component} ${flags.from} (before ${flags.to}) on site ${session.siteId}: backup ${result.backupId} verified in ${session.core.formatDuration(result.durationMs)}`,
      `  ${result.dir}${result.host === 'local' ? '' : ` on ${result.host}`}`,
      ...files.map(
        (f) =>
          `  ${f.file.padEnd(28)} ${session.core.formatBytes(f.size).padStart(10)}  sha256 ${f.sha256.slice(0, 12)}…`,
      ),
    ]);
    return Exit.ok;
  } finally {
    session.close();
  }
}

function exitOf(result: RollbackResult): ExitCode {
  switch (result.status) {
    case 'completed':
    case 'in-progress':
    case 'abandoned':
      return Exit.ok;
    case 'needs-decision':
      return Exit.decision;
    default:
      return Exit.failed;
  }
}

function stepLines(steps: RollbackResult['steps']): string[] {
  return steps.map(
    (s) =>
      `  ${String(s.step)}. ${s.status.toUpperCase().padEnd(9)} ${s.name}${s.durationMs !== undefined ? ` (${(s.durationMs / 1000).toFixed(1)} s)` : ''}${s.reason ? ` — ${s.reason}` : ''}${s.error ? ` — ${s.error.split('\n')[0]}` : ''}`,
  );
}

function historyLine(r: RollbackRecord): string {
  return `  ${r.rollbackId.padEnd(14)} ${r.status.padEnd(11)} ${r.type}/${r.mode} ${r.fromVersion} → ${r.toVersion} from ${r.backupId}, ${new Date(r.startedAt).toISOString()}${r.error ? ` — ${r.error.split('\n')[0]}` : ''}`;
}

function listLines(
  session: Session,
  backups: readonly BackupSummary[],
  history: readonly RollbackRecord[],
): string[] {
  return [
    backups.length === 0 ? 'No backups.' : 'Backups (newest first):',
    ...backups.map((b) =>
      b.status === 'ready'
        ? `  ${b.backupId.padEnd(24)} ${b.versionFrom} (before ${b.versionTo})  ${session.core.formatBytes(sizeOf(b)).padStart(10)}  ${b.timestamp}`
        : `  ${b.backupId.padEnd(24)} ${b.status.toUpperCase()}${b.reason ? ` — ${b.reason}` : ''}`,
    ),
    history.length === 0 ? `No rollbacks on site ${session.siteId}.` : 'Rollbacks:',
    ...history.map(historyLine),
  ];
}

/** `upgradekit rollback …` for the same release (or component) and site, safe to paste. */
function rollbackLine(flags: RollbackFlags, args: readonly string[]): string {
  return upgradekit([
    'rollback',
    ...args,
    ...(flags.release ? ['--release', flags.release] : []),
    ...(flags.component ? ['--component', flags.component] : []),
    ...siteArgs(flags),
  ]);
}

/** Each pre-rollback copy: where it is, and for a path the command that puts it back. */
function keptLines(kept: readonly KeptCopy[]): string[] {
  if (kept.length === 0) return [];
  return [
    'Kept aside until the rollback verifies (nothing is deleted before then):',
    ...kept.flatMap((k) =>
      k.kind === 'database'
        ? [`  database ${k.original} → ${k.aside}${k.host === 'local' ? '' : ` on ${k.host}`}`]
        : [
            `  ${k.original} → ${k.aside}${k.host === 'local' ? '' : ` on ${k.host}`}`,
            ...(k.putBack ? [`    to put it back by hand: ${k.putBack}`] : []),
          ],
    ),
  ];
}

function statusLines(report: RollbackStatusReport, flags: RollbackFlags): string[] {
  if (!report.rollback) return ['No rollback recorded.'];
  const next = report.nextStep ? String(report.nextStep) : undefined;
  return [
    `${report.unfinished ? 'Unfinished' : 'Last'} rollback:`,
    historyLine(report.rollback),
    ...stepLines(report.steps),
    ...(next
      ? [
          'Next, one of:',
          `  ${rollbackLine(flags, ['step', next])}`,
          `  ${rollbackLine(flags, ['auto-continue-from', next])}`,
          `  ${rollbackLine(flags, ['abandon'])}`,
        ]
      : []),
    ...keptLines(report.kept),
  ];
}

function stepNumber(value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 6)
    throw new UsageError(`the step must be a number from 1 to 6 (got ${JSON.stringify(value ?? '')})`);
  return n;
}

export async function rollbackCommand(
  action: RollbackAction,
  arg: string | undefined,
  flags: RollbackFlags,
  out: Output,
): Promise<ExitCode> {
  // Validate the step before anything is opened: a typo must not take the site lock.
  const step = action === 'step' || action === 'auto-continue-from' ? stepNumber(arg) : undefined;
  if ((action === 'auto' || action === 'manual') && arg !== undefined && arg !== 'latest') {
    const { BACKUP_ID } = await import('@upgradekit/core');
    if (!BACKUP_ID.test(arg))
      throw new UsageError(
        `${JSON.stringify(arg)} is not a backup id: give latest or one such as backup_20240101_120000 (see rollback list)`,
      );
  }
  const session = await openSession({ ...flags });
  // Ctrl-C during the countdown (or a step) cancels; the rollback records it.
  const abort = new AbortController();
  const onSignal = () => abort.abort(new Error('interrupted by the operator (SIGINT)'));
  process.once('SIGINT', onSignal);
  let opened: Awaited<ReturnType<typeof session.core.openSiteRollback>> | undefined;
  try {
    const release = flags.release ? await session.core.loadRelease(flags.release) : undefined;
    opened = await session.core.openSiteRollback({
      config: session.config,
      ...(release ? { release } : {}),
      ...(flags.component ? { component: flags.component } : {}),
      // Only restores need database credentials: looking and giving up must work without them.
      credentials: action !== 'list' && action !== 'status' && action !== 'abandon',
      events: session.events,
      signal: abort.signal,
      yes: Boolean(flags.yes),
      ci: Boolean(process.env.CI),
    });
    const { rollback } = opened;
    if (action === 'list') {
      const { backups, history } = await rollback.list();
      out.document({ ok: true, component: opened.component, site: opened.site, backups, history });
      out.text(listLines(session, backups, history));
      return Exit.ok;
    }
    if (action === 'status') {
      const report = await rollback.status();
      out.document({ ok: true, component: opened.component, site: opened.site, ...report });
      out.text(statusLines(report, flags));
      return report.unfinished ? Exit.decision : Exit.ok;
    }
    // Said on the command line, or judged from the release's `additive` tasks, or else full.
    const start = {
      compatible: flags.compatible
        ? true
        : flags.full || !release
          ? false
          : session.core.rollbackModeFromRelease(release, opened.site),
    };
    const result =
      action === 'auto'
        ? await rollback.auto(arg ?? 'latest', start)
        : action === 'manual'
          ? await rollback.manual(arg ?? 'latest', start)
          : action === 'step'
            ? await rollback.step(step as number)
            : action === 'auto-continue-from'
              ? await rollback.autoContinueFrom(step as number)
              : await rollback.abandon();
    out.document({ ok: exitOf(result) === Exit.ok, ...result });
    out.text([
      result.message,
      ...(result.steps.some((s) => s.status !== 'pending') ? stepLines(result.steps) : []),
    ]);
    if (result.status === 'failed' && result.nextStep) {
      const next = String(result.nextStep);
      out.note(
        [
          'Fix the cause, then continue with one of:',
          `  ${rollbackLine(flags, ['auto-continue-from', next])}`,
          `  ${rollbackLine(flags, ['step', next])}`,
          ...keptLines(result.kept),
        ].join('\n'),
      );
    }
    return exitOf(result);
  } finally {
    process.off('SIGINT', onSignal);
    await opened?.close();
    session.close();
  }
}
