// Rollback readiness: a rollback sets the current data aside before it restores the backup (a new
// `<db>_uk001` database on MariaDB, a rename on PostgreSQL). An account allowed only its own
// database fails there, after the services stopped; the assessment says so first, with the grant.
// The oracle is the server: what the check says the account cannot do, it cannot do, and after
// the grant it suggests, it can.
import { randomBytes } from 'node:crypto';
import knex, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireService, suiteDatabase, suiteMariaDbAccount } from '#test-support';
import { asideRefusal } from '../../src/assess/rollback-ready.js';

const hasMariaDB = await requireService('mariadb');
const hasPostgres = await requireService('postgres');
const PASSWORD = `Pw-${randomBytes(6).toString('hex')}`;
const options = { timeoutMs: 10_000 };
const sql = (suggestion: string) => suggestion.replace(/^[^:]*: /, '');

describe.runIf(hasMariaDB)('rollback readiness on MariaDB', () => {
  const user = `uk_rb_${randomBytes(3).toString('hex')}`;
  const db = suiteMariaDbAccount('uk_rbready', user, PASSWORD);
  const open = () => knex({ client: 'mysql2', connection: { ...db.connection, user, password: PASSWORD } });
  const apps: Knex[] = [];
  afterAll(async () => {
    await Promise.all(apps.map((k) => k.destroy()));
    await db.knex.raw(`DROP DATABASE IF EXISTS \`${db.name}_uk001\``);
  });

  it('root may: nothing to say', async () => {
    expect(await asideRefusal(db.knex, 'mysql', options)).toBeUndefined();
  });

  it('an account with ALL on its own database only: names the aside database and the grant that fixes it', async () => {
    const app = open();
    apps.push(app);
    const refusal = await asideRefusal(app, 'mysql', options);
    expect(refusal?.detail).toBe(
      `${user}@% cannot create ${db.name}_uk001, the database a rollback moves the current tables into before it restores the backup`,
    );
    expect(refusal?.suggestion).toBe(
      `Grant it before the upgrade: GRANT ALL ON \`${db.name.replace(/_/g, '\\_')}\\_uk%\`.* TO '${user}'@'%';`,
    );
    // The server agrees: the account cannot.
    await expect(app.raw(`CREATE DATABASE \`${db.name}_uk001\``)).rejects.toThrow(/denied/i);

    await db.knex.raw(sql(refusal!.suggestion));
    const granted = open();
    apps.push(granted);
    expect(await asideRefusal(granted, 'mysql', options)).toBeUndefined();
    // And now it can: what a rollback does first.
    await granted.raw(`CREATE DATABASE \`${db.name}_uk001\``);
    await granted.raw(`CREATE TABLE \`${db.name}_uk001\`.t (id INT)`);
  });
});

describe.runIf(hasPostgres)('rollback readiness on PostgreSQL', () => {
  const db = suiteDatabase('postgres', 'uk_rbready');
  const role = `uk_rb_${randomBytes(3).toString('hex')}`;
  let app: Knex | undefined;
  beforeAll(async () => {
    await db.knex.raw(`CREATE ROLE ${role} LOGIN PASSWORD '${PASSWORD}'`);
  });
  afterAll(async () => {
    await app?.destroy();
    await db.knex.raw(`ALTER DATABASE "${db.name}" OWNER TO CURRENT_USER`);
    await db.knex.raw(`DROP ROLE IF EXISTS ${role}`);
  });

  it('the superuser may: nothing to say', async () => {
    expect(await asideRefusal(db.knex, 'postgres', options)).toBeUndefined();
  });

  it('a role that neither owns the database nor has CREATEDB: both fixes, and then it may', async () => {
    app = knex({ client: 'pg', connection: { ...db.connection, user: role, password: PASSWORD } });
    const refusal = await asideRefusal(app, 'postgres', options);
    expect(refusal?.detail).toBe(
      `${role} does not own the database and lacks CREATEDB: a rollback renames the database to set the current data aside before it restores the backup`,
    );
    expect(refusal?.suggestion).toBe(
      `Before the upgrade, as a superuser: ALTER DATABASE "${db.name}" OWNER TO "${role}"; ALTER ROLE "${role}" CREATEDB;`,
    );
    for (const statement of sql(refusal!.suggestion).split(/;\s*/).filter(Boolean))
      await db.knex.raw(statement);
    expect(await asideRefusal(app, 'postgres', options)).toBeUndefined();
  });
});
