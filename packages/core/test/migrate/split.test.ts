import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { applyPlaceholders, commitsImplicitly, isUpgradeKitError, splitStatements } from '@upgradekit/core';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, requireService, type TestDatabase } from '../../../../test/support/index.js';

const exec = promisify(execFile);
const routines = readFileSync(new URL('./fixtures/routines.mariadb.sql', import.meta.url), 'utf8');
const hasMariaDB = await requireService('mariadb');
const hasPostgres = await requireService('postgres');

describe('splitStatements', () => {
  it('keeps strings, comments, DELIMITER blocks and dollar quotes whole, and says where each statement starts', () => {
    const statements = splitStatements(routines, 'mysql');
    expect(statements.map((s) => s.sql.split(/\s+/).slice(0, 3).join(' '))).toEqual([
      'CREATE TABLE orders',
      'CREATE TABLE audit',
      'CREATE PROCEDURE add_order(IN',
      'CREATE FUNCTION order_count()',
      'CREATE TRIGGER orders_note',
      'CALL add_order(12.50)',
      'CALL add_order(7.25)',
    ]);
    expect(statements.map((s) => s.line)).toEqual([2, 7, 10, 16, 28, 33, 34]);
    expect(statements[2]!.sql).toMatch(/CONCAT\('added; ', amount\)\);\nEND$/);
    const pgStatements = splitStatements(
      `CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;\nSELECT 'a;b'; SELECT $$x;y$$;`,
      'postgres',
    );
    expect(pgStatements.map((s) => s.sql)).toEqual([
      'CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql',
      "SELECT 'a;b'",
      'SELECT $$x;y$$',
    ]);
    expect(splitStatements('-- only a comment;\n/* and; this */', 'sqlite')).toEqual([]);
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: ${name} placeholders are the subject here
  it('fills ${placeholders} from configuration only, and names the file and line of unknown ones', () => {
    const statements = splitStatements(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: ${name} placeholders are the subject here
      'CREATE TABLE ${schema}.t (id INT);\nSELECT 1;\nSELECT\n  ${missing}, ${also};',
      'mysql',
    );
    expect(applyPlaceholders(statements.slice(0, 2), { schema: 'app' }, 'a.sql')[0]!.sql).toBe(
      'CREATE TABLE app.t (id INT)',
    );
    let error: unknown;
    try {
      applyPlaceholders(statements, { schema: 'app' }, 'versions/2.16.7/sql/a.sql');
    } catch (e) {
      error = e;
    }
    expect(isUpgradeKitError(error, 'UPGRADEKIT_BAD_INPUT')).toBe(true);
    expect((error as Error).message).toMatch(
      /versions\/2.16.7\/sql\/a.sql:4 \$\{missing\}\n {2}versions\/2.16.7\/sql\/a.sql:4 \$\{also\}/,
    );
  });

  it('knows which MySQL statements commit implicitly', () => {
    expect(commitsImplicitly('ALTER TABLE t ADD c INT')).toBe(true);
    expect(commitsImplicitly('-- x\n  create index i on t (c)')).toBe(true);
    expect(commitsImplicitly('UPDATE t SET c = 1')).toBe(false);
    expect(commitsImplicitly("INSERT INTO t VALUES ('CREATE')")).toBe(false);
  });
});

describe.runIf(hasMariaDB)('against the mariadb command-line client', () => {
  let viaClient: TestDatabase;
  let viaSplitter: TestDatabase;
  beforeAll(async () => {
    [viaClient, viaSplitter] = await Promise.all([
      createTestDatabase('mariadb', 'uk_cli'),
      createTestDatabase('mariadb', 'uk_split'),
    ]);
  });
  afterAll(() => Promise.all([viaClient?.drop(), viaSplitter?.drop()]));

  async function objects(db: TestDatabase) {
    const connection = await mysql.createConnection(db.connection);
    const [routinesRows] = await connection.query(
      'SELECT ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY 1',
      [db.name],
    );
    const [triggers] = await connection.query(
      'SELECT TRIGGER_NAME, ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY 1',
      [db.name],
    );
    const [columns] = await connection.query(
      'SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY 1, ORDINAL_POSITION',
      [db.name],
    );
    const [data] = await connection.query('SELECT id, note, total FROM orders ORDER BY id');
    const [audit] = await connection.query('SELECT msg FROM audit ORDER BY id');
    const [count] = await connection.query('SELECT order_count() AS n');
    await connection.end();
    return { routines: routinesRows, triggers, columns, data, audit, count };
  }

  it('a file with several DELIMITER changes produces the same objects and data as `mariadb < file`', async () => {
    const { host, port, user, database } = viaClient.connection;
    await exec('sh', [
      '-c',
      'exec mariadb -h "$1" -P "$2" -u "$3" "$4" < "$5"',
      'sh',
      host,
      String(port),
      user,
      database,
      new URL('./fixtures/routines.mariadb.sql', import.meta.url).pathname,
    ]);
    const connection = await mysql.createConnection(viaSplitter.connection);
    for (const statement of splitStatements(routines, 'mysql')) await connection.query(statement.sql);
    await connection.end();
    const [expected, actual] = await Promise.all([objects(viaClient), objects(viaSplitter)]);
    expect(actual).toEqual(expected);
    expect((expected.routines as unknown[]).length).toBe(2);
    expect((expected.triggers as unknown[]).length).toBe(1);
    expect(expected.audit).toEqual([{ msg: 'added; 12.50' }, { msg: 'added; 7.25' }]);
  });
});

describe.runIf(hasPostgres)('on PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('postgres', 'uk_split');
  });
  afterAll(() => db?.drop());

  it('dollar-quoted function bodies arrive intact', async () => {
    const client = new pg.Client(db.connection);
    await client.connect();
    const sql = `CREATE TABLE t (s text DEFAULT 'x;y');
CREATE FUNCTION greet(name text) RETURNS text AS $fn$
BEGIN
  RETURN 'hello; ' || name || $$;$$;
END;
$fn$ LANGUAGE plpgsql;
INSERT INTO t VALUES (greet('ops'));`;
    for (const statement of splitStatements(sql, 'postgres')) await client.query(statement.sql);
    const { rows } = await client.query('SELECT s FROM t');
    await client.end();
    expect(rows).toEqual([{ s: 'hello; ops;' }]);
  });
});
