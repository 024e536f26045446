import type { DatasourceConfig, SiteConfig } from '../config/index.js';
import { connectionSpec } from '../config/internal.js';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { Connection } from '../migrate/index.js';
import { poolQuery } from '../migrate/internal.js';
import type { Release } from '../release/index.js';

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
      throw new UpgradeKitError(
        ErrorCodes.CONNECTION,
        `datasource "${name}" (${type}, ${describeEndpoint(type, config.datasources[name])}) cannot be used: ${refusal(error, config.datasources[name], env)} — check ${config.at(`datasources.${name}`)}, its password and that the server is up`,
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
  const { host, port, user } = connectionSpec(type === 'postgres' ? 'postgres' : 'mysql', entry);
  return `${user}@${host}:${port}/${entry?.database ?? ''}`;
}

/**
 * What a server said when it refused a connection, in one line: the driver's code and message
 * (`ER_ACCESS_DENIED_ERROR: Access denied for user …`), and when the password came from an empty
 * variable, that — the usual cause in CI, where a secret that is not defined expands to nothing.
 */
export function refusal(
  error: unknown,
  ref: { readonly passwordEnv?: string | undefined } | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const e = error as { code?: unknown; message?: string };
  const code = typeof e.code === 'string' ? `${e.code}: ` : '';
  const empty =
    ref?.passwordEnv && env[ref.passwordEnv] === ''
      ? ` — the environment variable ${ref.passwordEnv} (passwordEnv) is empty; in CI an undefined secret expands to nothing`
      : '';
  return `${code}${String(e.message ?? error).split('\n')[0]}${empty}`;
}
