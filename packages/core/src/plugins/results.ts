import { z } from 'zod';
import { type PluginFailureContext, pluginFailed } from './failure.js';
import type {
  BackupResult,
  CleanupResult,
  CompatibilityInfo,
  DataQualityCheck,
  DurationEstimate,
  PluginMethod,
  PluginTask,
  ResourceRequirements,
} from './types.js';

// Strict objects: a misspelt field (`diskByte`) would otherwise drop a requirement silently, and a
// loud failure during assessment beats a full disk in the maintenance window.
const amount = z.number().finite().nonnegative('must be a non-negative number');
const text = z.string().min(1, 'must be a non-empty string');

const resources = z.strictObject({
  diskBytes: amount.optional(),
  diskPath: text.optional(),
  memoryBytes: amount.optional(),
  cpuPercent: z.number().min(0).max(100).optional(),
  datasources: z
    .array(
      z.strictObject({
        datasource: text,
        diskBytes: amount.optional(),
        memoryBytes: amount.optional(),
        connections: z.number().int().nonnegative().optional(),
        note: z.string().optional(),
      }),
    )
    .optional(),
  notes: z.array(z.string()).optional(),
}) satisfies z.ZodType<ResourceRequirements>;

const dataQuality = z.array(
  z.strictObject({
    id: text,
    description: z.string(),
    severity: z.enum(['warning', 'error']),
    offending: z.number().int().nonnegative(),
    threshold: z.number().int().nonnegative().optional(),
    datasource: z.string().optional(),
    suggestion: z.string().optional(),
  }),
) satisfies z.ZodType<readonly DataQualityCheck[]>;

const compatibility = z.strictObject({
  rollingCompatible: z.boolean(),
  incompatible: z.array(
    z.strictObject({
      item: text,
      kind: z.string().optional(),
      compatibleFrom: z.string().optional(),
      reason: z.string(),
      impact: z.string().optional(),
      suggestion: z.string().optional(),
    }),
  ),
}) satisfies z.ZodType<CompatibilityInfo>;

const estimate = z.array(
  z.strictObject({
    task: text,
    stage: z.enum(['pre_stop', 'in_stop', 'post_start']).optional(),
    durationMs: amount,
    dataBytes: amount.optional(),
    rows: amount.optional(),
    bytesPerSecond: amount.optional(),
    rowsPerSecond: amount.optional(),
    parallel: z.boolean().optional(),
  }),
) satisfies z.ZodType<readonly DurationEstimate[]>;

const backup = z
  .strictObject({
    artifacts: z.array(
      z.strictObject({
        path: text,
        bytes: amount.optional(),
        checksum: z.string().optional(),
        datasource: z.string().optional(),
        host: z.string().optional(),
      }),
    ),
    note: z.string().optional(),
  })
  .optional() satisfies z.ZodType<BackupResult | undefined>;

const cleanup = z
  .strictObject({ removed: z.array(z.string()).optional(), freedBytes: amount.optional() })
  .optional() satisfies z.ZodType<CleanupResult | undefined>;

const tasks = z.array(z.record(z.string(), z.unknown())) satisfies z.ZodType<readonly PluginTask[]>;

const schemas: Record<string, z.ZodType> = {
  resources,
  dataQuality,
  compatibility,
  estimate,
  backup,
  cleanup,
  tasks,
};

/**
 * Checks what a plugin method answered. Returns the problems, each naming the field as the plugin
 * author would write it (`[2].severity`), or none. Hooks answer free-form JSON.
 */
export function resultProblems(method: PluginMethod, value: unknown): string[] {
  // An unimplemented method answers `undefined`, and so may `backup`/`cleanup` with nothing to say.
  if (value === undefined || value === null) return [];
  const schema = schemas[method];
  if (!schema) return [];
  const result = schema.safeParse(value);
  if (result.success) return [];
  return result.error.issues.map((issue) => {
    const field = issue.path
      .map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`))
      .join('');
    return `${field ? `\`${field.replace(/^\./, '')}\`` : 'the value'}: ${issue.message}`;
  });
}

/** Returns `value` when it is what `method` promises; otherwise throws a `bad-result` plugin failure. */
export function checkResult(method: PluginMethod, value: unknown, context: PluginFailureContext): unknown {
  const problems = resultProblems(method, value);
  if (problems.length === 0) return value;
  throw pluginFailed(
    'bad-result',
    `answered something that is not what the SPI expects — ${problems.join('; ')}`,
    {
      ...context,
      problems,
    },
  );
}
