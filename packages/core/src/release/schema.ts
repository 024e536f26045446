import { z } from 'zod';

// One schema validates upgradekit.yaml and tasks.yaml and is emitted as the JSON Schema that
// editors use (scripts/generate-schema.ts); keep descriptions written for the person typing.

const duration = z
  .union([
    z.number().positive(),
    z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h)$/, 'a duration like 500ms, 30s, 10m or 2h'),
  ])
  .describe('A duration: milliseconds as a number, or a string such as "30s", "10m", "2h".');

const retry = z
  .object({
    attempts: z.number().int().min(1).describe('Total attempts, including the first.').optional(),
    minDelay: duration.optional(),
    maxDelay: duration.optional(),
    scope: z
      .string()
      .regex(/^(step|stage|run|from:.+)$/, 'one of step, stage, run or from:<taskId>')
      .describe('What a failure retries: step, stage, run or from:<taskId> (seed 004 §4.2.2).')
      .optional(),
  })
  .strict();

const sites = z
  .object({
    include: z.array(z.string().min(1)).describe('Only these site ids (局点ID) run the task.').optional(),
    exclude: z.array(z.string().min(1)).describe('These site ids never run the task.').optional(),
  })
  .strict();

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
    description: z.string().optional(),
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
    compatibleFrom: z
      .string()
      .describe('The oldest running version this change is compatible with (seed: compatible_version).')
      .optional(),
    sites: sites.optional(),
    timeout: duration.optional(),
    retry: retry.optional(),
    criticality: z.enum(['core', 'business', 'optional']).optional(),
    idempotent: z.boolean().describe('Safe to run again after an interruption.').optional(),
    check: z
      .string()
      .describe('SQL returning a single number: non-zero means the task is already applied.')
      .optional(),
    estimate: z
      .object({
        rows: z.number().nonnegative().optional(),
        bytes: z.number().nonnegative().optional(),
        rate: z.number().positive().describe('Rows (or bytes) per second.').optional(),
        duration: duration.optional(),
      })
      .strict()
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
    type: z.enum(['mysql', 'mariadb', 'postgres', 'sqlite', 'clickhouse']),
    description: z.string().optional(),
  })
  .strict()
  .describe(
    'Connection details (hosts, passwords) come from configuration or the environment, never from the release.',
  );

export const manifestSchema = z
  .object({
    $schema: z.string().optional(),
    component: z.string().min(1).max(128).describe('The component this release upgrades.'),
    description: z.string().optional(),
    datasources: z.record(z.string(), datasourceSchema).default({}),
    defaults: z
      .object({
        datasource: z.string().optional(),
        timeout: duration.optional(),
        retry: retry.optional(),
        criticality: z.enum(['core', 'business', 'optional']).optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

export type TaskInput = z.input<typeof taskSchema>;
export type ManifestInput = z.input<typeof manifestSchema>;
