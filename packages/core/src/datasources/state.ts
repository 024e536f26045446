import { resolve } from 'node:path';
import knexFactory from 'knex';
import type { SiteConfig } from '../config/index.js';
import { connectionSpec, resolveSecret } from '../config/internal.js';
import { ErrorCodes, isUpgradeKitError, UpgradeKitError } from '../errors/index.js';
import type { EventBus } from '../events/index.js';
import { type StateOptions, StateStore } from '../state/index.js';
import { refusal } from './check.js';

export interface StateStoreOptions {
  /** Its password is registered on it as a secret. */
  readonly events?: EventBus;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default `process.cwd()`: where the default SQLite file goes (`.upgradekit/state.sqlite`). */
  readonly cwd?: string;
}

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
  const { host, port } = connectionSpec(state.client, state);
  return `${state.client} database ${state.database} on ${host}:${port}`;
}

/** Where the state store lives, from the site configuration; secrets registered with the bus. */
export function stateOptions(config: SiteConfig, options: StateStoreOptions = {}): StateOptions {
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
        ...connectionSpec(state.client, state),
        database: state.database,
        ...(password !== undefined ? { password } : {}),
      },
      pool: { min: 0, max: 4 },
    },
  };
}

/**
 * Opens the state store of the configuration. A state database that cannot be used — a refused
 * password, a database that does not exist — is reported as a datasource is: the server's own
 * words and the line of the configuration that names it (`check site.yaml:4 state`).
 *
 * @example
 * const store = await openStateStore(config, { events });
 * try { console.log(await store.runs('orders', siteIdOf(config), 1)); } finally { await store.close(); }
 */
export async function openStateStore(
  config: SiteConfig,
  options: StateStoreOptions = {},
): Promise<StateStore> {
  const state = stateOptions(config, options);
  try {
    return await StateStore.open(state);
  } catch (error) {
    throw unusable(config, error, options.env ?? process.env);
  }
}

/**
 * One round trip to the state database of the configuration, before anything runs (a SQLite file
 * is not checked: nothing refuses it a login). An environment failure (exit 1).
 */
export async function checkState(config: SiteConfig, options: StateStoreOptions = {}): Promise<void> {
  if (!config.state?.client) return;
  const state = stateOptions(config, options);
  if (!('config' in state)) return;
  // A login and a query, nothing written: opening the store would create its tables, and bad
  // input found after this check must leave the state database as it was.
  const knex = knexFactory({ ...state.config, pool: { min: 0, max: 1 } });
  try {
    await knex.raw('select 1');
  } catch (error) {
    throw unusable(
      config,
      new UpgradeKitError(ErrorCodes.CONNECTION, `state: ${String(error)}`, { cause: error }),
      options.env ?? process.env,
    );
  } finally {
    await knex.destroy();
  }
}

/** The state store's connection failure, said with the configuration line of `state`. */
function unusable(
  config: SiteConfig,
  error: unknown,
  env: Readonly<Record<string, string | undefined>>,
): unknown {
  if (!config.state?.client || !isUpgradeKitError(error, ErrorCodes.CONNECTION)) return error;
  const cause = error.cause ?? error;
  return new UpgradeKitError(
    ErrorCodes.CONNECTION,
    `state: cannot prepare the state database (${describeStateLocation(config)}): ${refusal(cause, config.state, env)} — check ${config.at('state')}, its password and that the server is up`,
    { cause, context: { client: config.state.client, database: config.state.database } },
  );
}
