import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { settings } from './services.js';

export interface TestDatabase {
  readonly name: string;
  /** A knex config for this database (client `mysql2` or `pg`). */
  readonly config: Knex.Config;
  /** Plain connection settings, for drivers and child processes. */
  readonly connection: { host: string; port: number; user: string; password: string; database: string };
  drop(): Promise<void>;
}

/** Runs one statement as the server's administrator, outside any test database. */
async function asAdmin(kind: 'mariadb' | 'postgres', sql: string): Promise<void> {
  if (kind === 'mariadb') {
    const admin = await mysql.createConnection({ ...settings.mariadb, database: undefined });
    await admin.query(sql).finally(() => admin.end());
    return;
  }
  const admin = new pg.Client({ ...settings.postgres, database: 'postgres' });
  await admin.connect();
  await admin.query(sql).finally(() => admin.end());
}

/**
 * A database not created yet, with its name and settings already fixed: a knex can be made on it
 * before `create()` runs (knex connects on the first query).
 */
export function plannedDatabase(
  kind: 'mariadb' | 'postgres',
  prefix = 'uk',
): TestDatabase & { create(): Promise<void> } {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const quoted = kind === 'mariadb' ? `\`${name}\`` : `"${name}"`;
  const connection = { ...settings[kind], database: name };
  return {
    name,
    connection,
    config: { client: kind === 'mariadb' ? 'mysql2' : 'pg', connection, pool: { min: 0, max: 4 } },
    create: () => asAdmin(kind, `CREATE DATABASE ${quoted}`),
    drop: () =>
      asAdmin(kind, `DROP DATABASE IF EXISTS ${quoted}${kind === 'postgres' ? ' WITH (FORCE)' : ''}`),
  };
}

/**
 * A fresh, empty database on the real MariaDB or PostgreSQL server, so test files running in
 * parallel never share tables. Drop it in `afterAll` (or ask the `db` fixture, which does).
 *
 * @example
 * const db = await createTestDatabase('mariadb');
 * afterAll(() => db.drop());
 */
export async function createTestDatabase(kind: 'mariadb' | 'postgres', prefix = 'uk'): Promise<TestDatabase> {
  const { create, ...db } = plannedDatabase(kind, prefix);
  await create();
  return db;
}

/**
 * A MariaDB user with a password and every right on `db` only — what a site's application account
 * looks like. `drop()` removes the user, then the database.
 */
export async function createMariaDbUser(
  db: TestDatabase,
  user: string,
  password: string,
): Promise<{ drop(): Promise<void> }> {
  const admin = await mysql.createConnection({ ...settings.mariadb, database: undefined });
  await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', password]);
  await admin.query(`GRANT ALL ON \`${db.name}\`.* TO ?@?`, [user, '%']);
  await admin.end();
  return {
    drop: async () => {
      const c = await mysql.createConnection({ ...settings.mariadb, database: undefined });
      await c.query('DROP USER IF EXISTS ?@?', [user, '%']);
      await c.end();
      await db.drop();
    },
  };
}
