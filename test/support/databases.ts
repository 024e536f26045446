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

/**
 * A fresh, empty database on the real MariaDB or PostgreSQL server, so test files running in
 * parallel never share tables. Drop it in `afterAll`.
 *
 * @example
 * const db = await createTestDatabase('mariadb');
 * afterAll(() => db.drop());
 */
export async function createTestDatabase(kind: 'mariadb' | 'postgres', prefix = 'uk'): Promise<TestDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  if (kind === 'mariadb') {
    const admin = await mysql.createConnection({ ...settings.mariadb, database: undefined });
    await admin.query(`CREATE DATABASE \`${name}\``);
    await admin.end();
    const connection = { ...settings.mariadb, database: name };
    return {
      name,
      connection,
      config: { client: 'mysql2', connection, pool: { min: 0, max: 4 } },
      drop: async () => {
        const c = await mysql.createConnection({ ...settings.mariadb, database: undefined });
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
        await c.end();
      },
    };
  }
  const admin = new pg.Client({ ...settings.postgres, database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const connection = { ...settings.postgres, database: name };
  return {
    name,
    connection,
    config: { client: 'pg', connection, pool: { min: 0, max: 4 } },
    drop: async () => {
      const c = new pg.Client({ ...settings.postgres, database: 'postgres' });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
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
