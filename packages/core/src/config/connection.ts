import { type Partly, withDefaults } from '../options/index.js';
// Where each engine is reached when the site configuration leaves something out: the one place
// these defaults are written (datasources, the state database and backups all read them here).

/** The database servers a datasource, the state database or a backup can name. */
export type SqlEngine = 'mysql' | 'mariadb' | 'postgres';

/** The host, port and user each engine gets when the configuration does not say. */
export const CONNECTION_DEFAULTS = {
  mysql: { host: '127.0.0.1', port: 3306, user: 'root' },
  mariadb: { host: '127.0.0.1', port: 3306, user: 'root' },
  postgres: { host: '127.0.0.1', port: 5432, user: 'postgres' },
  /** Its HTTP interface; the user is the server's own default unless `user` says. */
  clickhouse: { host: '127.0.0.1', port: 8123 },
} as const;

/** A MariaDB/MySQL/PostgreSQL server as configured, its defaults applied. */
export interface ConnectionSpec {
  readonly host: string;
  readonly port: number;
  readonly user: string;
}

/**
 * The host, port and user of a configured MariaDB/MySQL/PostgreSQL server (a datasource or the
 * state database), each one the configuration leaves out taken from {@link CONNECTION_DEFAULTS}.
 *
 * @example
 * connectionSpec('postgres', { host: 'db1' }); // { host: 'db1', port: 5432, user: 'postgres' }
 */
export function connectionSpec(engine: SqlEngine, entry: Partly<ConnectionSpec> = {}): ConnectionSpec {
  return withDefaults<ConnectionSpec>(CONNECTION_DEFAULTS[engine], entry);
}
