import { z } from 'zod';

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
    host: z.string().min(1).describe('MariaDB/MySQL/PostgreSQL host. Default 127.0.0.1.').optional(),
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
      .url('a URL such as http://127.0.0.1:8123')
      .describe('ClickHouse: the HTTP endpoint.')
      .optional(),
    ...secretRefs,
    ...noLiteralPassword,
  })
  .strict();

export const stateConfigSchema = z
  .object({
    filename: z.string().min(1).describe('A SQLite file (the default: .upgradekit/state.sqlite).').optional(),
    client: z.enum(['mysql', 'mariadb', 'postgres']).optional(),
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    user: z.string().min(1).optional(),
    database: z.string().min(1).optional(),
    ...secretRefs,
    ...noLiteralPassword,
  })
  .strict()
  .refine((s) => (s.filename === undefined) !== (s.client === undefined), {
    error: 'give either filename (SQLite) or client + database (mysql, mariadb, postgres)',
  })
  .refine((s) => s.client === undefined || s.database !== undefined, {
    error: 'a state database needs `database`',
    path: ['database'],
  });

export const siteConfigSchema = z
  .object({
    site: z
      .union([
        z.string().min(1).max(128),
        z
          .object({
            id: z.string().min(1).max(128),
            name: z.string().optional(),
            env: z.record(z.string(), z.string()).optional(),
          })
          .strict(),
      ])
      .describe('The site (局点) id, or { id, name, env }.')
      .optional(),
    state: stateConfigSchema
      .describe('Where upgrade state lives. Default: .upgradekit/state.sqlite')
      .optional(),
    datasources: z
      .record(z.string(), datasourceConfigSchema)
      .describe('How to reach each datasource the release names.')
      .default({}),
    placeholders: z
      .record(z.string(), z.string())
      .describe('Values substituted for placeholders in SQL files (never taken from the environment).')
      .default({}),
  })
  .strict();

export type SiteConfigInput = z.input<typeof siteConfigSchema>;
export type DatasourceConfig = z.output<typeof datasourceConfigSchema>;
export type StateConfig = z.output<typeof stateConfigSchema>;
