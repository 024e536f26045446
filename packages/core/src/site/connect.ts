import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { EventBus } from '../events/index.js';
import { type Connection, poolQuery } from '../migrate/index.js';
import type { Release } from '../release/index.js';
import type { StateOptions } from '../state/index.js';
import { resolveSecret, type SiteConfig } from './load.js';
import type { DatasourceConfig } from './schema.js';

export interface Datasources {
  /** One connection per datasource of the release, by name. Knex and ClickHouse clients connect lazily. */
  readonly connections: Readonly<Record<string, Connection>>;
  close(): Promise<void>;
}

export interface OpenDatasourcesOptions {
  readonly events?: EventBus;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default `process.cwd()`: where default SQLite files go (`.upgradekit/<name>.sqlite`). */
  readonly cwd?: string;
}

const DEFAULT_PORTS = { mysql: 3306, mariadb: 3306, postgres: 5432 } as const;

function missing(release: Release, name: string, type: string, config: SiteConfig, needs: string): never {
  throw new UpgradeKitError(
    ErrorCodes.BAD_INPUT,
    `datasource "${name}" (${type}) of release ${release.component} has no connection in ${config.file ?? 'the site configuration (no --config file given)'}: add datasources.${name}: { ${needs} }`,
    { context: { datasource: name, type, file: config.file } },
  );
}

type Planned = { name: string } & (
  | { kind: 'knex'; config: Knex.Config; secret?: string }
  | { kind: 'clickhouse'; config: Record<string, unknown>; secret?: string }
);

function planOne(
  release: Release,
  name: string,
  type: Release['datasources'][string]['type'],
  entry: DatasourceConfig | undefined,
  config: SiteConfig,
  options: OpenDatasourcesOptions,
): Planned {
  const where = `datasources.${name}`;
  if (type === 'sqlite') {
    if (entry && !entry.filename) missing(release, name, type, config, 'filename: app.sqlite');
    // The embedded default: a SQLite datasource needs no configuration at all.
    const filename = resolve(options.cwd ?? process.cwd(), entry?.filename ?? `.upgradekit/${name}.sqlite`);
    mkdirSync(dirname(filename), { recursive: true });
    return {
      name,
      kind: 'knex',
      config: { client: 'better-sqlite3', connection: { filename }, useNullAsDefault: true },
    };
  }
  if (type === 'clickhouse') {
    if (!entry?.url) missing(release, name, type, config, 'url: http://host:8123');
    const password = resolveSecret(where, entry, config, options.env);
    return {
      name,
      kind: 'clickhouse',
      config: {
        url: entry.url,
        ...(entry.user ? { username: entry.user } : {}),
        ...(password !== undefined ? { password } : {}),
        ...(entry.database ? { database: entry.database } : {}),
      },
      ...(password ? { secret: password } : {}),
    };
  }
  if (!entry?.database) missing(release, name, type, config, 'host, port, user, database, passwordEnv');
  const password = resolveSecret(where, entry, config, options.env);
  return {
    name,
    kind: 'knex',
    config: {
      client: type === 'postgres' ? 'pg' : 'mysql2',
      connection: {
        host: entry.host ?? '127.0.0.1',
        port: entry.port ?? DEFAULT_PORTS[type],
        user: entry.user ?? (type === 'postgres' ? 'postgres' : 'root'),
        database: entry.database,
        ...(password !== undefined ? { password } : {}),
      },
      pool: { min: 0, max: 4 },
    },
    ...(password ? { secret: password } : {}),
  };
}

/**
 * Opens one connection per datasource the release declares, from the site configuration. Every
 * datasource is checked (configured, right shape, its secret readable) before any is opened; each
 * password is registered with the event bus so it is masked wherever it might appear.
 *
 * @example
 * const { connections, close } = await openDatasources(release, config, { events });
 * addPlanSteps(upgrade, plan, { release, connections, placeholders: config.placeholders });
 */
export async function openDatasources(
  release: Release,
  config: SiteConfig,
  options: OpenDatasourcesOptions = {},
): Promise<Datasources> {
  const planned = Object.entries(release.datasources).map(([name, ds]) =>
    planOne(release, name, ds.type, config.datasources[name], config, options),
  );
  const connections: Record<string, Connection> = {};
  const closers: Array<() => Promise<void>> = [];
  for (const p of planned) {
    if (p.secret) options.events?.addSecret(p.secret);
    if (p.kind === 'knex') {
      // knex prints pool errors with their stacks to the console by default: an operator gets the
      // same error from the failing step, so keep only a debug event.
      const knex = knexFactory({ log: knexLog(options.events), ...p.config });
      connections[p.name] = knex;
      closers.push(() => knex.destroy());
    } else {
      const { createClient } = await importClickHouse(p.name);
      const client = createClient({ ...(p.config as object), log: clickhouseLog(options.events) } as never);
      connections[p.name] = client as unknown as Connection;
      closers.push(() => client.close());
    }
  }
  return {
    connections,
    close: async () => {
      await Promise.allSettled(closers.map((close) => close()));
    },
  };
}

/**
 * One round trip to each datasource the plan's tasks use, before anything runs: a refused password
 * or a missing database is reported once, naming the datasource and where it is configured, and
 * not as a driver error from the middle of the assessment. An environment failure (exit 1).
 */
export async function checkConnections(
  release: Release,
  config: SiteConfig,
  connections: Readonly<Record<string, Connection>>,
  names: Iterable<string>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<void> {
  for (const name of new Set(names)) {
    const connection = connections[name];
    const type = release.datasources[name]?.type;
    if (!connection || type === 'sqlite') continue;
    try {
      await poolQuery(connection, 'SELECT 1');
    } catch (error) {
      const e = error as { code?: unknown; message?: string };
      const code = typeof e.code === 'string' ? `${e.code}: ` : '';
      const entry = config.datasources[name];
      // The usual cause in CI: a secret that is not defined expands to an empty variable.
      const empty =
        entry?.passwordEnv && env[entry.passwordEnv] === ''
          ? ` — the environment variable ${entry.passwordEnv} (passwordEnv) is empty; in CI an undefined secret expands to nothing`
          : '';
      throw new UpgradeKitError(
        ErrorCodes.CONNECTION,
        `datasource "${name}" (${type}, ${describeEndpoint(type, config.datasources[name])}) cannot be used: ${code}${String(e.message ?? error).split('\n')[0]}${empty} — check ${config.at(`datasources.${name}`)}, its password and that the server is up`,
        { cause: error, context: { datasource: name, type } },
      );
    }
  }
}

/** `user@host:port/database` or the ClickHouse URL without credentials: never a password. */
function describeEndpoint(type: string | undefined, entry: DatasourceConfig | undefined): string {
  if (type === 'clickhouse') {
    try {
      const url = new URL(entry?.url ?? '');
      return `${url.origin}${entry?.database ? `, database ${entry.database}` : ''}`;
    } catch {
      return 'no url';
    }
  }
  const port = entry?.port ?? DEFAULT_PORTS[type === 'postgres' ? 'postgres' : 'mysql'];
  return `${entry?.user ?? (type === 'postgres' ? 'postgres' : 'root')}@${entry?.host ?? '127.0.0.1'}:${port}/${entry?.database ?? ''}`;
}

function knexLog(events: EventBus | undefined) {
  const debug = (message: unknown) =>
    events?.emit({ type: 'log', level: 'debug', message: `knex: ${String(message).split('\n')[0]}` });
  return { warn: debug, error: debug, deprecate: debug, debug: () => {} };
}

/**
 * The ClickHouse client's own logger prints a failed query's error and stack to the console before
 * our error says what failed: its messages go to debug events instead (`--verbose`), as knex's do.
 */
function clickhouseLog(events: EventBus | undefined) {
  const debug = (params: { module?: string; message: string; err?: Error }) =>
    events?.emit({
      type: 'log',
      level: 'debug',
      message: `clickhouse ${params.module ?? ''}: ${params.message}${params.err ? ` (${params.err.message.split('\n')[0]})` : ''}`,
    });
  class ToEvents {
    trace() {}
    debug() {}
    info() {}
    warn = debug;
    error = debug;
  }
  return { LoggerClass: ToEvents };
}

async function importClickHouse(name: string): Promise<typeof import('@clickhouse/client')> {
  try {
    return await import('@clickhouse/client');
  } catch {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `datasource "${name}" is ClickHouse, but @clickhouse/client is not installed: npm install @clickhouse/client`,
      { context: { datasource: name } },
    );
  }
}

/** Where the state store lives, from the site configuration; secrets registered with the bus. */
/**
 * Where the state (runs, steps, progress) of this configuration lives, in words an operator can
 * check: `SQLite file /srv/ci/.upgradekit/state.sqlite` or `postgres database upgrades on
 * db1:5432`. Its default is relative to the working directory, so a run from elsewhere starts over:
 * every `run` and `status` says where it looked.
 */
export function describeStateLocation(config: SiteConfig, options: { readonly cwd?: string } = {}): string {
  const state = config.state;
  const cwd = options.cwd ?? process.cwd();
  if (!state || state.filename !== undefined || !state.client)
    return `SQLite file ${resolve(cwd, state?.filename ?? '.upgradekit/state.sqlite')}`;
  return `${state.client} database ${state.database} on ${state.host ?? '127.0.0.1'}:${state.port ?? DEFAULT_PORTS[state.client]}`;
}

export function stateOptions(config: SiteConfig, options: OpenDatasourcesOptions = {}): StateOptions {
  const state = config.state;
  const cwd = options.cwd ?? process.cwd();
  if (!state) return { filename: resolve(cwd, '.upgradekit/state.sqlite') };
  if (state.filename !== undefined || !state.client) {
    return { filename: resolve(cwd, state.filename ?? '.upgradekit/state.sqlite') };
  }
  const password = resolveSecret('state', state, config, options.env);
  if (password) options.events?.addSecret(password);
  return {
    config: {
      client: state.client === 'postgres' ? 'pg' : 'mysql2',
      connection: {
        host: state.host ?? '127.0.0.1',
        port: state.port ?? DEFAULT_PORTS[state.client],
        user: state.user ?? (state.client === 'postgres' ? 'postgres' : 'root'),
        database: state.database,
        ...(password !== undefined ? { password } : {}),
      },
      pool: { min: 0, max: 4 },
    },
  };
}
