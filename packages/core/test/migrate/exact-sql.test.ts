// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${name} placeholders are the subject of case 10
/**
 * Issue 14: SQL runs as the database's own client runs it. Each `describe` is one numbered case of
 * the issue, run on the real servers.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { type Connection, isUpgradeKitError, type StateOptions } from '@upgradekit/core';
import knexFactory from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireService, settings, suiteDatabase, withStore } from '#test-support';
import { prepareRelease, runOnce, writeRelease } from './support.js';

const [hasMariaDB, hasPostgres, hasClickHouse] = await Promise.all([
  requireService('mariadb'),
  requireService('postgres'),
  requireService('clickhouse'),
]);

type Files = Record<string, string>;

function release(type: string, files: Files, tasks: string): string {
  return writeRelease(mkdtempSync(join(tmpdir(), 'uk-exact-')), type, files, tasks);
}

const prepare = prepareRelease;

function run(
  dir: string,
  connection: Connection,
  state: StateOptions = sqliteState(),
  placeholders: Record<string, string> = {},
) {
  return runOnce(dir, connection, state, placeholders);
}

function failedStep(result: { steps: readonly { status: string; error?: Error }[] }): Error | undefined {
  return result.steps.find((s) => s.status === 'failed')?.error;
}

function sqliteState(): StateOptions {
  return { filename: join(mkdtempSync(join(tmpdir(), 'uk-state-')), 'state.sqlite') };
}

const task = (id: string, file: string, extra = '') =>
  `  - { id: ${id}, kind: sql, stage: in_stop, file: ${file}${extra} }\n`;

/**
 * A release of `type` whose 1.1.0 has one sql task per file, in order: `q.sql` is task `q`.
 * `options` adds to the task line of a file (`', transaction: false'`).
 */
function sqlRelease(type: string, files: Files, options: Files = {}): string {
  const tasks = Object.keys(files).map((file) => task(file.replace(/\.sql$/, ''), file, options[file]));
  const versioned = Object.entries(files).map(([file, sql]) => [`versions/1.1.0/${file}`, sql]);
  return release(type, Object.fromEntries(versioned), `tasks:\n${tasks.join('')}`);
}

/** Runs the release once; it must succeed. */
async function succeeds(...args: Parameters<typeof run>) {
  const result = await run(...args);
  expect(result.status, result.error?.message).toBe('succeeded');
  return result;
}

// Text that every binding-rewriting layer mangles: `?`, `\?`, `:name`, `$1` in strings and comments.
const TRICKY = ['Is it safe?', 'why\\?', ':name and $1', '?? :x $2 ?'];

describe.runIf(hasMariaDB)('MariaDB: the client session, byte for byte', () => {
  const db = suiteDatabase('mariadb', 'uk_exact');
  const other = suiteDatabase('mariadb', 'uk_exact_other');
  const { knex } = db;

  it('1. ? :name $1 \\? reach the server unchanged, in strings, comments and routines', async () => {
    const values = TRICKY.map((t) => `('${t.replace(/\\/g, '\\\\')}')`).join(', ');
    const dir = sqlRelease('mariadb', {
      'q.sql': `CREATE TABLE q (s VARCHAR(64)) /* a ? here */;\n-- and :here $1\nINSERT INTO q VALUES ${values};\nCREATE FUNCTION why() RETURNS VARCHAR(8) DETERMINISTIC RETURN 'why?';\n`,
    });
    await succeeds(dir, knex);
    const [rows] = await knex.raw('SELECT s FROM q');
    expect(rows.map((r: { s: string }) => r.s)).toEqual(TRICKY);
    const [[fn]] = await knex.raw('SELECT why() AS w');
    expect(fn.w).toBe('why?');
  });

  it('6. the session is the client’s: no IGNORE_SPACE, utf8mb4 with the server’s collation', async () => {
    const dir = sqlRelease('mariadb', {
      's.sql':
        'CREATE TABLE count (i INT);\nCREATE PROCEDURE p_mode() SELECT 1;\nCREATE VIEW v_mode AS SELECT 1 AS one;\n',
    });
    await succeeds(dir, knex);
    const client = execFileSync(
      'mariadb',
      [
        '--default-character-set=utf8mb4',
        '-h',
        settings.mariadb.host,
        '-P',
        String(settings.mariadb.port),
        '-u',
        settings.mariadb.user,
        '-N',
        '-e',
        'SELECT @@session.sql_mode, @@character_set_client, @@collation_connection',
      ],
      { encoding: 'utf8' },
    )
      .trim()
      .split('\t');
    const [[routine]] = await knex.raw(
      'SELECT SQL_MODE, CHARACTER_SET_CLIENT, COLLATION_CONNECTION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_NAME = ?',
      [db.name, 'p_mode'],
    );
    expect([routine.SQL_MODE, routine.CHARACTER_SET_CLIENT, routine.COLLATION_CONNECTION]).toEqual(client);
    expect(routine.SQL_MODE).not.toMatch(/IGNORE_SPACE/);
    const [[view]] = await knex.raw(
      'SELECT CHARACTER_SET_CLIENT, COLLATION_CONNECTION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
      [db.name, 'v_mode'],
    );
    expect([view.CHARACTER_SET_CLIENT, view.COLLATION_CONNECTION]).toEqual(client.slice(1));
  });

  it('7. what a task sets (USE, sql_mode) does not leak into the next task', async () => {
    const dir = sqlRelease('mariadb', {
      'a.sql': `USE \`${other.name}\`;\nSET sql_mode = 'ANSI_QUOTES';\nCREATE TABLE in_other (i INT);\n`,
      'b.sql': 'CREATE TABLE leak_b (s VARCHAR(8) DEFAULT "x");\nCREATE PROCEDURE leak_p() SELECT 1;\n',
    });
    await succeeds(dir, knex);
    const [tables] = await knex.raw(
      "SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_NAME IN ('in_other', 'leak_b') ORDER BY t",
    );
    expect(tables.map((r: { s: string; t: string }) => [r.s, r.t])).toEqual([
      [other.name, 'in_other'],
      [db.name, 'leak_b'],
    ]);
    const [[p]] = await knex.raw(
      'SELECT SQL_MODE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_NAME = ?',
      [db.name, 'leak_p'],
    );
    expect(p.SQL_MODE).not.toMatch(/ANSI_QUOTES/);
  });

  it('8. `5--3` is arithmetic on MySQL: two statements, as the client runs them', async () => {
    const dir = sqlRelease('mariadb', {
      'dash.sql':
        'CREATE TABLE dash (i INT);\nINSERT INTO dash VALUES (5--3); INSERT INTO dash VALUES (7);\n',
    });
    await succeeds(dir, knex);
    const [rows] = await knex.raw('SELECT i FROM dash ORDER BY i');
    expect(rows.map((r: { i: number }) => r.i)).toEqual([7, 8]);
  });

  it('9. a failure leads with the server’s code and message, then file:line, then ≤ 200 characters', async () => {
    const long = `'${'x'.repeat(300_000)}'`;
    const dir = release(
      'mariadb',
      {
        'versions/1.1.0/fk.sql': `CREATE TABLE parent_fk (id INT PRIMARY KEY);\nCREATE TABLE film_fk (\n  id INT,\n  parent VARCHAR(3),\n  FOREIGN KEY (parent) REFERENCES parent_fk (id)\n);\n`,
        'versions/1.1.0/big.sql': `CREATE TABLE big (s LONGTEXT);\nINSERT INTO nope_big VALUES (${long});\n`,
      },
      `tasks:\n${task('fk', 'fk.sql')}`,
    );
    const state = sqliteState();
    const result = await run(dir, knex, state);
    expect(result.status).toBe('failed');
    const message = failedStep(result)?.message ?? '';
    const [first, second] = message.split('\n');
    expect(first).toMatch(
      /^ER_CANT_CREATE_TABLE \(1005\): Can't create table .*errno: 150 .*Foreign key constraint is incorrectly formed.* — at versions\/1\.1\.0\/fk\.sql:2, statement 2 of 2$/,
    );
    expect(second?.trim()).toMatch(/^CREATE TABLE film_fk \( id INT, parent VARCHAR\(3\)/);
    const [step, attempt] = await withStore(state, async (store) => [
      (await store.loadSteps('orders', 's1')).values().next().value,
      (await store.log({ taskId: 'fk' }))[0],
    ]);
    expect(attempt?.errorDetail).toMatchObject({ line: 2, statement: 2 });
    expect(step?.errorDetail).toMatchObject({
      code: 'UPGRADEKIT_SQL_FAILED',
      server: { code: 'ER_CANT_CREATE_TABLE', errno: 1005 },
      file: 'versions/1.1.0/fk.sql',
      line: 2,
      statement: 2,
      statements: 2,
    });

    const big = sqlRelease('mariadb', {
      'big.sql': `CREATE TABLE big (s LONGTEXT);\nINSERT INTO nope_big VALUES (${long});\n`,
    });
    const error = failedStep(await run(big, knex));
    expect(error?.message.length).toBeLessThan(600);
    expect(error?.message).toMatch(/^ER_NO_SUCH_TABLE \(1146\): Table '.*nope_big' doesn't exist/);
    // The whole statement is kept for --json/--verbose, in the error's context.
    expect(isUpgradeKitError(error) && String(error.context.sql).length).toBeGreaterThan(300_000);
  });

  it('10. a dry run creates nothing; ${x} in a string literal is data unless asked; $${x} is the escape', async () => {
    const dir = sqlRelease(
      'mariadb',
      {
        'p.sql': "CREATE TABLE price (s VARCHAR(32));\nINSERT INTO price VALUES ('${amount} due');\n",
        'p2.sql': "INSERT INTO price VALUES ('${amount} paid'), ('$${amount}');\n-- ${not_in_comments}\n",
      },
      { 'p2.sql': ', placeholdersInStrings: true' },
    );
    await knex.raw('DROP TABLE IF EXISTS upgradekit_applied');
    const upgrade = await prepare(dir, knex, sqliteState(), { amount: '5' });
    const entries = await upgrade.dryRun();
    await upgrade.close();
    expect(entries.map((e) => e.action)).toEqual(['run', 'run']);
    expect(await knex.schema.hasTable('upgradekit_applied')).toBe(false);
    await succeeds(dir, knex, sqliteState(), { amount: '5' });
    const [rows] = await knex.raw('SELECT s FROM price ORDER BY s');
    expect(rows.map((r: { s: string }) => r.s)).toEqual(['${amount}', '${amount} due', '5 paid']);
  });
});

describe.runIf(hasPostgres)('PostgreSQL as psql runs it', () => {
  const db = suiteDatabase('postgres', 'uk_exact');
  const { knex } = db;

  it('1. ? :name $1 \\? are not rewritten: strings, a function returning why?, the jsonb ? operator', async () => {
    const values = TRICKY.map((t) => `('${t}')`).join(', ');
    const dir = sqlRelease('postgres', {
      'q.sql': `CREATE TABLE q (s text); -- a ? here\nINSERT INTO q VALUES ${values};\nCREATE FUNCTION why() RETURNS text LANGUAGE sql AS $$ SELECT 'why?'::text $$;\nCREATE TABLE j AS SELECT ('{"a":1}'::jsonb ? 'a') AS has_a;\n`,
    });
    await succeeds(dir, knex);
    expect((await knex.raw('SELECT s FROM q')).rows.map((r: { s: string }) => r.s)).toEqual(TRICKY);
    expect((await knex.raw('SELECT why() AS w')).rows[0].w).toBe('why?');
    expect((await knex.raw('SELECT has_a FROM j')).rows[0].has_a).toBe(true);
  });

  it('2. a file that empties search_path (every pg_dump does) still records its marker', async () => {
    const dir = sqlRelease('postgres', {
      'sp.sql':
        "SELECT pg_catalog.set_config('search_path', '', false);\nCREATE TABLE public.sp (i int);\nINSERT INTO public.sp VALUES (1);\n",
    });
    // State in the same database: the success row commits with the work, after the file emptied search_path.
    const state = { knex };
    await succeeds(dir, knex, state);
    expect(
      (await knex.raw("SELECT count(*)::int AS n FROM public.upgradekit_applied WHERE task_id = 'sp'"))
        .rows[0].n,
    ).toBe(1);
    expect((await run(dir, knex, state)).steps[0]?.status).toBe('skipped');
  });

  it('3. COPY … FROM stdin loads its rows, streamed, inside the task’s transaction', async () => {
    const dir = sqlRelease('postgres', {
      'copy.sql':
        'CREATE TABLE cp (id int, s text);\nCOPY public.cp (id, s) FROM stdin;\n1\ta;b\n2\t\\N\n3\tIs it safe?\n\\.\n\ncopy cp (id, s) from stdin;\n4\tlower case\n\\.\nSELECT 1;\n',
    });
    await succeeds(dir, knex);
    expect((await knex.raw('SELECT id, s FROM cp ORDER BY id')).rows).toEqual([
      { id: 1, s: 'a;b' },
      { id: 2, s: null },
      { id: 3, s: 'Is it safe?' },
      { id: 4, s: 'lower case' },
    ]);
  });

  it('4. psql meta-commands: \\restrict is honoured, \\connect is refused naming file:line before anything runs', async () => {
    const ok = sqlRelease('postgres', {
      'r.sql':
        '--\n-- PostgreSQL database dump\n--\n\n\\restrict abcDEF123\n\nSET statement_timeout = 0;\nCREATE TABLE restricted (i int);\n\n\\unrestrict abcDEF123\n',
    });
    await succeeds(ok, knex);
    expect(await knex.schema.hasTable('restricted')).toBe(true);

    const refused = sqlRelease('postgres', {
      'c.sql': 'CREATE TABLE before_connect (i int);\n\\connect other\nCREATE TABLE x (i int);\n',
    });
    const error = await prepare(refused, knex, sqliteState()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isUpgradeKitError(error, 'UPGRADEKIT_BAD_INPUT')).toBe(true);
    expect((error as Error).message).toMatch(/versions\/1\.1\.0\/c\.sql:2.*\\connect/);
    expect(await knex.schema.hasTable('before_connect')).toBe(false);
  });

  it('5. CREATE INDEX CONCURRENTLY and ALTER TYPE … ADD VALUE run outside a transaction block; dry run says so', async () => {
    const dir = sqlRelease(
      'postgres',
      {
        'cc.sql':
          "CREATE TABLE cc (i int, m text);\nCREATE TYPE mood AS ENUM ('sad');\nALTER TYPE mood ADD VALUE 'happy';\nCREATE TABLE moods (m mood DEFAULT 'happy');\nCREATE INDEX CONCURRENTLY cc_i ON cc (i);\n",
        'vac.sql': 'VACUUM cc;\n',
      },
      { 'vac.sql': ', transaction: false' },
    );
    const upgrade = await prepare(dir, knex, sqliteState());
    const entries = await upgrade.dryRun();
    await upgrade.close();
    expect(entries[0]?.summary).toMatch(
      /committed one by one .*ALTER TYPE mood ADD VALUE.*adds what its own transaction could not use/,
    );
    expect(entries[1]?.summary).toMatch(/transaction: false/);
    await succeeds(dir, knex);
    expect(
      (await knex.raw("SELECT indisvalid FROM pg_index WHERE indexrelid = 'cc_i'::regclass")).rows[0]
        .indisvalid,
    ).toBe(true);
  });

  it('7. SET search_path in one task does not move the next task’s tables', async () => {
    const dir = sqlRelease('postgres', {
      'a.sql': 'CREATE SCHEMA app;\nSET search_path TO app;\nCREATE TABLE in_app (i int);\n',
      'b.sql': 'CREATE TABLE in_public (i int);\n',
    });
    await succeeds(dir, knex);
    const rows = (
      await knex.raw(
        "SELECT table_schema AS s, table_name AS t FROM information_schema.tables WHERE table_name IN ('in_app', 'in_public') ORDER BY t",
      )
    ).rows;
    expect(rows).toEqual([
      { s: 'app', t: 'in_app' },
      { s: 'public', t: 'in_public' },
    ]);
  });

  it('9. a failure leads with the SQLSTATE and message, at the line PostgreSQL points to', async () => {
    const dir = sqlRelease('postgres', {
      'e.sql': 'CREATE TABLE e1 (i int);\nSELECT i,\n  nope\nFROM e1;\n',
    });
    const result = await run(dir, knex);
    expect(failedStep(result)?.message.split('\n')[0]).toBe(
      'SQLSTATE 42703: column "nope" does not exist — at versions/1.1.0/e.sql:3, statement 2 of 2',
    );
  });
});

describe.runIf(hasClickHouse)('ClickHouse: byte for byte, one session per task', () => {
  const database = `uk_exact_${Date.now().toString(36)}`;
  const admin = createClient(settings.clickhouse);
  beforeAll(async () => {
    await admin.command({ query: `CREATE DATABASE ${database}` });
  });
  afterAll(async () => {
    await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await admin.close();
  });

  it('1. ? :name $1 reach the server unchanged; a SET holds for the task’s later statements', async () => {
    const client = createClient({ ...settings.clickhouse, database });
    const values = TRICKY.map((t) => `('${t.replace(/\\/g, '\\\\')}')`).join(', ');
    const dir = release(
      'clickhouse',
      {
        'versions/1.1.0/q.sql': `CREATE TABLE q (s String) ENGINE = Memory;\n-- a ? comment\nINSERT INTO q VALUES ${values};\nSET max_threads = 3;\nCREATE TABLE th ENGINE = Memory AS SELECT toUInt64(value) AS v FROM system.settings WHERE name = 'max_threads';\n`,
      },
      `tasks:\n  - { id: q, kind: clickhouse, stage: in_stop, file: q.sql }\n`,
    );
    await succeeds(dir, client as unknown as Connection);
    const rows = (await (await client.query({ query: 'SELECT s FROM q', format: 'JSONEachRow' })).json()) as {
      s: string;
    }[];
    expect(rows.map((r) => r.s).sort()).toEqual([...TRICKY].sort());
    const [th] = (await (
      await client.query({ query: 'SELECT v FROM th', format: 'JSONEachRow' })
    ).json()) as {
      v: string;
    }[];
    expect(Number(th?.v)).toBe(3);
    await client.close();
  });
});

describe('SQLite: byte for byte', () => {
  it('1. ? :name $1 \\? are stored as written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uk-exact-sqlite-'));
    const knex = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: join(dir, 'app.sqlite') },
      useNullAsDefault: true,
    });
    const values = TRICKY.map((t) => `('${t}')`).join(', ');
    const rel = release(
      'sqlite',
      { 'versions/1.1.0/q.sql': `CREATE TABLE q (s TEXT); -- a ? here\nINSERT INTO q VALUES ${values};\n` },
      `tasks:\n${task('q', 'q.sql')}`,
    );
    await succeeds(rel, knex);
    expect((await knex('q').select('s')).map((r: { s: string }) => r.s)).toEqual(TRICKY);
    // State in the same file: the task shares the pool's connection and commits its success row with it.
    expect((await run(rel, knex, { knex })).steps[0]?.status).toBe('skipped');
    await knex.destroy();
  });
});
