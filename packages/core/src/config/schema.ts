import { z } from 'zod';
import { siteIdSchema } from '../release/internal.js';
import { CONNECTION_DEFAULTS } from './connection.js';

// The site configuration: what differs between customer sites running the same release — where
// the databases are, where state is kept, which placeholders apply. Secrets are never values in
// this file: they name an environment variable or a file, so the file can be committed and shown.

const secretRefs = {
  passwordEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name such as APP_DB_PASSWORD')
    .describe('Read the password from this environment variable.')
    .optional(),
  passwordFile: z
    .string()
    .min(1)
    .describe('Read the password from this file (first line; relative to the config file).')
    .optional(),
};

/** A literal password in a config file is refused: it would end up in repositories and logs. */
const noLiteralPassword = {
  password: z
    .never({
      error: 'a password is never written in the config file; name it with passwordEnv or passwordFile',
    })
    .optional(),
};

// One shape for every kind of datasource, so a mistake is reported on its own field ("password:
// …") instead of as "matches none of three shapes"; which fields a type needs is checked against
// the release's datasource type when connecting.
export const datasourceConfigSchema = z
  .object({
    host: z
      .string()
      .min(1)
      .describe(`MariaDB/MySQL/PostgreSQL host. Default ${CONNECTION_DEFAULTS.mysql.host}.`)
      .optional(),
    port: z.number().int().min(1).max(65535).optional(),
    user: z.string().min(1).optional(),
    database: z.string().min(1).describe('The database (schema) name.').optional(),
    filename: z
      .string()
      .min(1)
      .describe('SQLite: the database file (relative to the working directory).')
      .optional(),
    url: z
      .string()
      .url(
        `a URL such as http://${CONNECTION_DEFAULTS.clickhouse.host}:${CONNECTION_DEFAULTS.clickhouse.port}`,
      )
      .refine(
        (u) => {
          try {
            const url = new URL(u);
            return url.username === '' && url.password === '';
          } catch {
            return true;
          }
        },
        {
          error:
            'a URL with a user or password in it puts a secret in the file: give `user` and `passwordEnv` (or `passwordFile`) instead',
        },
      )
      .describe('ClickHouse: the HTTP endpoint.')
      .optional(),
    ...secretRefs,
    ...noLiteralPassword,
  })
  .strict();

/**
 * A strict object that names what it means in one of two ways: `either` or `or`, exactly one of
 * them (not both, not neither), else `error`.
 */
function eitherOr<S extends z.ZodRawShape>(
  either: keyof S & string,
  or: keyof S & string,
  error: string,
  shape: S,
) {
  return z
    .object(shape)
    .strict()
    .refine((s: Readonly<Record<string, unknown>>) => (s[either] === undefined) !== (s[or] === undefined), {
      error,
    });
}

export const stateConfigSchema = eitherOr(
  'filename',
  'client',
  'give either filename (SQLite) or client + database (mysql, mariadb, postgres)',
  {
    filename: z.string().min(1).describe('A SQLite file (the default: .upgradekit/state.sqlite).').optional(),
    client: z.enum(['mysql', 'mariadb', 'postgres']).optional(),
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    user: z.string().min(1).optional(),
    database: z.string().min(1).optional(),
    ...secretRefs,
    ...noLiteralPassword,
  },
).refine((s) => s.client === undefined || s.database !== undefined, {
  error: 'a state database needs `database`',
  path: ['database'],
});

/** A host of the site, reached over SSH; the assessment probes its resources. */
export const hostConfigSchema = z
  .object({
    name: z.string().min(1).describe('What reports call it: app-1, db-primary, …'),
    host: z.string().min(1).describe('Address or DNS name.'),
    port: z.number().int().min(1).max(65535).default(22),
    user: z.string().min(1),
    privateKeyPath: z.string().min(1).describe('The key file (key authentication).').optional(),
    passphraseEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
      .describe('The key passphrase, from this environment variable.')
      .optional(),
    ...secretRefs,
    ...noLiteralPassword,
    knownHostsPath: z.string().min(1).describe('Default ~/.ssh/known_hosts.').optional(),
    hostKeys: z
      .enum(['strict', 'accept-new', 'off'])
      .describe('strict (default) refuses unknown hosts; accept-new records a first contact; off warns.')
      .default('strict'),
    paths: z
      .array(z.string().min(1))
      .min(1)
      .describe('Where the upgrade writes on this host: checked for free disk.')
      .default(['/']),
    roles: z.array(z.string().min(1)).optional(),
  })
  .strict();

/** Pre-upgrade assessment settings (seed 001 §5.2.1): thresholds and where backups go. */
export const assessmentConfigSchema = z
  .object({
    thresholds: z
      .object({
        cpuIdlePercent: z.number().min(0).max(100).optional(),
        memoryBytes: z.number().nonnegative().optional(),
        diskBackupFactor: z.number().min(1).optional(),
      })
      .strict()
      .default({}),
    backupPath: z.string().min(1).describe('Where backups are written on this machine.').optional(),
    localIsHost: z
      .boolean()
      .describe(
        'This machine runs the components too (a one-machine site): its CPU is judged. Default: it only orchestrates.',
      )
      .optional(),
    paths: z
      .array(z.string().min(1))
      .min(1)
      .describe('Local paths checked for free disk. Default: the working directory.')
      .optional(),
  })
  .strict();

/** A path on the backup host: absolute, or (for a local backup only) relative to the config file. */
const backupPath = z.string().min(1);

/** What a backup saves and a rollback restores (seed 004 §4.2.3.3, §4.4): see docs/backup.md. */
export const backupConfigSchema = z
  .object({
    root: backupPath.describe('Holds the backup_<timestamp>/ directories, e.g. /backup.'),
    component: z
      .string()
      .min(1)
      .describe("The component's backups to list and restore. Default: the release's component.")
      .optional(),
    host: z
      .string()
      .min(1)
      .describe('Back up and restore on this host of `hosts`, over SSH. Default: this machine.')
      .optional(),
    programDir: backupPath.describe('The program directory, archived whole minus `excludes`.').optional(),
    excludes: z
      .array(z.string().min(1))
      .describe(
        'Left out of the program archive (tar --exclude patterns). Default: logs, temp and pid files.',
      )
      .optional(),
    config: z
      .object({
        paths: z.array(backupPath).min(1).describe('Service units, environment files, …'),
        root: backupPath.describe('Archive members are relative to this. Default /.').default('/'),
      })
      .strict()
      .describe('System configuration to save.')
      .optional(),
    databases: z
      .array(
        z.union([
          z.string().min(1).describe('A datasource name; its engine comes from the release.'),
          z
            .object({
              datasource: z.string().min(1),
              engine: z.enum(['mariadb', 'mysql', 'postgres', 'clickhouse']).optional(),
              defaultsFile: z
                .string()
                .min(1)
                .describe(
                  'MariaDB/MySQL: an option file on the backup host with the password ([client]); needed on a remote host.',
                )
                .optional(),
              passFile: z
                .string()
                .min(1)
                .describe('PostgreSQL: a .pgpass file on the backup host; needed on a remote host.')
                .optional(),
            })
            .strict(),
        ]),
      )
      .describe(
        'Datasources to dump. Default: every MariaDB/MySQL/PostgreSQL/ClickHouse datasource of the release.',
      )
      .optional(),
    services: z
      .object({
        stop: eitherOr('pidFile', 'unit', 'give exactly one of pidFile or unit (a systemd unit)', {
          pidFile: z.string().min(1).optional(),
          unit: z.string().min(1).optional(),
          graceMs: z.number().nonnegative().optional(),
        })
          .describe('Rollback step 1: SIGTERM, a grace period, then SIGKILL.')
          .optional(),
        start: eitherOr(
          'command',
          'unit',
          'give exactly one of command (an argument vector) or unit (a systemd unit)',
          {
            command: z.array(z.string()).min(1).optional(),
            unit: z.string().min(1).optional(),
            cwd: z.string().min(1).optional(),
            log: z.string().min(1).optional(),
            pidFile: z.string().min(1).optional(),
            timeoutMs: z.number().positive().optional(),
          },
        )
          .describe('Rollback step 5: started, then waited for until healthy.')
          .optional(),
        health: z
          .union([
            z.url({ error: 'an http(s) URL' }),
            z.object({ command: z.array(z.string()).min(1) }).strict(),
          ])
          .describe('Healthy after start, and checked again in step 6: a URL or { command: [...] }.')
          .optional(),
      })
      .strict()
      .describe('How rollback stops and starts the service. Without it steps 1 and 5 are skipped.')
      .optional(),
  })
  .strict();

export const siteConfigSchema = z
  .object({
    // A bare id is { id }: one object shape, so a problem inside it is reported on its own field
    // (a union would only say "Invalid input").
    site: z
      .preprocess(
        (v) => (typeof v === 'string' ? { id: v } : v),
        z
          .object({
            id: siteIdSchema,
            name: z.string().optional(),
            env: z
              .record(z.string(), z.string())
              .superRefine((env, ctx) => {
                for (const key of Object.keys(env))
                  if (/pass(word)?|secret|token|private.?key|api.?key|credential/i.test(key))
                    ctx.addIssue({
                      code: 'custom',
                      path: [key],
                      message:
                        'a variable named like a secret: secrets are never written in this file — set it in the environment of the runner',
                    });
              })
              .optional(),
          })
          .strict(),
      )
      .describe('The site id, or { id, name, env }.')
      .optional(),
    state: stateConfigSchema
      .describe('Where upgrade state lives. Default: .upgradekit/state.sqlite')
      .optional(),
    datasources: z
      .record(z.string(), datasourceConfigSchema)
      .describe('How to reach each datasource the release names.')
      .default({}),
    hosts: z.array(hostConfigSchema).describe('The hosts of this site, over SSH.').default([]),
    assessment: assessmentConfigSchema.default({ thresholds: {} }),
    placeholders: z
      .record(z.string(), z.string())
      .describe('Values substituted for placeholders in SQL files (never taken from the environment).')
      .default({}),
    backup: backupConfigSchema
      .describe('Verified backups before the data upgrade, and what `rollback` restores.')
      .optional(),
  })
  .strict();

export type SiteConfigInput = z.input<typeof siteConfigSchema>;
export type DatasourceConfig = z.output<typeof datasourceConfigSchema>;
export type StateConfig = z.output<typeof stateConfigSchema>;
export type HostConfig = z.output<typeof hostConfigSchema>;
export type AssessmentConfig = z.output<typeof assessmentConfigSchema>;
export type BackupConfig = z.output<typeof backupConfigSchema>;
