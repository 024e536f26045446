import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import type { DatasourceConfig, SiteConfig } from '../config/index.js';
import { CONNECTION_DEFAULTS, connectionSpec, resolveSecret } from '../config/internal.js';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { EventBus } from '../events/index.js';
import type { Connection } from '../migrate/index.js';
import { anObject, checkArguments } from '../options/index.js';
import type { Release } from '../release/index.js';

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
    if (!entry?.url)
      missing(release, name, type, config, `url: http://host:${CONNECTION_DEFAULTS.clickhouse.port}`);
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
        ...connectionSpec(type, entry),
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
  checkArguments(
    'openDatasources',
    {
      release: anObject('a release (loadRelease)'),
      config: anObject('a site configuration (loadSiteConfig)'),
    },
    { release, config },
  );
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
