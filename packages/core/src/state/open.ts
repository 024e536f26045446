import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { MIGRATIONS_TABLE, migrationSource } from './schema.js';

export type Dialect = 'sqlite' | 'mysql' | 'postgres';

/** Where state lives: an embedded SQLite file (the default), a knex config, or a knex instance you own. */
export type StateOptions =
  | { readonly filename: string }
  | { readonly config: Knex.Config }
  | { readonly knex: Knex };

export function dialectOf(knex: Knex): Dialect {
  const client = String(knex.client.config.client ?? knex.client.dialect ?? '');
  if (/sqlite/.test(client)) return 'sqlite';
  if (/mysql|maria/.test(client)) return 'mysql';
  if (/pg|postgres/.test(client)) return 'postgres';
  throw new UpgradeKitError(
    ErrorCodes.BAD_INPUT,
    `state: unsupported database client "${client}"; use SQLite (better-sqlite3), MySQL/MariaDB (mysql2) or PostgreSQL (pg)`,
  );
}

/**
 * One knex — one connection — per SQLite file per process, shared by every store opened on it.
 * better-sqlite3 waits out a busy database synchronously, blocking the event loop: with two
 * connections to one file in one process, a write waiting for `busy_timeout` keeps the other
 * connection's transaction, which it waits for, from ever finishing, and fails after 10 s. Through
 * one connection the stores' writes queue in the pool instead.
 */
const sqliteFiles = new Map<string, { knex: Knex; stores: number }>();

/** knex logs warnings to stdout by itself; core never writes to stdout (DESIGN §2). */
const quietLog = { warn() {}, error() {}, deprecate() {}, debug() {} };

function openSqlite(filename: string): Knex {
  mkdirSync(dirname(filename), { recursive: true });
  return knexFactory({
    log: quietLog,
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      // WAL survives a killed process with every committed transaction; NORMAL sync is
      // durable against process crashes (not power loss), at a fraction of FULL's cost.
      afterCreate: (
        conn: { pragma(s: string): unknown },
        done: (err: Error | null, conn: unknown) => void,
      ) => {
        conn.pragma('journal_mode = WAL');
        conn.pragma('synchronous = NORMAL');
        conn.pragma('busy_timeout = 10000');
        done(null, conn);
      },
    },
  });
}

/** The store's knex, and how to let go of it: only what the store opened itself is destroyed. */
export function openKnex(options: StateOptions): { knex: Knex; release: () => Promise<void> } {
  if ('knex' in options) return { knex: options.knex, release: async () => {} };
  if ('config' in options) {
    const knex = knexFactory({ log: quietLog, ...options.config });
    return { knex, release: () => knex.destroy() };
  }
  if (typeof options.filename !== 'string' || options.filename === '') {
    throw new UpgradeKitError(ErrorCodes.BAD_INPUT, 'state: `filename` must be a non-empty path');
  }
  const filename = resolve(options.filename);
  const shared = sqliteFiles.get(filename) ?? { knex: openSqlite(filename), stores: 0 };
  sqliteFiles.set(filename, shared);
  shared.stores++;
  return {
    knex: shared.knex,
    release: async () => {
      if (--shared.stores > 0) return;
      sqliteFiles.delete(filename);
      await shared.knex.destroy();
    },
  };
}

/** Creates the state schema, or migrates it forward, once whatever the number of runners opening it. */
export async function migrateState(knex: Knex): Promise<void> {
  const config = { migrationSource, tableName: MIGRATIONS_TABLE };
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureMigrationLockRow(knex);
      // Up to date (the usual case): no need for knex's migration lock at all.
      const [, pending] = (await knex.migrate.list(config).catch(() => [[], [1]])) as [unknown[], unknown[]];
      if (pending.length === 0) return;
      await knex.migrate.latest(config);
      return;
    } catch (error) {
      // Two runners opening a fresh database at once: one migrates, the other waits for it.
      const locked = /migration table is already locked/i.test(String(error));
      if (attempt < 50 && (locked || /already exists|UNIQUE|Duplicate/i.test(String(error)))) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      // The state schema migrates in well under a second: a lock held for 5 s belongs to a
      // runner killed mid-migration. Free it once and try again.
      if (attempt === 50 && locked) {
        await knex.migrate.forceFreeMigrationsLock(config).catch(() => {});
        continue;
      }
      throw new UpgradeKitError(
        ErrorCodes.CONNECTION,
        `state: cannot prepare the state database: ${String(error)}`,
        {
          cause: error,
        },
      );
    }
  }
}

/**
 * knex adds the one row of its migration lock table by check-then-insert, so runners opening a
 * fresh database at once can each add one; with two rows its `UPDATE … WHERE is_locked = 0` never
 * touches exactly one, and every open fails with "Migration table is already locked" for good.
 * Create that table and its row ourselves, under a fixed key, before knex looks.
 */
async function ensureMigrationLockRow(knex: Knex): Promise<void> {
  const table = `${MIGRATIONS_TABLE}_lock`;
  if (!(await knex.schema.hasTable(table))) {
    await knex.schema.createTable(table, (t) => {
      t.increments('index').primary();
      t.integer('is_locked');
    });
  }
  await knex(table).insert({ index: 1, is_locked: 0 }).onConflict('index').ignore();
}
