// `backup` and `rollback …` (seed 004 §4.4.2): the results of backupSite and openSiteRollback.
import type {
  BackupSummary,
  CreateBackupResult,
  KeptCopy,
  RollbackResult,
  RollbackStatusReport,
} from '../backup/index.js';
import { formatBytes, formatDuration } from '../events/internal.js';
import { markdownCell } from '../stages/internal.js';
import type { RollbackRecord } from '../state/index.js';
import type { CommandInput } from './input.js';
import { rollbackCommand } from './next.js';
import { type CommandResult, commandResult, type ExitClass, pasteable, stackLines } from './result.js';

type RollbackInput = Extract<CommandInput, { command: 'rollback' }>;

const mark = (ok: boolean) => (ok ? '✅' : '❌');

export function backupResult(
  result: CreateBackupResult,
  where: { readonly component: string; readonly from: string; readonly to: string; readonly site: string },
): CommandResult {
  const ok = result.status === 'completed';
  const files = Object.values(result.manifest?.backup_files ?? {});
  const title = `${where.component} ${where.from} (before ${where.to}): backup ${result.backupId}`;
  const failure = ok
    ? undefined
    : `the backup failed and was removed: ${result.error?.message ?? 'unknown error'}`;
  return commandResult({
    command: 'backup',
    status: result.status,
    exitClass: ok ? 'ok' : 'failed',
    document: {
      backupId: result.backupId,
      dir: result.dir,
      host: result.host,
      durationMs: result.durationMs,
      ...(result.manifest ? { manifest: result.manifest } : {}),
      ...(result.error ? { error: result.error } : {}),
    },
    text: ok
      ? [
          `${where.component} ${where.from} (before ${where.to}) on site ${where.site}: backup ${result.backupId} verified in ${formatDuration(result.durationMs)}`,
          `  ${result.dir}${result.host === 'local' ? '' : ` on ${result.host}`}`,
          ...files.map(
            (f) =>
              `  ${f.file.padEnd(28)} ${formatBytes(f.size).padStart(10)}  sha256 ${f.sha256.slice(0, 12)}…`,
          ),
        ]
      : [],
    notes: failure ? [`upgradekit: ${failure}`] : [],
    markdown: [
      `### ${mark(ok)} ${markdownCell(title)} ${result.status}`,
      '',
      ...(files.length
        ? [
            '| file | bytes | sha256 |',
            '| --- | ---: | --- |',
            ...files.map((f) => `| ${markdownCell(f.file)} | ${f.size} | \`${f.sha256.slice(0, 16)}…\` |`),
          ]
        : []),
      '',
    ].join('\n'),
    ...(failure
      ? { failure, annotations: [{ level: 'error' as const, title: 'upgradekit: backup', message: failure }] }
      : {}),
  });
}

const sizeOf = (summary: BackupSummary) =>
  Object.values(summary.manifest?.backup_files ?? {}).reduce((sum, f) => sum + f.size, 0);

function stepLines(steps: RollbackResult['steps']): string[] {
  return steps.map(
    (s) =>
      `  ${String(s.step)}. ${s.status.toUpperCase().padEnd(9)} ${s.name}${s.durationMs !== undefined ? ` (${(s.durationMs / 1000).toFixed(1)} s)` : ''}${s.reason ? ` — ${s.reason}` : ''}${s.error ? ` — ${s.error.split('\n')[0]}` : ''}`,
  );
}

function stepTable(steps: RollbackResult['steps']): string[] {
  return [
    '| step | status | note |',
    '| --- | --- | --- |',
    ...steps.map(
      (s) =>
        `| ${s.step}. ${s.name} | ${s.status} | ${markdownCell((s.error ?? s.reason ?? '').split('\n')[0] ?? '')} |`,
    ),
  ];
}

function historyLine(r: RollbackRecord): string {
  return `  ${r.rollbackId.padEnd(14)} ${r.status.padEnd(11)} ${r.type}/${r.mode} ${r.fromVersion} → ${r.toVersion} from ${r.backupId}, ${new Date(r.startedAt).toISOString()}${r.error ? ` — ${r.error.split('\n')[0]}` : ''}`;
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

const codeBlock = (lines: readonly string[]) =>
  lines.length ? ['', ...lines.map((l) => `    ${l}`), ''] : [];

export function rollbackListResult(
  opened: { readonly component: string; readonly site: string },
  backups: readonly BackupSummary[],
  history: readonly RollbackRecord[],
): CommandResult {
  const lines = [
    backups.length === 0 ? 'No backups.' : 'Backups (newest first):',
    ...backups.map((b) =>
      b.status === 'ready'
        ? `  ${b.backupId.padEnd(24)} ${b.versionFrom} (before ${b.versionTo})  ${formatBytes(sizeOf(b)).padStart(10)}  ${b.timestamp}`
        : `  ${b.backupId.padEnd(24)} ${b.status.toUpperCase()}${b.reason ? ` — ${b.reason}` : ''}`,
    ),
    history.length === 0 ? `No rollbacks on site ${opened.site}.` : 'Rollbacks:',
    ...history.map(historyLine),
  ];
  return commandResult({
    command: 'rollback',
    status: 'listed',
    exitClass: 'ok',
    document: { component: opened.component, site: opened.site, backups, history },
    text: lines,
    markdown: [
      `### ${markdownCell(opened.component)} on site ${markdownCell(opened.site)}: backups and rollbacks`,
      ...codeBlock(lines),
    ].join('\n'),
  });
}

export function rollbackStatusResult(
  opened: { readonly component: string; readonly site: string },
  report: RollbackStatusReport,
  input: RollbackInput,
): CommandResult {
  const next = report.nextStep ? String(report.nextStep) : undefined;
  const commands = next
    ? [
        rollbackCommand(['step', next], input, `run step ${next} alone`),
        rollbackCommand(['auto-continue-from', next], input, `run steps ${next}…6`),
        rollbackCommand(['abandon'], input, 'give the rollback up'),
      ]
    : [];
  const lines = report.rollback
    ? [
        `${report.unfinished ? 'Unfinished' : 'Last'} rollback:`,
        historyLine(report.rollback),
        ...stepLines(report.steps),
        ...(commands.length ? ['Next, one of:', ...commands.map((c) => `  ${pasteable(c)}`)] : []),
        ...keptLines(report.kept),
      ]
    : ['No rollback recorded.'];
  const status = report.unfinished ? 'unfinished' : (report.rollback?.status ?? 'none');
  return commandResult({
    command: 'rollback',
    status,
    // A rollback left half done is the operator's to finish or abandon.
    exitClass: report.unfinished ? 'decision' : 'ok',
    document: { component: opened.component, site: opened.site, ...report },
    text: lines,
    markdown: [
      `### ${markdownCell(opened.component)} on site ${markdownCell(opened.site)}: rollback ${status}`,
      ...codeBlock(lines),
    ].join('\n'),
    nextCommands: commands,
    ...(report.unfinished ? { failure: `a rollback is unfinished: ${lines[1]?.trim()}` } : {}),
  });
}

function exitClassOf(result: RollbackResult): ExitClass {
  switch (result.status) {
    case 'completed':
    case 'in-progress':
    case 'abandoned':
      return 'ok';
    case 'needs-decision':
      return 'decision';
    default:
      return 'failed';
  }
}

/** auto, manual, step, auto-continue-from, abandon. */
export function rollbackRunResult(result: RollbackResult, input: RollbackInput): CommandResult {
  const exitClass = exitClassOf(result);
  const next = result.status === 'failed' && result.nextStep ? String(result.nextStep) : undefined;
  const commands = next
    ? [
        rollbackCommand(['auto-continue-from', next], input, `fix the cause, then run steps ${next}…6`),
        rollbackCommand(['step', next], input, `fix the cause, then run step ${next} alone`),
      ]
    : [];
  const kept = keptLines(result.kept);
  return commandResult({
    command: 'rollback',
    status: result.status,
    exitClass,
    document: { ...result },
    text: [
      result.message,
      ...(result.steps.some((s) => s.status !== 'pending') ? stepLines(result.steps) : []),
    ],
    notes: next
      ? ['Fix the cause, then continue with one of:', ...commands.map((c) => `  ${pasteable(c)}`), ...kept]
      : kept,
    markdown: [
      `### ${mark(exitClass === 'ok')} ${markdownCell(result.message)}`,
      '',
      ...stepTable(result.steps),
      '',
      ...kept.map((line) => `    ${line}`),
      ...(kept.length ? [''] : []),
    ].join('\n'),
    nextCommands: commands,
    details: stackLines(result.error),
    ...(exitClass === 'ok' ? {} : { failure: result.message }),
  });
}
