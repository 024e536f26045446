import { z } from 'zod';
import { parseVersion } from '../version/index.js';
import { toMilliseconds } from './duration.js';

/**
 * Node's timers hold at most 2^31-1 ms (about 24.8 days); a longer timeout fires after 1 ms. No
 * upgrade step is meant to run that long, so a longer duration is a typo, refused at load.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** What the state store keeps in a VARCHAR(255) (descriptions) — refused at load, not at run time. */
const text255 = z.string().max(255, 'at most 255 characters');

/** Names that end up in logs, state keys and paths: no spaces, separators or control characters. */
// Letters include CJK ideographs: site and component names are often Chinese (局点).
const nameText = z
  .string()
  .regex(
    /^[A-Za-z0-9\u4e00-\u9fff][A-Za-z0-9\u4e00-\u9fff_.-]{0,63}$/,
    'letters, digits, _ . - (at most 64), starting with a letter or digit',
  );

/** A site (局点) id, wherever one is written: tasks' `sites`, the site configuration, --site. */
export const siteIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9\u4e00-\u9fff][A-Za-z0-9\u4e00-\u9fff_.-]{0,127}$/,
    'a site id: letters, digits, _ . - (at most 128), starting with a letter or digit',
  );

/** A version as upgradekit reads one (2.16.7, V2.16.7-P1), checked where it is written. */
const versionText = z.string().refine(
  (v) => {
    try {
      parseVersion(v);
      return true;
    } catch {
      return false;
    }
  },
  { error: 'not a version (expected e.g. 2.16.7 or V2.16.7-P1)' },
);

// One schema validates upgradekit.yaml and tasks.yaml and is emitted as the JSON Schema that
// editors use (scripts/generate-schema.ts); keep descriptions written for the person typing.

const duration = z
  .union([
    z.number().positive(),
    z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h)$/, 'a duration like 500ms, 30s, 10m or 2h'),
  ])
  .refine((d) => (toMilliseconds(d) ?? 0) <= MAX_DURATION_MS, {
    error: 'at most 596h (about 24.8 days, the longest timer Node can hold)',
  })
  .meta({ title: 'duration' })
  .describe('A duration: milliseconds as a number, or a string such as "30s", "10m", "2h".');

const size = z
  .union([
    z.number().nonnegative(),
    z.string().regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'a size like 512MB, 2GB or 1.5GiB'),
  ])
  .meta({ title: 'size' })
  .describe(
    'A size: bytes as a number, or a string such as "512MB", "2GB", "1.5GiB" (KB = 1000, KiB = 1024).',
  );

const retry = z
  .object({
    attempts: z.number().int().min(1).describe('Total attempts, including the first.').optional(),
    minDelay: duration.describe('Wait before the first retry; later waits grow from it.').optional(),
    maxDelay: duration.describe('The longest wait between two attempts.').optional(),
    scope: z
      .string()
      .regex(/^(step|stage|run|from:.+)$/, 'one of step, stage, run or from:<taskId>')
      .describe(
        "What a failure retries: the step, its whole stage, the whole run, or from:<taskId> on (after that step's cleanups).",
      )
      .optional(),
  })
  .strict()
  .describe('How a failure is retried: how often, how long to wait, and what is run again.');

const sites = z
  .object({
    include: z
      .array(siteIdSchema)
      .min(1, 'an empty list would run the task nowhere: list site ids, or leave `sites` out')
      .describe('Only these site ids run the task.')
      .optional(),
    exclude: z
      .array(siteIdSchema)
      .min(1, 'an empty list excludes nothing: list site ids, or leave `exclude` out')
      .describe('These site ids never run the task.')
      .optional(),
  })
  .strict()
  .describe('Which sites run the task; default every site.');

const criticality = z
  .enum(['core', 'business', 'optional'])
  .describe(
    'What a failure means: core stops the upgrade and offers a rollback, business is skipped and reported, optional is only recorded. Default core.',
  );

export const TASK_KINDS = ['sql', 'clickhouse', 'tool', 'command'] as const;
export const TASK_STAGE_NAMES = ['pre_stop', 'in_stop', 'post_start'] as const;

export const taskSchema = z
  .object({
    id: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9_.-]{0,190}$/,
        'letters, digits, _ . - (at most 191), starting with a letter or digit',
      )
      .describe(
        'Unique within the release version; with the component and version it identifies the task forever.',
      ),
    kind: z
      .enum(TASK_KINDS)
      .describe('sql and clickhouse run a file of statements; tool runs a module; command runs a program.'),
    stage: z
      .enum(TASK_STAGE_NAMES)
      .describe('pre_stop (before the graceful stop), in_stop (services stopped), post_start (after start).'),
    description: text255
      .describe('What the task does, for people: shown in plans, logs and summaries.')
      .optional(),
    file: z
      .string()
      .min(1)
      .describe('sql/clickhouse: the statements file, relative to the version directory.')
      .optional(),
    package: z
      .string()
      .min(1)
      .describe('tool: a module path in the release (or a package name) exporting run(ctx).')
      .optional(),
    command: z
      .array(z.string())
      .min(1)
      .describe('command: program and arguments, never a shell string.')
      .optional(),
    datasource: z
      .string()
      .min(1)
      .describe('Which datasource of upgradekit.yaml the task runs on.')
      .optional(),
    compatibleFrom: versionText
      .describe(
        'The oldest running version this change is compatible with (compatible_version in .properties releases).',
      )
      .optional(),
    additive: z
      .boolean()
      .describe(
        'The task only adds (columns, tables, indexes): the old version still runs on the new data, so a rollback may keep the data (a compatible rollback).',
      )
      .optional(),
    sites: sites.optional(),
    timeout: duration
      .describe('How long the task may run before it is stopped; default `defaults.timeout`.')
      .optional(),
    stopGrace: duration
      .describe(
        'tool and command tasks: how long the program has, once asked to stop (Ctrl-C, SIGTERM, its timeout), before it is killed; default `defaults.stopGrace`, else 5s.',
      )
      .optional(),
    retry: retry.describe('How a failure of this task is retried; default `defaults.retry`.').optional(),
    criticality: criticality.optional(),
    idempotent: z.boolean().describe('Safe to run again after an interruption.').optional(),
    transaction: z
      .boolean()
      .describe(
        'sql tasks: `false` runs the statements one by one outside a transaction block (PostgreSQL `CREATE INDEX CONCURRENTLY`, `VACUUM`, using a value added by `ALTER TYPE … ADD VALUE`), with progress saved after each; default: one transaction wherever the database allows it.',
      )
      .optional(),
    placeholdersInStrings: z
      .boolean()
      .describe(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the placeholder syntax, quoted
        "sql tasks: also replace `${name}` inside string literals and quoted identifiers (never in comments); default false, so text such as '${amount}' in data stays as written.",
      )
      .optional(),
    check: z
      .string()
      .describe('SQL returning a single number: non-zero means the task is already applied.')
      .optional(),
    estimate: z
      .object({
        rows: z.number().nonnegative().describe('Declared data volume in rows.').optional(),
        bytes: z.number().nonnegative().describe('Declared data volume in bytes.').optional(),
        rate: z.number().positive().describe('Rows (or bytes) per second.').optional(),
        duration: duration.describe('A fixed estimate, instead of volume over rate.').optional(),
        unit: z
          .enum(['rows', 'bytes'])
          .describe('What `rate` and `query` count; default rows, or bytes when only `bytes` is given.')
          .optional(),
        query: z
          .string()
          .min(1)
          .describe(
            'SQL on the task datasource returning one number: the data volume (in `unit`) at assessment time.',
          )
          .optional(),
        parallel: z
          .boolean()
          .describe(
            'Runs alongside the other parallel tasks of its stage: the stage takes the longest of them.',
          )
          .optional(),
      })
      .strict()
      .describe(
        'How long the task takes: a fixed duration, or data volume (declared or queried) over a rate.',
      )
      .optional(),
    resources: z
      .object({
        disk: size.describe('Disk space the task needs while it runs (temporary files, copies).').optional(),
        memory: size.describe('Memory the task needs while it runs.').optional(),
      })
      .strict()
      .describe('What the task needs beyond the backup; added to the resource check of the assessment.')
      .optional(),
  })
  .strict();

export const tasksFileSchema = z
  .object({
    tasks: z
      .array(taskSchema)
      .describe('Tasks introduced by this version, in the order they run within a stage.'),
  })
  .strict();

export const datasourceSchema = z
  .object({
    type: z
      .enum(['mysql', 'mariadb', 'postgres', 'sqlite', 'clickhouse'])
      .describe('The database engine; decides how statements are split and committed.'),
    description: z.string().describe('What the datasource holds, for people.').optional(),
  })
  .strict()
  .describe(
    'Connection details (hosts, passwords) come from configuration or the environment, never from the release.',
  );

const idText = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,190}$/,
    'letters, digits, _ . - (at most 191), starting with a letter or digit',
  );

export const qualityCheckSchema = z
  .object({
    id: idText.describe('Names the check in reports.'),
    description: z.string().describe('What the check looks for: "Null user_id in orders".').optional(),
    datasource: z
      .string()
      .min(1)
      .describe('Which datasource the SQL runs on; default `defaults.datasource`.')
      .optional(),
    sql: z
      .string()
      .min(1)
      .describe('A query returning one number: how many rows break the rule. Read-only; never a fix.'),
    threshold: z
      .number()
      .int()
      .nonnegative()
      .describe('How many offending rows are tolerated; default 0.')
      .optional(),
    severity: z
      .enum(['error', 'warning'])
      .describe('Above the threshold: error stops the upgrade, warning asks for confirmation. Default error.')
      .optional(),
    versions: z
      .string()
      .min(1)
      .describe(
        'Runs only when the source or target version is in this range: MIN~MAX (inclusive) or a semver range.',
      )
      .optional(),
    fix: z
      .string()
      .describe('Suggested repair, shown in the report and never run: "UPDATE orders SET user_id=0 WHERE …".')
      .optional(),
    timeout: duration.describe('How long the query may run; default 60s.').optional(),
  })
  .strict();

const matrixEntrySchema = z
  .object({
    supportedTargets: z
      .array(z.string())
      .describe('Every version this one may end up on, by any path; others are refused.')
      .optional(),
    direct: z
      .array(z.string())
      .describe('Targets reachable in one jump over the versions in between.')
      .optional(),
    progressive: z
      .array(z.string())
      .describe('Targets reachable in one ordinary step; further targets chain such steps.')
      .optional(),
    estimates: z
      .record(z.string().meta({ title: 'target' }), duration)
      .describe('Expected duration of the hop to each target; breaks ties between equally short paths.')
      .optional(),
  })
  .strict()
  .describe('Where an upgrade from this version may go, in one hop.');

export const manifestSchema = z
  .object({
    $schema: z
      .string()
      .describe('The JSON Schema editors complete this file with; ignored when loading.')
      .optional(),
    component: nameText.describe('The component this release upgrades.'),
    description: z.string().describe('What the release is, for people.').optional(),
    datasources: z
      .record(nameText.meta({ title: 'name' }), datasourceSchema)
      .describe('The databases tasks run on, by the name tasks use in `datasource`.')
      .default({}),
    defaults: z
      .object({
        datasource: z
          .string()
          .describe('The datasource of sql and clickhouse tasks that name none.')
          .optional(),
        timeout: duration.describe('Timeout of every task that sets none; else 1 hour.').optional(),
        stopGrace: duration
          .describe('Stop grace of every tool and command task that sets none; else 5s.')
          .optional(),
        retry: retry
          .describe('Retry policy of every task that sets none (merged field by field).')
          .optional(),
        criticality: criticality.describe('Criticality of every task that sets none; else core.').optional(),
      })
      .strict()
      .describe('Defaults for every task of the release.')
      .default({}),
    dataQuality: z
      .array(qualityCheckSchema)
      .describe(
        'Data-quality checks run by the assessment before the upgrade: a query per check, judged against its threshold.',
      )
      .optional(),
    compatibility: z
      .record(z.string().meta({ title: 'version' }), matrixEntrySchema)
      .describe(
        'Upgrade-path matrix: from each source version, the targets it may jump to directly and those it reaches one version at a time.',
      )
      .optional(),
  })
  .strict();

export type TaskInput = z.input<typeof taskSchema>;
export type ManifestInput = z.input<typeof manifestSchema>;
export type QualityCheckInput = z.input<typeof qualityCheckSchema>;
