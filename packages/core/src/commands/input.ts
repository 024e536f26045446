// One input schema for every command, whichever surface it came from: the CLI's flags and the
// Action's inputs are both mapped onto these field names, and the rules (which versions a command
// needs, both-or-neither, backup ids, booleans, stage names, one resolve decision) live here once.
import { z } from 'zod';
import { BACKUP_ID } from '../backup/internal.js';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { ResolveDecision, StageName } from '../model/index.js';
import { toStage, unknownStageMessage } from '../model/internal.js';
import { anObject, checkArguments } from '../options/index.js';
import { siteIdSchema } from '../release/internal.js';
import { compareVersions, parseVersion, type Version } from '../version/index.js';

export const COMMAND_NAMES = ['plan', 'assess', 'run', 'status', 'resolve', 'backup', 'rollback'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export const ROLLBACK_ACTIONS = [
  'list',
  'status',
  'auto',
  'manual',
  'step',
  'auto-continue-from',
  'abandon',
] as const;
export type RollbackAction = (typeof ROLLBACK_ACTIONS)[number];

/** Where the input came from: it decides how a field is named in a message (`--from` or `from`). */
export type Surface = 'cli' | 'action' | 'script';

interface Common {
  readonly site?: string;
  readonly config?: string;
  /** Confirms what would otherwise need a person's yes (warnings, unannotated tasks, order). */
  readonly yes: boolean;
}
interface Accept {
  /** Assessment check ids (or `*` patterns) whose failure or warning is accepted for this run. */
  readonly accept: readonly string[];
}
interface Versions {
  readonly release: string;
  readonly from: string;
  readonly to: string;
}

export type CommandInput =
  | ({ readonly command: 'plan' } & Common & Versions)
  | ({ readonly command: 'assess' } & Common & Versions & Accept)
  | ({
      readonly command: 'run';
      readonly stage?: StageName;
      readonly dryRun: boolean;
      readonly killInDoubt: boolean;
      /** `external`: the pipeline stops and starts the services; a stop-mode run stops after preUpgrade. */
      readonly services?: 'external';
    } & Common &
      Versions &
      Accept)
  | ({
      readonly command: 'status';
      readonly release: string;
      readonly from?: string;
      readonly to?: string;
    } & Common)
  | ({
      readonly command: 'resolve';
      readonly release: string;
      readonly from?: string;
      readonly to?: string;
      readonly task: string;
      readonly decision: ResolveDecision;
      readonly host?: string;
      readonly version?: string;
    } & Common)
  | ({ readonly command: 'backup' } & Common & Versions)
  | ({
      readonly command: 'rollback';
      readonly action: RollbackAction;
      readonly release?: string;
      readonly component?: string;
      /** auto and manual: `latest` or a backup id. */
      readonly backup: string;
      /** step and auto-continue-from: 1 to 6. */
      readonly step?: number;
      /** Keep the data (true), restore it (false), or judge from the release's additive tasks. */
      readonly compatible: boolean | 'auto';
    } & Common);

// Strings as the Action gives them ('' when unset), or the values a parser gives: one meaning.
const text = z
  .string()
  .transform((s) => s.trim())
  .optional()
  .transform((s) => (s ? s : undefined));
const flag = z
  .union([z.boolean(), z.string()])
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || typeof v === 'boolean') return v ?? false;
    const s = v.trim().toLowerCase();
    if (s === '' || s === 'false') return false;
    if (s === 'true') return true;
    ctx.addIssue({ code: 'custom', message: `must be true or false (got ${JSON.stringify(v)})` });
    return false;
  });

const raw = z.object({
  command: text,
  release: text,
  from: text,
  to: text,
  site: text,
  config: text,
  yes: flag,
  stage: text,
  dryRun: flag,
  killInDoubt: flag,
  services: text,
  task: text,
  applied: flag,
  retry: flag,
  restart: flag,
  fromStatement: z.union([z.string(), z.number()]).optional(),
  host: text,
  version: text,
  action: text,
  component: text,
  backup: text,
  step: z.union([z.string(), z.number()]).optional(),
  compatible: z.union([z.boolean(), z.string()]).optional(),
  // A list (repeated --accept) or one string of ids separated by commas, spaces or lines (the Action).
  accept: z
    .union([z.array(z.string()), z.string()])
    .optional()
    .transform((v) => (Array.isArray(v) ? v : [v ?? '']).flatMap((s) => s.split(/[\s,]+/)).filter(Boolean)),
  full: flag,
});
export type RawCommandInput = z.input<typeof raw>;

/** How each surface names a field in its messages. */
export function spellField(surface: Surface, field: string): string {
  const kebab = field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  if (surface !== 'cli') return `\`${kebab}\``;
  return CLI_ARGUMENTS[field] ?? `--${kebab}`;
}
const CLI_ARGUMENTS: Record<string, string> = {
  command: 'the command',
  task: '<task>',
  action: 'the rollback subcommand',
  backup: '[backup]',
  step: '<n>',
};

const NEEDS_VERSIONS = new Set<CommandName>(['plan', 'assess', 'run', 'backup']);

/**
 * The input, checked against every rule at once: a bad one is one `UPGRADEKIT_BAD_INPUT` error
 * that lists each problem under the name the operator typed, before anything is opened.
 */
export function parseCommandInput(value: RawCommandInput, surface: Surface = 'script'): CommandInput {
  checkArguments('parseCommandInput', { value: anObject('{ command, release, … }') }, { value });
  const problems: string[] = [];
  const name = (field: string) => spellField(surface, field);
  // On a command line an empty value is a mistake (`--site "$SITE"` with SITE unset), never "not
  // given"; the Action gives '' for every input it was not given, so there it means unset.
  if (surface === 'cli')
    for (const [field, given] of Object.entries(value ?? {}))
      if (given === '' || (Array.isArray(given) && given.some((g) => String(g).trim() === '')))
        problems.push(`${name(field)} is empty: give a value, or leave the option out`);
  const parsed = raw.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      problems.push(`${name(String(issue.path[0] ?? 'input'))} ${issue.message}`);
    throw badInput(surface, problems);
  }
  const v = parsed.data;
  const command = (v.command ?? 'plan') as CommandName;
  if (!COMMAND_NAMES.includes(command)) {
    problems.push(
      `${name('command')} must be one of ${COMMAND_NAMES.join(', ')} (got ${JSON.stringify(v.command)})`,
    );
    // Which versions are needed depends on the command: nothing more to say until it is known.
    if (!v.release) problems.push(`${name('release')} is required: the release (upgrade package) directory`);
    throw badInput(surface, problems);
  }
  if (v.site && !siteIdSchema.safeParse(v.site).success)
    problems.push(
      `${name('site')} ${JSON.stringify(v.site)} is not a site id: letters, digits, _ . - (at most 128), starting with a letter or digit`,
    );
  const common = {
    ...(v.site ? { site: v.site } : {}),
    ...(v.config ? { config: v.config } : {}),
    yes: v.yes,
  };
  if (!v.release && command !== 'rollback')
    problems.push(`${name('release')} is required: the release (upgrade package) directory`);
  if (NEEDS_VERSIONS.has(command)) {
    if (!v.from)
      problems.push(`${name('from')} is required for ${command}: the version running now, e.g. 2.16.5`);
    if (!v.to)
      problems.push(`${name('to')} is required for ${command}: the version to upgrade to, e.g. 2.16.7`);
  } else if ((command === 'status' || command === 'resolve') && Boolean(v.from) !== Boolean(v.to)) {
    problems.push(
      `${name('from')} and ${name('to')}: give both or neither (without them, the last recorded run is used)`,
    );
  }
  const parsedVersion = (field: 'from' | 'to'): Version | undefined => {
    const given = v[field];
    if (!given) return undefined;
    try {
      return parseVersion(given);
    } catch {
      problems.push(
        `${name(field)} ${JSON.stringify(given)} is not a version (expected e.g. 2.16.7, V2.16.7-P1 or 2.17.0-rc.1)`,
      );
      return undefined;
    }
  };
  const fromVersion = parsedVersion('from');
  const toVersion = parsedVersion('to');
  if (
    fromVersion &&
    toVersion &&
    command !== 'backup' &&
    NEEDS_VERSIONS.has(command) &&
    compareVersions(fromVersion.canonical, toVersion.canonical) >= 0
  )
    problems.push(
      `${name('to')} ${toVersion.canonical} is not above ${name('from')} ${fromVersion.canonical}: an upgrade goes forward; to go back, roll back instead`,
    );
  const versions = { release: v.release ?? '', from: v.from ?? '', to: v.to ?? '' };
  const optionalVersions = {
    release: v.release ?? '',
    ...(v.from && v.to ? { from: v.from, to: v.to } : {}),
  };
  let input: CommandInput | undefined;
  switch (command) {
    case 'plan':
    case 'backup':
      input = { command, ...common, ...versions };
      break;
    case 'assess':
      input = { command, ...common, ...versions, accept: acceptOf(v.accept, name, problems) };
      break;
    case 'run': {
      if (v.services !== undefined && v.services !== 'external')
        problems.push(
          `${name('services')} can only be external: the pipeline stops and starts the services (got ${JSON.stringify(v.services)})`,
        );
      const stage = toStage(v.stage);
      if (v.stage !== undefined && !stage) problems.push(`${name('stage')}: ${unknownStageMessage(v.stage)}`);
      input = {
        command,
        ...common,
        ...versions,
        ...(stage ? { stage } : {}),
        dryRun: v.dryRun,
        killInDoubt: v.killInDoubt,
        ...(v.services === 'external' ? { services: 'external' as const } : {}),
        accept: acceptOf(v.accept, name, problems),
      };
      break;
    }
    case 'status':
      input = { command, ...common, ...optionalVersions };
      break;
    case 'resolve': {
      if (!v.task) problems.push(`${name('task')} is required: the step or task id to resolve`);
      const decision = decisionOf(v, name, problems);
      input = {
        command,
        ...common,
        ...optionalVersions,
        task: v.task ?? '',
        decision: decision ?? { kind: 'retry' },
        ...(v.host ? { host: v.host } : {}),
        ...(v.version ? { version: v.version } : {}),
      };
      break;
    }
    case 'rollback': {
      const action = (v.action ?? 'auto') as RollbackAction;
      if (!ROLLBACK_ACTIONS.includes(action))
        problems.push(
          `${name('action')} must be one of ${ROLLBACK_ACTIONS.join(', ')} (got ${JSON.stringify(v.action)})`,
        );
      const backup = v.backup ?? 'latest';
      if ((action === 'auto' || action === 'manual') && backup !== 'latest' && !BACKUP_ID.test(backup))
        problems.push(
          `${JSON.stringify(backup)} is not a backup id: give latest or one such as backup_20240101_120000 for ${name('backup')} (see rollback list)`,
        );
      let step: number | undefined;
      if (action === 'step' || action === 'auto-continue-from') {
        step = Number(v.step);
        if (
          v.step === undefined ||
          String(v.step).trim() === '' ||
          !Number.isInteger(step) ||
          step < 1 ||
          step > 6
        )
          problems.push(
            `${name('step')}: the step must be a number from 1 to 6 (got ${JSON.stringify(v.step ?? '')})`,
          );
      }
      input = {
        command,
        ...common,
        action,
        ...(v.release ? { release: v.release } : {}),
        ...(v.component ? { component: v.component } : {}),
        backup,
        ...(step !== undefined ? { step } : {}),
        compatible: compatibleOf(v.compatible, v.full, name, problems),
      };
      break;
    }
  }
  if (problems.length > 0 || !input) throw badInput(surface, problems);
  return input;
}

/** Check ids as the report names them: `resources.local.cpu`, `quality.orders_null_user`, `resources.*.cpu`. */
function acceptOf(ids: readonly string[], name: (field: string) => string, problems: string[]): string[] {
  for (const id of ids)
    if (!/^[\w*-]+(\.[\w*-]+)+$/.test(id))
      problems.push(
        `${name('accept')}: ${JSON.stringify(id)} is not a check id; give one as the assessment names it, such as resources.local.cpu`,
      );
  return [...ids];
}

/** The one decision `resolve` was given; exactly one of the four. */
function decisionOf(
  v: z.output<typeof raw>,
  name: (field: string) => string,
  problems: string[],
): ResolveDecision | undefined {
  const from =
    v.fromStatement === undefined || String(v.fromStatement).trim() === '' ? undefined : v.fromStatement;
  const given = [v.applied, v.retry, v.restart, from !== undefined].filter(Boolean).length;
  if (given !== 1) {
    problems.push(
      `say what happened to the task: exactly one of ${['applied', 'retry', 'restart'].map(name).join(', ')} or ${name('fromStatement')} N`,
    );
    return undefined;
  }
  if (v.applied) return { kind: 'applied' };
  if (v.retry) return { kind: 'retry' };
  if (v.restart) return { kind: 'restart' };
  const position = Number(from);
  if (!Number.isInteger(position) || position < 1) {
    problems.push(`${name('fromStatement')} must be a whole number ≥ 1 (got ${JSON.stringify(from)})`);
    return undefined;
  }
  return { kind: 'from', position };
}

/** `compatible: true|false|auto` (Action), or `--compatible` / `--full` (CLI): one answer. */
function compatibleOf(
  compatible: boolean | string | undefined,
  full: boolean,
  name: (field: string) => string,
  problems: string[],
): boolean | 'auto' {
  const said =
    typeof compatible === 'boolean'
      ? compatible
      : (compatible ?? '').trim().toLowerCase() || (full ? undefined : 'auto');
  if (said === true && full) {
    problems.push(`${name('compatible')} and ${name('full')}: give one or the other`);
    return 'auto';
  }
  if (full || said === false || said === 'false') return false;
  if (said === true || said === 'true') return true;
  if (said === 'auto' || said === undefined) return 'auto';
  problems.push(`${name('compatible')} must be auto, true or false (got ${JSON.stringify(compatible)})`);
  return 'auto';
}

function badInput(surface: Surface, problems: readonly string[]): UpgradeKitError {
  const what =
    surface === 'action' ? 'inputs of the upgradekit action' : surface === 'cli' ? 'arguments' : 'input';
  return new UpgradeKitError(
    ErrorCodes.BAD_INPUT,
    problems.length === 1
      ? (problems[0] as string)
      : `Invalid ${what}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    { context: { problems } },
  );
}
