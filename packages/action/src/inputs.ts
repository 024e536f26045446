// The Action's inputs, read once and validated here: the runner does not enforce `required`.
import { getInput } from '@actions/core';
import { BACKUP_ID } from '@upgradekit/core';

export const COMMANDS = ['plan', 'assess', 'run', 'status', 'backup', 'rollback'] as const;
export type Command = (typeof COMMANDS)[number];

export interface ActionInputs {
  readonly command: Command;
  readonly release: string;
  readonly from?: string;
  readonly to?: string;
  readonly stage?: string;
  readonly site?: string;
  readonly dryRun: boolean;
  readonly config?: string;
  /** Confirms tasks that carry no compatibility annotation (the CLI's --yes). */
  readonly yes: boolean;
  /** rollback: the backup to restore (default `latest`). */
  readonly backup: string;
  /** rollback: keep the data (`true`), restore it (`false`), or judge from the release's additive tasks (`auto`). */
  readonly compatible: boolean | 'auto';
}

/** Every problem with the inputs at once, named as the workflow file names them. */
export class InputError extends Error {
  override name = 'InputError';
  readonly code = 'UPGRADEKIT_BAD_INPUT';
}

function boolean(name: string, problems: string[]): boolean {
  const raw = getInput(name).trim().toLowerCase();
  if (raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  problems.push(`\`${name}\` must be true or false (got ${JSON.stringify(raw)})`);
  return false;
}

export function readInputs(): ActionInputs {
  const problems: string[] = [];
  const text = (name: string) => getInput(name).trim() || undefined;
  const command = (text('command') ?? 'plan') as Command;
  if (!COMMANDS.includes(command)) {
    problems.push(`\`command\` must be one of ${COMMANDS.join(', ')} (got ${JSON.stringify(command)})`);
  }
  const release = text('release');
  if (!release) problems.push('`release` is required: the release (upgrade package) directory');
  const from = text('from');
  const to = text('to');
  if (!COMMANDS.includes(command)) {
    // which versions are needed depends on the command: nothing more to say until it is known
  } else if (command === 'rollback') {
    // the backup's manifest says which versions it holds
  } else if (command !== 'status') {
    if (!from) problems.push(`\`from\` is required for ${command}: the version running now, e.g. 2.16.5`);
    if (!to) problems.push(`\`to\` is required for ${command}: the version to upgrade to, e.g. 2.16.7`);
  } else if (Boolean(from) !== Boolean(to)) {
    problems.push('`from` and `to`: give both or neither (status then shows the last recorded run)');
  }
  const dryRun = boolean('dry-run', problems);
  const yes = boolean('yes', problems);
  const compatibleText = getInput('compatible').trim().toLowerCase();
  const compatible =
    compatibleText === '' || compatibleText === 'auto' ? 'auto' : boolean('compatible', problems);
  const backup = text('backup') ?? 'latest';
  if (backup !== 'latest' && !BACKUP_ID.test(backup)) {
    problems.push(
      `\`backup\` must be latest or a backup id such as backup_20240101_120000 (got ${JSON.stringify(backup)})`,
    );
  }
  if (problems.length > 0) {
    throw new InputError(
      `Invalid inputs of the upgradekit action:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  const stage = text('stage');
  const site = text('site');
  const config = text('config');
  return {
    command,
    release: release as string,
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    ...(stage ? { stage } : {}),
    ...(site ? { site } : {}),
    ...(config ? { config } : {}),
    dryRun,
    yes,
    backup,
    compatible,
  };
}
