// `command: backup` and `command: rollback` (automatic, no countdown: nobody is at a CI runner's
// keyboard). A workflow runs the rollback in a step `if: failure()` after the upgrade.
import { info } from '@actions/core';
import {
  backupSite,
  type EventBus,
  markdownCell,
  openSiteRollback,
  type Release,
  type RollbackResult,
  rollbackModeFromRelease,
  type SiteConfig,
} from '@upgradekit/core';
import type { ActionInputs } from './inputs.js';
import { assertNativeSqlite, type Outcome } from './outcome.js';

export async function backupCommand(
  inputs: ActionInputs,
  release: Release,
  config: SiteConfig,
  events: EventBus,
): Promise<Outcome> {
  const result = await backupSite({ config, release, from: inputs.from ?? '', to: inputs.to ?? '', events });
  const files = Object.values(result.manifest?.backup_files ?? {});
  const title = `${release.component} ${inputs.from} (before ${inputs.to}): backup ${result.backupId}`;
  info(`${title} ${result.status}`);
  return {
    status: result.status,
    report: { command: 'backup', ...result },
    markdown: [
      `### ${result.status === 'completed' ? '✅' : '❌'} ${markdownCell(title)} ${result.status}`,
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
    ...(result.status === 'completed'
      ? {}
      : { failure: `the backup failed and was removed: ${result.error?.message ?? 'unknown error'}` }),
  };
}

function stepTable(result: RollbackResult): string[] {
  return [
    '| step | status | note |',
    '| --- | --- | --- |',
    ...result.steps.map(
      (s) =>
        `| ${s.step}. ${s.name} | ${s.status} | ${markdownCell((s.error ?? s.reason ?? '').split('\n')[0] ?? '')} |`,
    ),
  ];
}

/** Where each pre-rollback copy is and how to put a path back: a log line each, for Gitea too. */
function keptLines(result: RollbackResult): string[] {
  return result.kept.map(
    (k) =>
      `kept aside until the rollback verifies: ${k.kind === 'database' ? `database ${k.original} → ${k.aside}` : `${k.original} → ${k.aside}${k.putBack ? `; to put it back by hand: ${k.putBack}` : ''}`}`,
  );
}

export async function rollbackCommand(
  inputs: ActionInputs,
  release: Release,
  config: SiteConfig,
  events: EventBus,
): Promise<Outcome> {
  assertNativeSqlite(undefined, config);
  const { rollback, close } = await openSiteRollback({ config, release, events, yes: true, ci: true });
  try {
    const compatible =
      inputs.compatible === 'auto' ? rollbackModeFromRelease(release, config.site?.id) : inputs.compatible;
    const result = await rollback.auto(inputs.backup, { compatible });
    info(result.message);
    const kept = keptLines(result);
    for (const line of kept) info(line);
    return {
      status: result.status,
      report: { command: 'rollback', ...result },
      markdown: [
        `### ${result.status === 'completed' ? '✅' : '❌'} ${markdownCell(result.message)}`,
        '',
        ...stepTable(result),
        '',
        ...kept.map((line) => `- ${markdownCell(line)}`),
        ...(kept.length ? [''] : []),
      ].join('\n'),
      ...(result.status === 'completed' ? {} : { failure: result.message }),
    };
  } finally {
    await close();
  }
}
