import { z } from 'zod';
import type { EventSink } from '../events/index.js';
import type { Connection } from '../migrate/index.js';
import type {
  CompatibilityInfo,
  DataQualityCheck,
  DurationEstimate,
  ResourceRequirements,
} from '../plugins/index.js';
import type { Release } from '../release/index.js';
import type { RemoteExec } from './probe.js';

const GiB = 1024 ** 3;

/** What a plugin answered to the SPI's assessment methods (seed 001 §6.1.3.3.1), gathered by the caller. */
export interface PluginContribution {
  readonly name: string;
  readonly resources?: ResourceRequirements;
  readonly dataQuality?: readonly DataQualityCheck[];
  readonly compatibility?: CompatibilityInfo;
  readonly estimate?: readonly DurationEstimate[];
}

const positive = (what: string) => z.number().positive(`must be a positive number of ${what}`);
const nonNegative = (what: string) => z.number().nonnegative(`must be a non-negative number of ${what}`);

export const assessOptionsSchema = z
  .object({
    /** The release the plan came from: its data-quality checks and datasource types. */
    release: z
      .custom<Release>(
        (v) => !!v && typeof v === 'object' && Array.isArray((v as Release).tasks),
        'must be a loaded release',
      )
      .optional(),
    /** One open connection per datasource name (knex or a ClickHouse client), as for running tasks. */
    connections: z
      .record(
        z.string(),
        z.custom<Connection>((v) => !!v && (typeof v === 'function' || typeof v === 'object')),
      )
      .default({}),
    /**
     * This machine (where the upgrade tool runs); `false` to leave it out. Its CPU is judged only
     * when it runs the site's components (`host: true`) or tasks that run here declare CPU: a
     * machine that merely orchestrates is not made to wait for its own idle time.
     */
    local: z
      .union([
        z.literal(false),
        z
          .object({ paths: z.array(z.string().min(1)).min(1).optional(), host: z.boolean().optional() })
          .strict(),
      ])
      .default({}),
    /**
     * Check ids (`resources.local.cpu`; `*` matches any part, as in `resources.*.cpu`) whose failure
     * or warning the operator accepts for this run: reported as measured, blocking nothing.
     */
    accept: z.array(z.string().min(1)).default([]),
    /** Remote hosts, each probed in one round trip. */
    hosts: z
      .array(
        z
          .object({
            name: z.string().min(1, 'must name the host'),
            session: z.custom<RemoteExec>(
              (v) => typeof (v as RemoteExec | undefined)?.exec === 'function',
              'must have exec(argv), like SshSession',
            ),
            paths: z.array(z.string().min(1)).min(1).default(['/']),
            /** What the upgrade needs on this host: the new version's package, its temporary files. */
            diskBytes: nonNegative('bytes').default(0),
            memoryBytes: nonNegative('bytes').default(0),
          })
          .strict(),
      )
      .default([]),
    backup: z
      .object({
        /** `local` or the name of a host in `hosts`; default `local`, or the first host without it. */
        host: z.string().min(1).optional(),
        /** Default: the first path of that host. */
        path: z.string().min(1).optional(),
        /** Datasources to size; default every connected one. */
        datasources: z.array(z.string()).optional(),
        /** Backup size = data size × factor; the seed's 1.5. */
        factor: positive('times the data size').default(1.5),
        /**
         * Datasources written twice during the upgrade (seed: 数据双写), and where that data lands:
         * the database server's host (in `hosts`) and data directory.
         */
        dualWrite: z
          .array(
            z
              .object({
                datasource: z.string().min(1),
                /** Default: as `backup.host`. */
                host: z.string().min(1).optional(),
                path: z.string().min(1).optional(),
              })
              .strict(),
          )
          .default([]),
        /** Buffer on top of twice the data, as a share: the seed's 10–20%. */
        dualWriteBuffer: z.number().min(0).max(1).default(0.2),
        /**
         * The site rolls back from these backups: check that each datasource's account could set its
         * database aside (a rollback's first move) and warn with the grant it lacks. A site
         * configuration with a `backup:` section sets it.
         */
        rollback: z.boolean().default(false),
      })
      .strict()
      .default({ factor: 1.5, dualWrite: [], dualWriteBuffer: 0.2, rollback: false }),
    /** The seed's example thresholds. */
    thresholds: z
      .object({
        cpuIdlePercent: z.number().min(0).max(100).default(20),
        memoryBytes: nonNegative('bytes').default(GiB),
        /** Free disk ≥ this × backup size (plus what is declared). */
        diskBackupFactor: z.number().min(1).default(2),
      })
      .strict()
      .default({ cpuIdlePercent: 20, memoryBytes: GiB, diskBackupFactor: 2 }),
    /** Declared needs of the upgrade tool itself (beyond tasks and plugins). */
    needs: z
      .object({
        diskBytes: nonNegative('bytes').default(0),
        memoryBytes: nonNegative('bytes').default(0),
        cpuPercent: z.number().min(0).max(100).default(0),
      })
      .strict()
      .default({ diskBytes: 0, memoryBytes: 0, cpuPercent: 0 }),
    plugins: z
      .array(
        z.custom<PluginContribution>(
          (v) => typeof (v as PluginContribution | undefined)?.name === 'string',
          'must be { name, resources?, dataQuality?, compatibility?, estimate? }',
        ),
      )
      .default([]),
    quality: z
      .object({
        timeoutMs: positive('milliseconds').default(60_000),
        /** Retries after the first attempt, on connection errors only (seed: 重试3次). */
        retries: z.number().int().nonnegative().default(3),
        retryDelayMs: nonNegative('milliseconds').default(1000),
        concurrency: z.number().int().min(1).default(4),
      })
      .strict()
      .default({ timeoutMs: 60_000, retries: 3, retryDelayMs: 1000, concurrency: 4 }),
    duration: z
      .object({
        /** Tasks longer than this are flagged (seed: >5 分钟). */
        longTaskMs: positive('milliseconds').default(300_000),
        /** Default rates when a task declares a volume but no rate: units per second. */
        rates: z
          .object({
            rows: positive('rows per second').optional(),
            bytes: positive('bytes per second').optional(),
          })
          .strict()
          .default({ bytes: 50 * 1024 * 1024 }),
        queryTimeoutMs: positive('milliseconds').default(30_000),
      })
      .strict()
      .default({ longTaskMs: 300_000, rates: { bytes: 50 * 1024 * 1024 }, queryTimeoutMs: 30_000 }),
    /** What the operator planned: `rolling` fails the assessment if the plan needs a stop. */
    expectMode: z.enum(['rolling', 'stop']).optional(),
    /**
     * The CPU sample window of the resource probe: long enough to mean something, and taken while
     * the data-quality checks and backup sizing run, so it rarely costs wall time.
     */
    cpuSampleMs: z.number().int().min(10).max(5000).default(1000),
    probeTimeoutMs: positive('milliseconds').default(30_000),
    /** More strings never to print (connection passwords are found by themselves). */
    secrets: z.array(z.string()).default([]),
    /**
     * Resource checks judged by the caller (a host whose host keys are not checked), reported and
     * counted with the others.
     */
    checks: z
      .array(
        z
          .object({
            id: z.string().min(1),
            title: z.string().min(1),
            status: z.enum(['pass', 'warn', 'fail', 'skip']),
            detail: z.string(),
            suggestion: z.string().optional(),
            host: z.string().optional(),
          })
          .strict(),
      )
      .default([]),
    events: z
      .custom<EventSink>(
        (v) => typeof (v as EventSink | undefined)?.emit === 'function',
        'must have emit(event)',
      )
      .optional(),
    signal: z.instanceof(AbortSignal).optional(),
  })
  .strict();

export type AssessOptions = z.input<typeof assessOptionsSchema>;
export type ResolvedAssessOptions = z.output<typeof assessOptionsSchema>;
