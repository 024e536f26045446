import { resolve } from 'node:path';
import { connectionSpec, resolveSecret, type SiteConfig } from '../config/index.js';
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
