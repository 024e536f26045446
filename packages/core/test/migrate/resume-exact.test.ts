/**
 * Issue 15: after any failure and fix, the end state equals one clean run, and nothing is recorded
 * as done that was not committed. Each `it` is one numbered case of the issue, on the real servers.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import type { Connection, StateOptions } from '@upgradekit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { requireService, settings, suiteDatabase, withStore } from '#test-support';
import { prepareRelease, runOnce, writeRelease } from './support.js';

const [hasMariaDB, hasPostgres, hasClickHouse] = await Promise.all([
  requireService('mariadb'),
  requireService('postgres'),
  requireService('clickhouse'),
]);

/** A release with one task `t` running `t.sql`; returns the directory and a way to rewrite the file. */
let tasks = 0;
function oneTask(type: string, sql: string) {
  // A task id of its own: the target keeps progress per (component, version, task).
  const id = `t${++tasks}`;
  const kind = type === 'clickhouse' ? 'clickhouse' : 'sql';
  const dir = writeRelease(
    mkdtempSync(join(tmpdir(), 'uk-resume-')),
    type,
    { 'versions/1.1.0/t.sql': sql },
    `tasks:\n  - { id: ${id}, kind: ${kind}, stage: in_stop, file: t.sql }\n`,
  );
  const state: StateOptions = { filename: join(dir, 'state.sqlite') };
  return {
    id,
    dir,
    state,
    edit: (next: string) => writeFileSync(join(dir, 'versions/1.1.0/t.sql'), next),
  };
}

function stepRecord(state: StateOptions) {
  return withStore(state, async (store) => (await store.loadSteps('orders', 's1')).values().next().value);
}

describe.runIf(hasMariaDB)('MariaDB: exact after a failure and a fix', () => {
  const db = suiteDatabase('mariadb', 'uk_resume');
  const { knex } = db;

  const rows = async (sql: string) => ((await knex.raw(sql)) as [Record<string, unknown>[]])[0];

  it('1. a resumed task gets its session back by value: FOREIGN_KEY_CHECKS, @OLD_SQL_MODE, sql_mode of routines', async () => {
    const file = (typo: string) =>
      [
        'SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0',
        "SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO'",
        'CREATE TABLE s_child (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES s_parent (id))',
        typo,
        'CREATE TABLE s_parent (id INT PRIMARY KEY)',
        'CREATE PROCEDURE s_mode() SELECT 1',
        'SET SQL_MODE=@OLD_SQL_MODE',
        'SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS',
        '',
      ].join(';\n');
    const t = oneTask('mariadb', file('SELEC 1'));
    expect((await runOnce(t.dir, knex, t.state)).status).toBe('failed');
    t.edit(file('SELECT 1'));
    const resumed = await runOnce(t.dir, knex, t.state);
    expect(resumed.status, resumed.steps[0]?.error?.message).toBe('succeeded');
    const [routine] = await rows(
      `SELECT SQL_MODE AS m FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '${db.name}' AND ROUTINE_NAME = 's_mode'`,
    );
    expect(routine?.m).toBe('NO_AUTO_VALUE_ON_ZERO');
  });

  it('2. SET AUTOCOMMIT=0: a failure before COMMIT leaves nothing recorded; after the fix the rows are there', async () => {
    const file = (typo: string) =>
      `CREATE TABLE m2 (x INT);\nCREATE TABLE n2 (x INT);\nSET AUTOCOMMIT=0;\nINSERT INTO n2 VALUES (1),(2);\n${typo};\nCOMMIT;\n`;
    const t = oneTask('mariadb', file('SELEC 1'));
    expect((await runOnce(t.dir, knex, t.state)).status).toBe('failed');
    expect(await rows('SELECT x FROM n2')).toEqual([]);
    t.edit(file('SELECT 1'));
    expect((await runOnce(t.dir, knex, t.state)).status).toBe('succeeded');
    expect((await rows('SELECT x FROM n2 ORDER BY x')).map((r) => r.x)).toEqual([1, 2]);
  });

  it('3. a file with its own COMMIT is not wrapped: after the fix each row is there once', async () => {
    const file = (typo: string) =>
      `CREATE TABLE c3 (x INT);\nINSERT INTO c3 VALUES (1);\nCOMMIT;\nINSERT INTO c3 VALUES (2);\n${typo};\n`;
    const t = oneTask('mariadb', file('SELEC 1'));
    expect((await runOnce(t.dir, knex, t.state)).status).toBe('failed');
    t.edit(file('SELECT 1'));
    expect((await runOnce(t.dir, knex, t.state)).status).toBe('succeeded');
    expect((await rows('SELECT x FROM c3 ORDER BY x')).map((r) => r.x)).toEqual([1, 2]);
  });

  it('3c. a typo that made a file of INSERTs run statement by statement: after the fix it resumes past what it committed, not in one transaction from the start (Zabbix images.sql, found by the soak)', async () => {
    await knex.raw('CREATE TABLE i3 (x INT PRIMARY KEY)');
    const file = (typo: string) =>
      `INSERT INTO i3 VALUES (1);\nINSERT INTO i3 VALUES (2);\n${typo};\nINSERT INTO i3 VALUES (3);\n`;
    const t = oneTask('mariadb', file('INSRT INTO i3 VALUES (9)'));
    expect((await runOnce(t.dir, knex, t.state)).status).toBe('failed');
    expect((await rows('SELECT x FROM i3 ORDER BY x')).map((r) => r.x)).toEqual([1, 2]); // committed one by one
    t.edit(file('SELECT 1'));
    // Alone, the fixed file would run in one transaction; its first two rows are already there.
    const upgrade = await prepareRelease(t.dir, knex, t.state);
    const [entry] = await upgrade.dryRun();
    await upgrade.close();
    expect(entry?.summary).toMatch(/in one transaction/);
    const resumed = await runOnce(t.dir, knex, t.state);
    expect(resumed.status, resumed.steps[0]?.error?.message).toBe('succeeded');
    expect((await rows('SELECT x FROM i3 ORDER BY x')).map((r) => r.x)).toEqual([1, 2, 3]);
  });

  it('3b. /*!50001 CREATE VIEW */ is DDL: the task runs statement by statement and resumes after it', async () => {
    const file = (typo: string) =>
      `CREATE TABLE v3 (x INT);\n/*!50001 CREATE VIEW v3v AS SELECT x FROM v3 */;\nINSERT INTO v3 VALUES (1);\n${typo};\n`;
    const t = oneTask('mariadb', file('SELEC 1'));
    const upgrade = await prepareRelease(t.dir, knex, t.state);
    const [entry] = await upgrade.dryRun();
    await upgrade.close();
    expect(entry?.summary).toMatch(/committed one by one/);
    expect((await runOnce(t.dir, knex, t.state)).status).toBe('failed');
    t.edit(file('SELECT 1'));
    expect((await runOnce(t.dir, knex, t.state)).status).toBe('succeeded');
    expect((await rows('SELECT x FROM v3v')).map((r) => r.x)).toEqual([1]);
  });

  it('4. a file edited before the point where it stopped is refused, naming the statement; --restart starts over', async () => {
    const file = (top: string, typo: string) =>
      `${top}CREATE TABLE e4 (x INT);\nINSERT INTO e4 VALUES (1);\n${typo};\nINSERT INTO e4 VALUES (2);\n`;
    const t = oneTask('mariadb', file('', 'SELEC 1'));
    expect((await runOnce(t.dir, knex, t.state)).status).toBe('failed');
    t.edit(file('CREATE TABLE e4_new (x INT);\n', 'SELECT 1'));
    const refused = await runOnce(t.dir, knex, t.state);
    expect(refused.status).toBe('needs-decision');
    expect(refused.steps[0]?.error?.message).toMatch(
      /changed before the point where it stopped \(statement 3\): statement 1 \(versions\/1\.1\.0\/t\.sql:1\) is not what ran\. Nothing was run/,
    );
    expect(await knex.schema.hasTable('e4_new')).toBe(false);
    // The operator cleans up and starts the file again from statement 1.
    await knex.raw('DROP TABLE e4');
    const upgrade = await prepareRelease(t.dir, knex, t.state);
    const decided = await upgrade.resolve(t.id, { kind: 'restart' });
    await upgrade.close();
    expect(JSON.stringify(decided)).toMatch(/statement 1 of 5/);
    expect((await runOnce(t.dir, knex, t.state)).status).toBe('succeeded');
    expect((await rows('SELECT x FROM e4 ORDER BY x')).map((r) => r.x)).toEqual([1, 2]);
  });

  it('5. resolve --applied on a failed statement inside a transaction skips that one statement only', async () => {
    const t = oneTask(
      'mariadb',
      'CREATE TABLE a5 (x INT PRIMARY KEY);\nSET AUTOCOMMIT=0;\nINSERT INTO a5 VALUES (1);\nINSERT INTO a5 VALUES (1);\nINSERT INTO a5 VALUES (3);\nCOMMIT;\n',
    );
    expect((await runOnce(t.dir, knex, t.state)).status).toBe('failed');
    expect(await rows('SELECT x FROM a5')).toEqual([]); // the open transaction rolled back
    const upgrade = await prepareRelease(t.dir, knex, t.state);
    await upgrade.resolve(t.id, 'applied');
    const status = await upgrade.status();
    await upgrade.close();
    expect(JSON.stringify(status)).toMatch(/statement 3 of 6 \(versions\/1\.1\.0\/t\.sql:3\) next/);
    expect((await stepRecord(t.state))?.status).toBe('pending');
    expect((await runOnce(t.dir, knex, t.state)).status).toBe('succeeded');
    expect((await rows('SELECT x FROM a5 ORDER BY x')).map((r) => r.x)).toEqual([1, 3]);
  });

  it('1b. a resume past a temporary table is refused with the reason: a new session cannot have it back', async () => {
    const file = (typo: string) =>
      `CREATE TABLE keep1 (x INT);\nCREATE TEMPORARY TABLE tt (x INT);\nINSERT INTO tt VALUES (1);\n${typo};\nINSERT INTO keep1 SELECT x FROM tt;\n`;
    const t = oneTask('mariadb', file('SELEC 1'));
    expect((await runOnce(t.dir, knex, t.state)).status).toBe('failed');
    t.edit(file('SELECT 1'));
    const refused = await runOnce(t.dir, knex, t.state);
    expect(refused.status).toBe('needs-decision');
    expect(refused.steps[0]?.error?.message).toMatch(
      /cannot resume at statement 4 of 5 .*the temporary table tt \(created at versions\/1\.1\.0\/t\.sql:2\) is gone with the old session/,
    );
    expect(await rows('SELECT x FROM keep1')).toEqual([]);
  });

  it('autocommit set back from a variable (SET autocommit = @old): the server says what is open; a clean run succeeds', async () => {
    const t = oneTask(
      'mariadb',
      'CREATE TABLE d7 (x INT);\nSET @old = @@autocommit;\nSET autocommit = 0;\nINSERT INTO d7 VALUES (1);\nCOMMIT;\nSET autocommit = @old;\nINSERT INTO d7 VALUES (2);\n',
    );
    const result = await runOnce(t.dir, knex, t.state);
    expect(result.status, result.steps[0]?.error?.message).toBe('succeeded');
    expect((await rows('SELECT x FROM d7 ORDER BY x')).map((r) => r.x)).toEqual([1, 2]);
  });

  it('a state-store copy ahead of the target (written, and the commit never came) does not win', async () => {
    const file = (typo: string) =>
      `CREATE TABLE w8 (x INT);\nSET AUTOCOMMIT=0;\nINSERT INTO w8 VALUES (1);\n${typo};\nINSERT INTO w8 VALUES (2);\nCOMMIT;\n`;
    const t = oneTask('mariadb', file('SELEC 1'));
    expect((await runOnce(t.dir, knex, t.state)).status).toBe('failed');
    // What a crash at the COMMIT could leave in the state store: a copy that says the unit is done.
    const key = { component: 'orders', site: 's1', host: '', taskVersion: '1.1.0', taskId: t.id };
    await withStore(t.state, (store) => store.saveProgress(key, JSON.stringify({ next: 6, seq: 999 })));
    t.edit(file('SELECT 1'));
    expect((await runOnce(t.dir, knex, t.state)).status).toBe('succeeded');
    expect((await rows('SELECT x FROM w8 ORDER BY x')).map((r) => r.x)).toEqual([1, 2]);
  });

  it('6. a file that ends with work uncommitted is rolled back, reported, and not recorded as applied', async () => {
    const t = oneTask('mariadb', 'CREATE TABLE u6 (x INT);\nSET AUTOCOMMIT=0;\nINSERT INTO u6 VALUES (1);\n');
    const failed = await runOnce(t.dir, knex, t.state);
    expect(failed.status).toBe('failed');
    expect(failed.steps[0]?.error?.message).toMatch(
      /ends inside a transaction that statement 3 .* opened and nothing commits/,
    );
    expect(await rows('SELECT x FROM u6')).toEqual([]);
    t.edit('CREATE TABLE u6 (x INT);\nSET AUTOCOMMIT=0;\nINSERT INTO u6 VALUES (1);\nCOMMIT;\n');
    expect((await runOnce(t.dir, knex, t.state)).status).toBe('succeeded');
    expect((await rows('SELECT x FROM u6')).map((r) => r.x)).toEqual([1]);
  });
});

describe.runIf(hasPostgres)('PostgreSQL: exact after a failure and a fix', () => {
  const db = suiteDatabase('postgres', 'uk_resume');
  const { knex } = db;

  it('3. COMMIT in the file: a failure after it keeps what it committed, and the re-run is not stuck', async () => {
    const file = (bad: string) => `CREATE TABLE c1 (i int);\nCOMMIT;\nCREATE TABLE c2 (i int);\n${bad};\n`;
    const t = oneTask('postgres', file('SELECT 1/0'));
    expect((await runOnce(t.dir, knex, t.state)).status).toBe('failed');
    t.edit(file('SELECT 1'));
    const resumed = await runOnce(t.dir, knex, t.state);
    expect(resumed.status, resumed.steps[0]?.error?.message).toBe('succeeded');
    expect(await knex.schema.hasTable('c2')).toBe(true);
  });

  it('SET ROLE survives a resume, and the runner still writes its own rows', async () => {
    const role = `uk_role_${Date.now().toString(36)}`;
    await knex.raw(`CREATE ROLE ${role} NOLOGIN`);
    try {
      const file = (bad: string) =>
        `GRANT CREATE, USAGE ON SCHEMA public TO ${role};\nSET ROLE ${role};\nCREATE TABLE by_role1 (i int);\n${bad};\nCREATE TABLE by_role2 (i int);\n`;
      const t = oneTask('postgres', file('SELECT 1/0'));
      expect((await runOnce(t.dir, knex, t.state)).status).toBe('failed');
      t.edit(file('SELECT 1'));
      const resumed = await runOnce(t.dir, knex, t.state);
      expect(resumed.status, resumed.steps[0]?.error?.message).toBe('succeeded');
      const owners = (
        await knex.raw(
          "SELECT tablename AS t, tableowner AS o FROM pg_tables WHERE tablename LIKE 'by_role%' ORDER BY 1",
        )
      ).rows;
      expect(owners).toEqual([
        { t: 'by_role1', o: role },
        { t: 'by_role2', o: role },
      ]);
    } finally {
      await knex.raw('DROP TABLE IF EXISTS by_role1, by_role2');
      await knex.raw(`REVOKE ALL ON SCHEMA public FROM ${role}`);
      await knex.raw(`DROP ROLE ${role}`);
    }
  });

  it("ALTER TYPE … ADD VALUE inside the file's own BEGIN stays in that transaction: a failure rolls it all back, the fix runs the unit again", async () => {
    const file = (bad: string) =>
      `CREATE TYPE mood2 AS ENUM ('sad');\nCREATE TABLE moods2 (m mood2);\nBEGIN;\nALTER TYPE mood2 ADD VALUE 'happy';\nINSERT INTO moods2 VALUES ('sad');\n${bad};\nCOMMIT;\nINSERT INTO moods2 VALUES ('happy');\n`;
    const t = oneTask('postgres', file('SELECT 1/0'));
    const failed = await runOnce(t.dir, knex, t.state);
    expect(failed.status).toBe('failed');
    // psql would have rolled back the whole block: no new value, no row.
    const labels = async () =>
      (
        await knex.raw(
          "SELECT enumlabel AS l FROM pg_enum WHERE enumtypid = 'mood2'::regtype ORDER BY enumsortorder",
        )
      ).rows.map((r: { l: string }) => r.l);
    expect(await labels()).toEqual(['sad']);
    t.edit(file('SELECT 1'));
    const resumed = await runOnce(t.dir, knex, t.state);
    expect(resumed.status, resumed.steps[0]?.error?.message).toBe('succeeded');
    expect(await labels()).toEqual(['sad', 'happy']);
    expect((await knex.raw('SELECT m::text AS m FROM moods2 ORDER BY 1')).rows).toEqual([
      { m: 'happy' },
      { m: 'sad' },
    ]);
  });

  it('1. SET search_path survives a resume', async () => {
    const file = (bad: string) =>
      `CREATE SCHEMA r1;\nSET search_path TO r1;\nBEGIN;\nCREATE TABLE a (i int);\nCOMMIT;\n${bad};\nCREATE TABLE b (i int);\n`;
    const t = oneTask('postgres', file('SELECT 1/0'));
    expect((await runOnce(t.dir, knex, t.state)).status).toBe('failed');
    t.edit(file('SELECT 1'));
    expect((await runOnce(t.dir, knex, t.state)).status).toBe('succeeded');
    const rows = (
      await knex.raw(
        "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'r1' ORDER BY 1",
      )
    ).rows;
    expect(rows).toEqual([{ t: 'a' }, { t: 'b' }]);
  });
});

/** What `query` returns on `client`, row by row. */
async function rowsOf<T>(client: ReturnType<typeof createClient>, query: string): Promise<T[]> {
  return (await (await client.query({ query, format: 'JSONEachRow' })).json()) as T[];
}

describe.runIf(hasClickHouse)('ClickHouse: the session comes back on resume', () => {
  const database = `uk_resume_${Date.now().toString(36)}`;
  const admin = createClient(settings.clickhouse);
  afterAll(async () => {
    await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await admin.close();
  });

  it('USE switches the database for the statements after it, also after a resume, as clickhouse-client does', async () => {
    const other = `${database}_use`;
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${other}` });
    // The datasource names no database: the session's USE is what counts.
    const client = createClient(settings.clickhouse);
    const file = (bad: string) =>
      `USE ${other};\nCREATE TABLE u1 (i UInt8) ENGINE = Memory;\n${bad};\nCREATE TABLE u2 (i UInt8) ENGINE = Memory;\n`;
    const t = oneTask('clickhouse', file('SELECT nope_column'));
    try {
      expect((await runOnce(t.dir, client as unknown as Connection, t.state)).status).toBe('failed');
      t.edit(file('SELECT 1'));
      const resumed = await runOnce(t.dir, client as unknown as Connection, t.state);
      expect(resumed.status, resumed.steps[0]?.error?.message).toBe('succeeded');
      const tables = await rowsOf<{ d: string; n: string }>(
        admin,
        `SELECT database AS d, name AS n FROM system.tables WHERE name IN ('u1', 'u2') ORDER BY n`,
      );
      expect(tables).toEqual([
        { d: other, n: 'u1' },
        { d: other, n: 'u2' },
      ]);
    } finally {
      await admin.command({ query: `DROP DATABASE IF EXISTS ${other}` });
      await client.close();
    }
  });

  it('USE of another database is refused before anything runs when the client sends a database of its own', async () => {
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
    const client = createClient({ ...settings.clickhouse, database });
    const t = oneTask(
      'clickhouse',
      'CREATE TABLE before_use (i UInt8) ENGINE = Memory;\nUSE system;\nSELECT 1;\n',
    );
    try {
      const result = await runOnce(t.dir, client as unknown as Connection, t.state);
      expect(result.status).toBe('failed');
      expect(result.steps[0]?.error?.message).toMatch(
        new RegExp(
          `t\\.sql:2: USE system would not take effect: .*database "${database}".*Qualify the tables`,
        ),
      );
      const [row] = await rowsOf<{ c: string }>(
        admin,
        `SELECT count() AS c FROM system.tables WHERE database = '${database}' AND name = 'before_use'`,
      );
      expect(Number(row?.c)).toBe(0);
    } finally {
      await client.close();
    }
  });

  it('a SET holds after a failure and a fix, as in one clickhouse-client session', async () => {
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
    const client = createClient({ ...settings.clickhouse, database });
    const threads = (table: string) =>
      `CREATE TABLE ${table} ENGINE = Memory AS SELECT toUInt64(value) AS v FROM system.settings WHERE name = 'max_threads'`;
    const file = (bad: string) => `SET max_threads = 3;\n${threads('c1')};\n${bad};\n${threads('c2')};\n`;
    const t = oneTask('clickhouse', file('SELECT nope_column'));
    expect((await runOnce(t.dir, client as unknown as Connection, t.state)).status).toBe('failed');
    t.edit(file('SELECT 1'));
    const resumed = await runOnce(t.dir, client as unknown as Connection, t.state);
    expect(resumed.status, resumed.steps[0]?.error?.message).toBe('succeeded');
    for (const table of ['c1', 'c2']) {
      const [row] = await rowsOf<{ v: string }>(client, `SELECT v FROM ${table}`);
      expect(Number(row?.v), table).toBe(3);
    }
    await client.close();
  });
});
