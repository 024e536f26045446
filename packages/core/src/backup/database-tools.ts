// The database specs and the engines' own tools: which binary, how to connect (the password in
// the environment only), what a client said when it failed, and a query. databases.ts does the work.
import { z } from 'zod';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { BackupHost, HostRunResult } from './host.js';

/**
 * Database names go into the SQL rollback runs (`RENAME TABLE`, `ALTER DATABASE`) as quoted
 * identifiers; allowing only these characters keeps that safe on every engine and on every shell.
 */
const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_$-]{0,47}$/;

export const databaseSpecSchema = z
  .object({
    /** What the backup calls it (file `database_<name>.sql` when there are several). Default: `database`. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be letters, digits, `_` or `-`')
      .optional(),
    engine: z.enum(['mariadb', 'mysql', 'postgres', 'clickhouse']),
    database: z
      .string()
      .regex(DATABASE_NAME, 'must be a plain database name (letters, digits, `_`, `$`, `-`)'),
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    user: z.string().min(1).optional(),
    /** Given to the tools through their environment (`MYSQL_PWD`, `PGPASSWORD`), never argv, logs or manifests. */
    password: z.string().optional(),
    /** MariaDB/MySQL option file on the host that runs the dump (`--defaults-extra-file`). */
    defaultsFile: z.string().min(1).optional(),
    /** PostgreSQL password file on the host that runs the dump (`PGPASSFILE`). */
    passFile: z.string().min(1).optional(),
  })
  .strict();

export type DatabaseSpec = z.input<typeof databaseSpecSchema>;
export type Spec = z.output<typeof databaseSpecSchema>;

/** The end-of-dump lines the tools write last (seed 004 §4.2.3.3: "Dump completed"). */
export const END_MARKERS = {
  mariadb: /-- Dump completed/,
  mysql: /-- Dump completed/,
  postgres: /-- PostgreSQL database dump complete/,
} as const;

const TOOLS = {
  dump: {
    mariadb: ['mariadb-dump', 'mysqldump'],
    mysql: ['mysqldump', 'mariadb-dump'],
    postgres: ['pg_dump'],
  },
  client: { mariadb: ['mariadb', 'mysql'], mysql: ['mysql', 'mariadb'], postgres: ['psql'] },
} as const;

export type ToolEngine = keyof (typeof TOOLS)['dump'];

export async function tool(host: BackupHost, kind: 'dump' | 'client', engine: ToolEngine): Promise<string> {
  const names = TOOLS[kind][engine];
  const found = await host.which(names);
  if (!found) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `${names.join(' or ')} is not installed on ${host.name}; install the ${engine === 'postgres' ? 'postgresql-client' : 'mariadb-client'} package there`,
      { context: { host: host.name, engine } },
    );
  }
  return found;
}

export function isMy(engine: Spec['engine']): boolean {
  return engine === 'mariadb' || engine === 'mysql';
}

/** ClickHouse goes over HTTP from this machine (see clickhouse.ts), not through tools on the host. */
export function isClickHouse(spec: Spec): boolean {
  return spec.engine === 'clickhouse';
}

/** Connection arguments and environment; the password only ever in the environment. */
export function connection(spec: Spec, host: BackupHost): { args: string[]; env: Record<string, string> } {
  const env: Record<string, string> = {};
  if (isMy(spec.engine)) {
    const args = spec.defaultsFile ? [`--defaults-extra-file=${spec.defaultsFile}`] : [];
    if (spec.host) args.push(`--host=${spec.host}`);
    if (spec.port) args.push(`--port=${spec.port}`);
    if (spec.user) args.push(`--user=${spec.user}`);
    if (spec.password !== undefined && spec.password !== '') env.MYSQL_PWD = spec.password;
    return { args, env };
  }
  const args = ['--no-password'];
  if (spec.host) args.push(`--host=${spec.host}`);
  if (spec.port) args.push(`--port=${spec.port}`);
  if (spec.user) args.push(`--username=${spec.user}`);
  if (spec.password !== undefined && spec.password !== '') env.PGPASSWORD = spec.password;
  if (spec.passFile) env.PGPASSFILE = spec.passFile;
  if (host.remote && (env.MYSQL_PWD || env.PGPASSWORD)) {
    // Unreachable through validateSpecs; kept so no future caller can send a password over argv.
    throw new UpgradeKitError(ErrorCodes.BAD_INPUT, 'a password cannot be used for a remote dump');
  }
  return { args, env };
}

/**
 * The command line of one of the engine's own tools: the binary found on the host, how to connect,
 * then the engine's own arguments (`my` for MariaDB/MySQL, `pg` for PostgreSQL), and the
 * environment it needs (the password, never on the command line).
 */
export async function toolCommand(
  host: BackupHost,
  spec: Spec,
  kind: 'dump' | 'client',
  own: { readonly my: readonly string[]; readonly pg: readonly string[] },
): Promise<{ binary: string; argv: string[]; env: Record<string, string> }> {
  const binary = await tool(host, kind, spec.engine as ToolEngine);
  const { args, env } = connection(spec, host);
  return { binary, argv: [binary, ...args, ...(isMy(spec.engine) ? own.my : own.pg)], env };
}

/** Validates database specs once, at the edge, including what a remote host can be given. */
export function validateSpecs(specs: readonly DatabaseSpec[], host: BackupHost): ValidDatabaseSpec[] {
  const parsed = specs.map((spec, index) => {
    const result = databaseSpecSchema.safeParse(spec);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `databases[${index}]${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`,
        { context: { index, field: issue.path.join('.') } },
      );
    }
    const value = result.data;
    if (value.engine === 'clickhouse' && host.remote) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `databases[${index}] (${value.database}): ClickHouse is backed up over its HTTP interface from this machine into a local backup directory; use a local backup for it`,
        { context: { index, host: host.name } },
      );
    }
    if (host.remote && value.password) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `databases[${index}] (${value.database}) on ${host.name}: a password cannot be sent to a remote host without putting it on a command line; put it in a file on the host and name it with ${isMy(value.engine) ? '`defaultsFile` (a [client] option file)' : '`passFile` (a .pgpass file)'}`,
        { context: { index, host: host.name } },
      );
    }
    return value;
  });
  const names = parsed.map((s, i) => s.name ?? (parsed.length === 1 ? 'database' : `${s.database}_${i}`));
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `databases: two entries are called "${duplicate}"; give each a distinct \`name\``,
    );
  }
  return parsed.map((s, i) => ({ ...s, name: names[i]! }));
}

/**
 * What a database client said, error first. The mariadb client (10.11) echoes a failed statement
 * between two `--------------` lines before its `ERROR …` line; a report showing the first line
 * of a message showed only that separator. The echo is dropped (the statement is named anyway),
 * and the lines naming an error lead.
 */
export function clientMessage(stderr: string): string {
  const lines = stderr
    .replace(/^-{14}\n[\s\S]*?\n-{14}$/gm, '')
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '');
  const isError = (line: string) => /\b(ERROR|FATAL)\b|\berror:/.test(line);
  const text = [...lines.filter(isError), ...lines.filter((line) => !isError(line))].join('\n');
  return text.length > 800 ? `${text.slice(0, 800)}…` : text;
}

export function failed(what: string, spec: Spec, host: BackupHost, result: HostRunResult): UpgradeKitError {
  return new UpgradeKitError(
    ErrorCodes.STEP_FAILED,
    `${what} of ${spec.engine} database ${spec.database} on ${host.name} failed (exit ${result.code}): ${clientMessage(result.stderr) || 'no message'}`,
    { context: { database: spec.database, engine: spec.engine, host: host.name, exitCode: result.code } },
  );
}

export async function query(host: BackupHost, spec: Spec, sql: string, database?: string): Promise<string> {
  const { argv, env } = await toolCommand(host, spec, 'client', {
    my: [
      '--batch',
      '--skip-column-names',
      ...(database ? [`--database=${database}`] : []),
      `--execute=${sql}`,
    ],
    pg: [
      '-X',
      '-q',
      '-A',
      '-t',
      '-v',
      'ON_ERROR_STOP=1',
      `--dbname=${database ?? 'postgres'}`,
      `--command=${sql}`,
    ],
  });
  const result = await host.run(argv, { env });
  if (result.code !== 0) throw failed(`query (${sql.slice(0, 40)}…)`, spec, host, result);
  return result.stdout.trim();
}

export const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
export const myIdent = (s: string) => `\`${s.replace(/`/g, '``')}\``;
export const pgIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

export type ValidDatabaseSpec = Spec & { readonly name: string };
