import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import {
  classifyStatement,
  isUpgradeKitError,
  type SqlDialect,
  type Statement,
  type StatementClass,
  splitStatements,
  type UpgradeKitError,
} from '@upgradekit/core';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, requireService, suiteDatabase, type TestDatabase } from '#test-support';
import { codeStart, tokenize } from '../../src/migrate/split/lex.js';
import { applyPlaceholders, commitsImplicitly } from '../../src/migrate/split.js';

const exec = promisify(execFile);
const routines = readFileSync(new URL('./fixtures/routines.mariadb.sql', import.meta.url), 'utf8');
const hasMariaDB = await requireService('mariadb');
const hasPostgres = await requireService('postgres');
const hasSqlite3 = await exec('sqlite3', ['-version']).then(
  () => true,
  () => false,
);

const scratch = mkdtempSync(join(tmpdir(), 'uk-split-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let scratchFiles = 0;
function scratchFile(text: string): string {
  const file = join(scratch, `${++scratchFiles}.sql`);
  writeFileSync(file, text);
  return file;
}

const TAB = '\t';
const sqls = (statements: readonly Statement[]) => statements.map((s) => s.sql);
const squeeze = (text: string) => text.replace(/\s+/g, ' ').trim();

function thrown(fn: () => unknown): UpgradeKitError {
  try {
    fn();
  } catch (error) {
    if (isUpgradeKitError(error)) return error;
    throw error;
  }
  throw new Error('expected an UpgradeKitError');
}

/**
 * What the mariadb client sends for `text`, from its `-vvv` echo of each statement, whitespace
 * squeezed. The client drops comments (not `/*! … *\/` ones) before sending; `asSentByMariadb`
 * does the same to ours, with the lexer the splitter uses.
 */
async function mariadbSends(
  db: TestDatabase,
  text: string,
  options: { force?: boolean } = {},
): Promise<string[]> {
  const { host, port, user, password, database } = db.connection;
  const args = [
    '-vvv',
    ...(options.force ? ['--force'] : []),
    '-h',
    host,
    '-P',
    String(port),
    '-u',
    user,
    database,
  ];
  const run = exec(
    'sh',
    ['-c', 'file=$1; shift; exec mariadb "$@" < "$file"', 'sh', scratchFile(text), ...args],
    {
      env: { ...process.env, ...(password ? { MYSQL_PWD: password } : {}) },
    },
  );
  // With --force the client goes on after an error, and exits non-zero at the end.
  const { stdout } = options.force ? await run.catch((error: { stdout: string }) => error) : await run;
  return [...stdout.matchAll(/^-{14}\n([\s\S]*?)\n-{14}\n/gm)].map((m) => squeeze(m[1] as string));
}

function asSentByMariadb(statement: Statement): string {
  const tokens = tokenize(statement.sql, 'mysql');
  return squeeze(
    tokens.map((t) => (t.kind === 'comment' ? ' ' : statement.sql.slice(t.start, t.end))).join(''),
  );
}

/** The queries psql sends for `text`, from its session log (`-L`), without their trailing `;`. */
async function psqlSends(
  db: TestDatabase,
  text: string,
  options: { stopOnError?: boolean } = {},
): Promise<string[]> {
  const { host, port, user, password, database } = db.connection;
  const log = join(scratch, `${++scratchFiles}.log`);
  writeFileSync(log, '');
  const stop = options.stopOnError ?? true;
  await exec(
    'psql',
    [
      ...['-X', '-q', '-v', `ON_ERROR_STOP=${stop ? 1 : 0}`, '-h', host, '-p', String(port), '-U', user],
      ...['-d', database, '-L', log, '-o', '/dev/null', '-f', scratchFile(text)],
    ],
    { env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) } },
  );
  return [...readFileSync(log, 'utf8').matchAll(/^\*{9} QUERY \*{10}\n([\s\S]*?)\n\*{26}\n/gm)]
    .map((m) => (m[1] as string).replace(/;$/, '').trimEnd())
    .filter((query) => query !== '');
}

/** Runs a PostgreSQL file through the splitter on one connection, COPY data included. */
async function loadWithSplitter(db: TestDatabase, text: string): Promise<void> {
  const { from } = await import('pg-copy-streams');
  const client = new pg.Client(db.connection);
  await client.connect();
  try {
    for (const statement of splitStatements(text, 'postgres')) {
      if (statement.copyData === undefined) await client.query(statement.sql);
      else
        await pipeline(Readable.from([Buffer.from(statement.copyData)]), client.query(from(statement.sql)));
    }
  } finally {
    await client.end();
  }
}

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

// A file as mariadb-dump writes one (sandbox line, version comments, LOCK TABLES, a trigger in a
// DELIMITER ;; block), with the comments and strings that trip naive splitters.
const mysqldumpLines = [
  '/*M!999999\\- enable the sandbox mode */ ',
  '-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)',
  '# comment; with semicolon',
  '/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;',
  '/*!40101 SET NAMES utf8mb4 */;',
  '-- comment; with semicolon',
  'DROP TABLE IF EXISTS `t`;',
  'CREATE TABLE `t` (',
  '  `id` int NOT NULL,',
  '  `s` varchar(40) DEFAULT NULL, -- a comment; inside a statement',
  '  PRIMARY KEY (`id`)',
  ') ENGINE=InnoDB;',
  'LOCK TABLES `t` WRITE;',
  '/*!40000 ALTER TABLE `t` DISABLE KEYS */;',
  "INSERT INTO `t` VALUES (1,'it\\';s'),(2,'a;b'),(3,'x\\\\'),(4,'5--3'),(5,\"d\\\";q\");",
  '/*!40000 ALTER TABLE `t` ENABLE KEYS */;',
  'UNLOCK TABLES;',
  '/*!50001 CREATE VIEW `v` AS SELECT `id`, `s` FROM `t` */;',
  'DELIMITER ;;',
  '/*!50003 CREATE*/ /*!50017 DEFINER=CURRENT_USER*/ /*!50003 TRIGGER `tr` BEFORE INSERT ON `t` FOR EACH ROW BEGIN',
  "  SET NEW.s = CONCAT(NEW.s, ';');",
  'END */;;',
  'DELIMITER ;',
  "INSERT INTO `t` (`id`, `s`) VALUES (6, 'via the trigger');",
  '/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;',
];
const mysqldump = `${mysqldumpLines.join('\n')}\n`;
const lines = (from: number, to: number) => mysqldumpLines.slice(from - 1, to).join('\n');

describe('splitting MySQL/MariaDB files as the mysql client does', () => {
  it('regression: `--` not followed by whitespace is an expression, not a comment (5--3 is 8)', () => {
    const statements = splitStatements('INSERT INTO t VALUES (5--3); INSERT INTO t VALUES (7);', 'mysql');
    expect(sqls(statements)).toEqual(['INSERT INTO t VALUES (5--3)', 'INSERT INTO t VALUES (7)']);
    expect(sqls(splitStatements('SELECT 1 -- a comment; still\n; SELECT 2 --\n;', 'mysql'))).toEqual([
      'SELECT 1 -- a comment; still',
      'SELECT 2 --',
    ]);
    // At the start of a statement the MariaDB client takes `--x` for a comment too.
    expect(sqls(splitStatements('--x; y\nSELECT 3;', 'mysql'))).toEqual(['SELECT 3']);
  });

  it('regression: a mysqldump file splits where the client splits it, with the lines statements start on', () => {
    const statements = splitStatements(mysqldump, 'mysql', 'dump.sql');
    expect(statements.map((s) => [s.line, s.sql])).toEqual([
      [4, '/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */'],
      [5, '/*!40101 SET NAMES utf8mb4 */'],
      [7, 'DROP TABLE IF EXISTS `t`'],
      [8, lines(8, 12).slice(0, -1)],
      [13, 'LOCK TABLES `t` WRITE'],
      [14, '/*!40000 ALTER TABLE `t` DISABLE KEYS */'],
      [15, lines(15, 15).slice(0, -1)],
      [16, '/*!40000 ALTER TABLE `t` ENABLE KEYS */'],
      [17, 'UNLOCK TABLES'],
      [18, '/*!50001 CREATE VIEW `v` AS SELECT `id`, `s` FROM `t` */'],
      [20, lines(20, 22).slice(0, -2)],
      [24, "INSERT INTO `t` (`id`, `s`) VALUES (6, 'via the trigger')"],
      [25, '/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */'],
    ]);
    expect(statements.map((s) => s.index)).toEqual(statements.map((_, i) => i));
  });

  it('ends a comment where the client does: not at a `*/` that closes a /*! on the same line', () => {
    expect(sqls(splitStatements('/* off: /*!40101 SET @x = 1 */; */ SELECT 11;', 'mysql'))).toEqual([
      'SELECT 11',
    ]);
    expect(sqls(splitStatements('/* a\n/*!40101 x */; */ SELECT 12;', 'mysql'))).toEqual(['SELECT 12']);
    expect(sqls(splitStatements('/* a /*!40101 x */\n*/; SELECT 13;', 'mysql'))).toEqual(['SELECT 13']);
  });

  it('ends statements at the delimiter inside executable comments, at \\g and \\G, and keeps \\N', () => {
    expect(sqls(splitStatements('/*!50001 SELECT 1; */ SELECT 2;', 'mysql'))).toEqual([
      '/*!50001 SELECT 1',
      '*/ SELECT 2',
    ]);
    expect(sqls(splitStatements("/*M!100100 SELECT 'maria' */; SELECT \\N\\g SELECT 3\\G", 'mysql'))).toEqual(
      ["/*M!100100 SELECT 'maria' */", 'SELECT \\N', 'SELECT 3'],
    );
  });

  it('takes DELIMITER in any case on a line that starts a statement, and honours `use db` without one', () => {
    const text =
      'delimiter //\nSELECT 1; SELECT 2//\nDeLiMiTeR $$\nSELECT 3$$ SELECT "$$"$$\nDELIMITER ;\nuse app\nSELECT 4;';
    expect(splitStatements(text, 'mysql').map((s) => [s.line, s.sql])).toEqual([
      [2, 'SELECT 1; SELECT 2'],
      [4, 'SELECT 3'],
      [4, 'SELECT "$$"'],
      [6, 'use app'],
      [7, 'SELECT 4'],
    ]);
  });

  it('refuses client commands the runner cannot honour, naming the file and line', () => {
    const source = thrown(() => splitStatements('SELECT 1;\nsource other.sql\n', 'mysql', 'a.sql'));
    expect(source.code).toBe('UPGRADEKIT_BAD_INPUT');
    expect(source.message).toMatch(
      /^a\.sql:2: mysql client command "source" is not supported: put the sourced/,
    );
    expect(source.context).toEqual({ file: 'a.sql', line: 2, command: 'source' });
    expect(thrown(() => splitStatements('SELECT 1;\n\n\\. other.sql', 'mysql', 'a.sql')).message).toMatch(
      /^a\.sql:3: mysql client command \\\. is not supported/,
    );
    expect(
      thrown(() => splitStatements('SELECT 1; DELIMITER //\nSELECT 2//', 'mysql', 'a.sql')).message,
    ).toBe('a.sql:1: DELIMITER must be on a line of its own, outside a statement');
    expect(thrown(() => splitStatements('DELIMITER\nSELECT 1;', 'mysql', 'a.sql')).message).toMatch(
      /^a\.sql:1: DELIMITER must be followed by/,
    );
  });
});

// A file as pg_dump writes one (\restrict … \unrestrict, set_config, COPY … FROM stdin), with what
// psql keeps whole: E'' strings, nested comments, parentheses, BEGIN ATOMIC, dollar quotes.
const pgDump = String.raw`--
-- PostgreSQL database dump
--
\set ON_ERROR_STOP on
\restrict abc123

-- Dumped from database version 17.6
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
CREATE TABLE public.t (id integer, s text);

COPY public.t (id, s) FROM stdin;
1${TAB}a;b
2${TAB}\N
3${TAB}tab\there; 'quoted'
\.
copy public.t (id, s) from stdin with (format csv);
4,"x;y"
\.
SELECT E'it\'s; here' AS e, 'back\slash;' AS s;
SELECT /* outer /* inner; */ still outer; */ 2;
CREATE RULE r AS ON INSERT TO public.t WHERE new.id < 0 DO INSTEAD (INSERT INTO public.t VALUES (-new.id, 'a;'); SELECT 1);
CREATE FUNCTION public.f(x integer) RETURNS integer LANGUAGE sql
BEGIN ATOMIC
  SELECT x + 1;
  SELECT CASE WHEN x > 0 THEN x ELSE 0 END;
END;
CREATE FUNCTION public.g() RETURNS text AS $fn$ BEGIN RETURN $$;$$ || 'x;y'; END; $fn$ LANGUAGE plpgsql;
PREPARE q(integer) AS SELECT $1 AS a$b;

\unrestrict abc123
`;

describe('splitting PostgreSQL files as psql does', () => {
  it('regression: a pg_dump file splits where psql splits it, COPY data and meta-commands included', () => {
    const statements = splitStatements(pgDump, 'postgres', 'dump.sql');
    expect(statements.map(({ line, sql, copyData }) => ({ line, sql, copyData }))).toEqual([
      { line: 8, sql: 'SET standard_conforming_strings = on' },
      { line: 9, sql: "SELECT pg_catalog.set_config('search_path', '', false)" },
      { line: 10, sql: 'CREATE TABLE public.t (id integer, s text)' },
      {
        line: 12,
        sql: 'COPY public.t (id, s) FROM stdin',
        copyData: `1\ta;b\n2\t\\N\n3\ttab\\there; 'quoted'\n`,
      },
      { line: 17, sql: 'copy public.t (id, s) from stdin with (format csv)', copyData: '4,"x;y"\n' },
      { line: 20, sql: String.raw`SELECT E'it\'s; here' AS e, 'back\slash;' AS s` },
      { line: 21, sql: 'SELECT /* outer /* inner; */ still outer; */ 2' },
      {
        line: 22,
        sql: "CREATE RULE r AS ON INSERT TO public.t WHERE new.id < 0 DO INSTEAD (INSERT INTO public.t VALUES (-new.id, 'a;'); SELECT 1)",
      },
      {
        line: 23,
        sql: 'CREATE FUNCTION public.f(x integer) RETURNS integer LANGUAGE sql\nBEGIN ATOMIC\n  SELECT x + 1;\n  SELECT CASE WHEN x > 0 THEN x ELSE 0 END;\nEND',
      },
      {
        line: 28,
        sql: "CREATE FUNCTION public.g() RETURNS text AS $fn$ BEGIN RETURN $$;$$ || 'x;y'; END; $fn$ LANGUAGE plpgsql",
      },
      { line: 29, sql: 'PREPARE q(integer) AS SELECT $1 AS a$b' },
    ]);
  });

  it('takes COPY data to the end of the file when no \\. line ends it, as psql does', () => {
    expect(splitStatements('SELECT 1;\nCOPY t FROM STDIN;\n5\tlast\n', 'postgres').at(-1)).toEqual({
      index: 1,
      sql: 'COPY t FROM STDIN',
      line: 2,
      copyData: '5\tlast\n',
    });
    expect(splitStatements('COPY t FROM stdin;', 'postgres')[0]!.copyData).toBe('');
    expect(splitStatements('COPY t TO stdout;\nSELECT 1;', 'postgres')).toEqual([
      { index: 0, sql: 'COPY t TO stdout', line: 1 },
      { index: 1, sql: 'SELECT 1', line: 2 },
    ]);
  });

  it('refuses psql meta-commands other than \\restrict, \\unrestrict and \\set ON_ERROR_STOP on, naming file:line', () => {
    const connect = thrown(() =>
      splitStatements('SELECT 1;\n\\connect foo\nSELECT 2;', 'postgres', 'v/2.0/a.sql'),
    );
    expect(connect.code).toBe('UPGRADEKIT_BAD_INPUT');
    expect(connect.message).toBe(
      "v/2.0/a.sql:2: psql meta-command \\connect is not supported: a task runs on its datasource's database; split the file per database",
    );
    expect(connect.context).toEqual({ file: 'v/2.0/a.sql', line: 2, command: '\\connect' });
    const refused = (text: string) => thrown(() => splitStatements(text, 'postgres', 'a.sql')).message;
    expect(refused('\\c other')).toMatch(/^a\.sql:1: psql meta-command \\c is not supported: a task runs on/);
    expect(refused("\\copy t from 't.csv'")).toMatch(
      /use COPY … FROM stdin with the data on the lines after it/,
    );
    expect(refused('\n\\i other.sql')).toMatch(
      /^a\.sql:2: psql meta-command \\i is not supported: put the included/,
    );
    expect(refused('\\set x 1')).toMatch(/psql variables are not supported/);
    expect(refused('\\set ON_ERROR_STOP off')).toMatch(/the runner always stops at the first error/);
    expect(refused('SELECT 1\n\\g')).toMatch(/^a\.sql:2: psql meta-command \\g in the middle of a statement/);
    expect(refused('\\unrestrict abc')).toMatch(/without \\restrict/);
    expect(refused('\\restrict abc\n\\unrestrict xyz')).toMatch(
      /^a\.sql:2: .*key other than the \\restrict key/,
    );
    expect(refused('\\restrict abc\n\\set ON_ERROR_STOP on')).toMatch(/psql allows only \\unrestrict there/);
    expect(refused('SELECT 1;\nALTER DATABASE :"DBNAME" SET x = 1;')).toMatch(
      /^a\.sql:2: psql variable :"DBNAME" is not supported/,
    );
    expect(refused('COPY t FROM stdin; SELECT 1;\n1\n\\.\n')).toMatch(
      /text after COPY … FROM STDIN on the same line/,
    );
    // Variables psql does not define stay as written, and so does a cast.
    expect(sqls(splitStatements('SELECT a::text, :mine;', 'postgres'))).toEqual(['SELECT a::text, :mine']);
    // Accepted ones are dropped, and every ON_ERROR_STOP spelling of true is accepted.
    for (const on of ['on', 'ON', 'true', 't', 'yes', 'y', '1']) {
      expect(sqls(splitStatements(`\\set ON_ERROR_STOP ${on}\nSELECT 1;`, 'postgres'))).toEqual(['SELECT 1']);
    }
  });
});

const sqlite = (text: string) => sqls(splitStatements(text, 'sqlite'));

// SQLite files: every `;` ends a statement, except in a CREATE TRIGGER body, as sqlite3_complete()
// (and so the sqlite3 shell) has it. Each of these also runs through the shell below.
const sqliteTransactions = [
  'CREATE TABLE a (id INTEGER);',
  'BEGIN;',
  'CREATE TABLE b (id INTEGER);',
  'SELECT 1;',
  'COMMIT;',
  'BEGIN DEFERRED; INSERT INTO a VALUES (1); END;',
  'BEGIN IMMEDIATE TRANSACTION;',
  'INSERT INTO a VALUES (2);',
  'END TRANSACTION;',
  'begin exclusive;',
  'INSERT INTO b VALUES (3);',
  'rollback;',
  'BEGIN TRANSACTION;',
  'COMMIT TRANSACTION;',
].join('\n');

const sqliteTriggers = [
  '-- leading; comment with BEGIN and END;',
  'CREATE TABLE t (id INTEGER PRIMARY KEY, "end" TEXT, [begin;] INTEGER, n INTEGER);',
  'CREATE TABLE log (msg TEXT);',
  'CREATE TRIGGER t_ins AFTER INSERT ON t FOR EACH ROW',
  'WHEN new.id > 0',
  'BEGIN',
  "  INSERT INTO log VALUES ('inserted; ' || new.id || ' END;');",
  "  UPDATE t SET \"end\" = CASE WHEN new.n > 1 THEN 'many; END' ELSE 'one' END",
  '    WHERE id = new.id; -- end; here',
  "  /* END; */ INSERT INTO log SELECT CASE new.n WHEN 1 THEN 'a' ELSE 'b' END;",
  'END;',
  'CREATE TEMP TRIGGER IF NOT EXISTS t_del BEFORE DELETE ON t BEGIN',
  '  DELETE FROM log WHERE msg = old."end"; END; INSERT INTO t (id, n) VALUES (1, 2);',
  'create temporary trigger "t;upd" after update on t begin select 1; end',
  ';',
  'INSERT INTO t (id, n) VALUES (2, 1); SELECT \'BEGIN;\', "end", `x;y`.[begin;] FROM t AS `x;y`;;',
  'CREATE VIEW v AS SELECT CASE WHEN n > 0 THEN 1 END AS pos FROM t;',
  'EXPLAIN QUERY PLAN SELECT * FROM v;',
  "SELECT 'no semicolon at the end' -- ; END; (the trace drops a last `;`)",
].join('\n');

describe('splitting SQLite files as the sqlite3 shell does', () => {
  it('regression: a bare BEGIN; is a transaction, not the start of a BEGIN … END block', () => {
    expect(
      sqlite('CREATE TABLE a (id INTEGER);\nBEGIN;\nCREATE TABLE b (id INTEGER);\nSELECT 1;\nCOMMIT;\n'),
    ).toEqual(['CREATE TABLE a (id INTEGER)', 'BEGIN', 'CREATE TABLE b (id INTEGER)', 'SELECT 1', 'COMMIT']);
    const statements = splitStatements(sqliteTransactions, 'sqlite');
    expect(statements.map(({ line, sql }) => ({ line, sql }))).toEqual([
      { line: 1, sql: 'CREATE TABLE a (id INTEGER)' },
      { line: 2, sql: 'BEGIN' },
      { line: 3, sql: 'CREATE TABLE b (id INTEGER)' },
      { line: 4, sql: 'SELECT 1' },
      { line: 5, sql: 'COMMIT' },
      { line: 6, sql: 'BEGIN DEFERRED' },
      { line: 6, sql: 'INSERT INTO a VALUES (1)' },
      { line: 6, sql: 'END' },
      { line: 7, sql: 'BEGIN IMMEDIATE TRANSACTION' },
      { line: 8, sql: 'INSERT INTO a VALUES (2)' },
      { line: 9, sql: 'END TRANSACTION' },
      { line: 10, sql: 'begin exclusive' },
      { line: 11, sql: 'INSERT INTO b VALUES (3)' },
      { line: 12, sql: 'rollback' },
      { line: 13, sql: 'BEGIN TRANSACTION' },
      { line: 14, sql: 'COMMIT TRANSACTION' },
    ]);
  });

  it('keeps a trigger body whole up to `; END`, CASE … END, strings and comments included', () => {
    const statements = splitStatements(sqliteTriggers, 'sqlite');
    const lines = sqliteTriggers.split('\n');
    expect(statements.map(({ line, sql }) => ({ line, sql }))).toEqual([
      { line: 2, sql: lines[1]!.slice(0, -1) },
      { line: 3, sql: 'CREATE TABLE log (msg TEXT)' },
      { line: 4, sql: lines.slice(3, 11).join('\n').slice(0, -1) },
      { line: 12, sql: `${lines[11]}\n  DELETE FROM log WHERE msg = old."end"; END` },
      { line: 13, sql: 'INSERT INTO t (id, n) VALUES (1, 2)' },
      { line: 14, sql: lines[13] },
      { line: 16, sql: 'INSERT INTO t (id, n) VALUES (2, 1)' },
      { line: 16, sql: 'SELECT \'BEGIN;\', "end", `x;y`.[begin;] FROM t AS `x;y`' },
      { line: 17, sql: lines[16]!.slice(0, -1) },
      { line: 18, sql: 'EXPLAIN QUERY PLAN SELECT * FROM v' },
      { line: 19, sql: lines[18] },
    ]);
    expect(statements[2]!.sql).toMatch(/^CREATE TRIGGER t_ins[\s\S]*'b' END;\nEND$/);
  });

  it('follows sqlite3_complete: only CREATE [TEMP] TRIGGER opens a body, only `; END ;` closes it', () => {
    // A statement that merely contains the words, or a CREATE of something else, is not a trigger.
    expect(
      sqlite('SELECT 1 AS trigger; CREATE TABLE trigger (x); CREATE INDEX i ON t (trigger); SELECT 2;'),
    ).toEqual([
      'SELECT 1 AS trigger',
      'CREATE TABLE trigger (x)',
      'CREATE INDEX i ON t (trigger)',
      'SELECT 2',
    ]);
    // EXPLAIN CREATE TRIGGER opens a body too; END must follow a `;` (CASE … END does not close).
    expect(
      sqlite('EXPLAIN CREATE TRIGGER tr DELETE ON t BEGIN SELECT CASE 1 WHEN 1 THEN 2 END; END; SELECT 3;'),
    ).toEqual([
      'EXPLAIN CREATE TRIGGER tr DELETE ON t BEGIN SELECT CASE 1 WHEN 1 THEN 2 END; END',
      'SELECT 3',
    ]);
    // `;` repeated before END, and comments between `;` and END and the last `;`.
    expect(sqlite('CREATE TRIGGER tr DELETE ON t BEGIN SELECT 1;; -- x;\n END /* ; */ ; SELECT 2')).toEqual([
      'CREATE TRIGGER tr DELETE ON t BEGIN SELECT 1;; -- x;\n END /* ; */',
      'SELECT 2',
    ]);
    // An unfinished trigger, string or comment runs to the end of the file, as the shell runs it.
    expect(sqlite('SELECT 1;\nCREATE TRIGGER tr DELETE ON t BEGIN SELECT 1; SELECT 2;')).toEqual([
      'SELECT 1',
      'CREATE TRIGGER tr DELETE ON t BEGIN SELECT 1; SELECT 2;',
    ]);
    expect(sqlite("SELECT 'a;\n;b")).toEqual(["SELECT 'a;\n;b"]);
    expect(sqlite('SELECT 1 /* ; END;')).toEqual(['SELECT 1 /* ; END;']);
    // Empty statements and comment-only pieces are dropped; a leading BOM is skipped.
    expect(
      splitStatements('\uFEFFCREATE TRIGGER tr DELETE ON t BEGIN SELECT 1; END;\n;;\n-- x;\n', 'sqlite'),
    ).toEqual([{ index: 0, line: 1, sql: 'CREATE TRIGGER tr DELETE ON t BEGIN SELECT 1; END' }]);
    // A word glued to a ${placeholder} is no keyword: `END${x}` does not close a body.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: ${name} placeholders are the subject here
    expect(sqlite('CREATE TRIGGER tr DELETE ON t BEGIN SELECT 1; END${x}; END; SELECT 2;')).toEqual([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: ${name} placeholders are the subject here
      'CREATE TRIGGER tr DELETE ON t BEGIN SELECT 1; END${x}; END',
      'SELECT 2',
    ]);
  });
});

/**
 * The statements the sqlite3 shell prepares and runs for `text` (`sqlite3 :memory: < file`), from
 * its `.trace --profile` log, which ends each one with `; -- N ns`; leading comments dropped by the
 * splitter's own lexer, as the splitter drops them.
 */
async function sqlite3Runs(text: string): Promise<string[]> {
  const trace = join(scratch, `${++scratchFiles}.trace`);
  const { stderr } = await exec('sh', [
    '-c',
    'exec sqlite3 -bail -cmd ".trace $2 --profile" :memory: < "$1" > /dev/null',
    'sh',
    scratchFile(text),
    trace,
  ]);
  expect(stderr).toBe('');
  return readFileSync(trace, 'utf8')
    .split(/; -- \d+ ns\n/)
    .map((sql) => sql.slice(Math.max(codeStart(sql, 'sqlite'), 0)).trimEnd())
    .filter((sql) => sql !== '');
}

describe.runIf(hasSqlite3)('against the sqlite3 shell', () => {
  it.each([
    ['transactions', sqliteTransactions],
    ['triggers, strings and comments', sqliteTriggers],
    [
      'statements across and within lines',
      "CREATE TABLE x (a, b);INSERT INTO x VALUES (1, 'one;\nline two; END;');\n\nINSERT INTO x\n  VALUES (2, /* ; */ 'b') -- c;\n;\nCREATE TRIGGER x_ins AFTER INSERT ON x BEGIN SELECT CASE WHEN new.a = 1 THEN 'END;' END; END; INSERT INTO x VALUES (3, 'c');\nSELECT count(*) FROM x",
    ],
  ])('splits %s where the shell runs them', async (_name, text) => {
    expect(sqlite(text)).toEqual(await sqlite3Runs(text));
  });
});

describe('applyPlaceholders', () => {
  const values = { schema: 'app', n: '5' };

  it('fills code only: not strings, quoted identifiers, dollar quotes, comments or COPY data', () => {
    const statements = splitStatements(
      [
        `CREATE TABLE \${schema}.t_\${n} (s text DEFAULT '\${n}', "\${n}" int); -- \${missing}`,
        `SELECT $$ \${n} $$, $fn$\${n}$fn$, E'\${n}', $\${n}, /* \${missing} */ \${n};`,
        'COPY t FROM stdin;',
        `\${n}`,
        '\\.',
      ].join('\n'),
      'postgres',
    );
    expect(applyPlaceholders(statements, values, 'a.sql', { dialect: 'postgres' })).toEqual([
      { index: 0, line: 1, sql: `CREATE TABLE app.t_5 (s text DEFAULT '\${n}', "\${n}" int)` },
      { index: 1, line: 2, sql: `SELECT $$ \${n} $$, $fn$\${n}$fn$, E'\${n}', \${n}, /* \${missing} */ 5` },
      { index: 2, line: 3, sql: 'COPY t FROM stdin', copyData: `\${n}\n` },
    ]);
    const mysqlStatements = splitStatements(
      `INSERT INTO \`\${schema}\` VALUES ('\${n}', "\${n}", \${n}) # \${missing}\n;`,
      'mysql',
    );
    expect(sqls(applyPlaceholders(mysqlStatements, values, 'a.sql', { dialect: 'mysql' }))).toEqual([
      `INSERT INTO \`\${schema}\` VALUES ('\${n}', "\${n}", 5) # \${missing}`,
    ]);
  });

  it('with inStrings fills everywhere; the $$ escape always stands for the literal placeholder', () => {
    const statements = splitStatements(
      `SELECT '\${n}', "\${n}", $$\${schema}$$, E'$\${n}', $\${n};\nCOPY t FROM stdin;\n\${n}\n\\.\n`,
      'postgres',
    );
    expect(applyPlaceholders(statements, values, 'a.sql', { dialect: 'postgres', inStrings: true })).toEqual([
      { index: 0, line: 1, sql: `SELECT '5', "5", $$app$$, E'\${n}', \${n}` },
      { index: 1, line: 2, sql: 'COPY t FROM stdin', copyData: `\${n}\n` },
    ]);
    const unknown = thrown(() =>
      applyPlaceholders(splitStatements(`SELECT 1;\nSELECT '\${nope}';`, 'postgres'), values, 'b.sql', {
        dialect: 'postgres',
        inStrings: true,
      }),
    );
    expect(unknown.message).toMatch(/b\.sql:2 \$\{nope\}/);
  });
});

describe('classifyStatement', () => {
  const cls = (keyword: string, rest: Partial<Omit<StatementClass, 'keyword'>> = {}): StatementClass => ({
    keyword,
    commitsImplicitly: false,
    noTransactionBlock: false,
    usableAfterCommit: false,
    changesSession: false,
    ...rest,
  });
  /** A SET of autocommit: it changes the session and is transaction control. */
  const autocommit = (mode: 'on' | 'off') =>
    cls('SET', { transactionControl: `autocommit-${mode}`, changesSession: true });
  const cases: [SqlDialect, string, StatementClass][] = [
    [
      'mysql',
      '/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */',
      cls('SET', { changesSession: true }),
    ],
    [
      'mysql',
      '/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */',
      cls('SET', { changesSession: true }),
    ],
    ['mysql', 'SET NAMES utf8mb4', cls('SET', { changesSession: true })],
    ['mysql', 'USE app', cls('USE', { changesSession: true })],
    [
      'mysql',
      '/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */\n/*!50001 VIEW `v` AS select 1 AS `1` */',
      cls('CREATE', { commitsImplicitly: true }),
    ],
    ['mysql', '/*!40000 ALTER TABLE `t` DISABLE KEYS */', cls('ALTER', { commitsImplicitly: true })],
    ['mysql', '-- note\n# more\n  create index i on t (c)', cls('CREATE', { commitsImplicitly: true })],
    ['mysql', 'CREATE TEMPORARY TABLE tmp (a INT)', cls('CREATE')],
    ['mysql', 'CREATE OR REPLACE TEMPORARY TABLE tmp (a INT)', cls('CREATE')],
    ['mysql', 'DROP TEMPORARY TABLE IF EXISTS tmp', cls('DROP')],
    ['mysql', 'DROP TABLE t', cls('DROP', { commitsImplicitly: true })],
    ['mysql', 'LOCK TABLES `t` WRITE', cls('LOCK', { commitsImplicitly: true })],
    ['mysql', 'UNLOCK TABLES', cls('UNLOCK', { commitsImplicitly: true })],
    ['mysql', 'TRUNCATE t', cls('TRUNCATE', { commitsImplicitly: true })],
    ['mysql', 'RENAME TABLE a TO b', cls('RENAME', { commitsImplicitly: true })],
    ['mysql', "GRANT SELECT ON app.* TO 'u'@'%'", cls('GRANT', { commitsImplicitly: true })],
    ['mysql', "SET PASSWORD FOR 'u'@'%' = PASSWORD('x')", cls('SET', { commitsImplicitly: true })],
    ['mysql', 'FLUSH PRIVILEGES', cls('FLUSH', { commitsImplicitly: true })],
    ['mysql', 'ANALYZE TABLE t', cls('ANALYZE', { commitsImplicitly: true })],
    ['mysql', 'OPTIMIZE TABLE t', cls('OPTIMIZE', { commitsImplicitly: true })],
    ['mysql', 'REPAIR TABLE t', cls('REPAIR', { commitsImplicitly: true })],
    ['mysql', "INSTALL PLUGIN p SONAME 'p.so'", cls('INSTALL', { commitsImplicitly: true })],
    ['mysql', "INSERT INTO t VALUES ('CREATE')", cls('INSERT')],
    ['mysql', 'START TRANSACTION', cls('START', { transactionControl: 'begin' })],
    ['mysql', 'BEGIN', cls('BEGIN', { transactionControl: 'begin' })],
    ['mysql', 'BEGIN WORK', cls('BEGIN', { transactionControl: 'begin' })],
    ['mysql', 'BEGIN NOT ATOMIC SELECT 1; END', cls('BEGIN')],
    ['mysql', 'COMMIT WORK', cls('COMMIT', { transactionControl: 'commit' })],
    ['mysql', 'ROLLBACK', cls('ROLLBACK', { transactionControl: 'rollback' })],
    ['mysql', 'ROLLBACK WORK TO SAVEPOINT s', cls('ROLLBACK', { transactionControl: 'rollback-to' })],
    ['mysql', 'SAVEPOINT s', cls('SAVEPOINT', { transactionControl: 'savepoint' })],
    ['mysql', 'RELEASE SAVEPOINT s', cls('RELEASE', { transactionControl: 'release' })],
    ['mysql', 'SET autocommit=0', autocommit('off')],
    ['mysql', 'SET AUTOCOMMIT = 1', autocommit('on')],
    ['mysql', 'SET autocommit = OFF', autocommit('off')],
    ['mysql', '/*!40101 SET AUTOCOMMIT=0 */', autocommit('off')],
    ['mysql', "SET SESSION autocommit = 'ON'", autocommit('on')],
    ['mysql', 'SET @@session.autocommit := 0', autocommit('off')],
    ['mysql', 'SET GLOBAL autocommit = 0', cls('SET')],
    ['postgres', 'CREATE INDEX CONCURRENTLY i ON t (c)', cls('CREATE', { noTransactionBlock: true })],
    ['postgres', 'CREATE UNIQUE INDEX CONCURRENTLY i ON t (c)', cls('CREATE', { noTransactionBlock: true })],
    ['postgres', 'DROP INDEX CONCURRENTLY i', cls('DROP', { noTransactionBlock: true })],
    ['postgres', 'REINDEX TABLE CONCURRENTLY t', cls('REINDEX', { noTransactionBlock: true })],
    ['postgres', 'VACUUM ANALYZE t', cls('VACUUM', { noTransactionBlock: true })],
    ['postgres', 'CREATE DATABASE d', cls('CREATE', { noTransactionBlock: true })],
    ['postgres', 'DROP DATABASE d', cls('DROP', { noTransactionBlock: true })],
    ['postgres', "CREATE TABLESPACE ts LOCATION '/srv/ts'", cls('CREATE', { noTransactionBlock: true })],
    ['postgres', 'DROP TABLESPACE ts', cls('DROP', { noTransactionBlock: true })],
    ['postgres', "ALTER SYSTEM SET work_mem = '64MB'", cls('ALTER', { noTransactionBlock: true })],
    ['postgres', `ALTER TYPE "my mood" ADD VALUE 'ok'`, cls('ALTER', { usableAfterCommit: true })],
    [
      'postgres',
      "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p",
      cls('CREATE', { noTransactionBlock: true }),
    ],
    ['postgres', 'ALTER SUBSCRIPTION s REFRESH PUBLICATION', cls('ALTER', { noTransactionBlock: true })],
    ['postgres', 'CLUSTER', cls('CLUSTER', { noTransactionBlock: true })],
    ['postgres', 'CLUSTER t USING i', cls('CLUSTER')],
    ['postgres', 'CREATE INDEX i ON t (c)', cls('CREATE')],
    ['postgres', 'ALTER TABLE t ADD COLUMN c int', cls('ALTER')],
    ['postgres', 'BEGIN ISOLATION LEVEL SERIALIZABLE', cls('BEGIN', { transactionControl: 'begin' })],
    ['postgres', 'START TRANSACTION', cls('START', { transactionControl: 'begin' })],
    ['postgres', 'END', cls('END', { transactionControl: 'commit' })],
    ['postgres', 'ABORT', cls('ABORT', { transactionControl: 'rollback' })],
    ['postgres', 'ROLLBACK TO SAVEPOINT s', cls('ROLLBACK', { transactionControl: 'rollback-to' })],
    ['postgres', 'RELEASE s', cls('RELEASE', { transactionControl: 'release' })],
    ['postgres', "COMMIT PREPARED 'x'", cls('COMMIT', { noTransactionBlock: true })],
    ['postgres', 'SET search_path = app', cls('SET', { changesSession: true })],
    ['postgres', 'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', cls('SET', { changesSession: true })],
    [
      'postgres',
      "SELECT pg_catalog.set_config('search_path', '', false)",
      cls('SELECT', { changesSession: true }),
    ],
    ['postgres', 'RESET ALL', cls('RESET', { changesSession: true })],
    ['postgres', 'COPY public.t (a) FROM stdin', cls('COPY')],
    ['postgres', 'CREATE TABLE t (a int)', cls('CREATE')],
    ['sqlite', 'BEGIN IMMEDIATE', cls('BEGIN', { transactionControl: 'begin' })],
    ['sqlite', 'PRAGMA foreign_keys = ON', cls('PRAGMA', { changesSession: true })],
    ['clickhouse', 'SET max_threads = 1', cls('SET', { changesSession: true })],
  ];

  it('tells what the runner must know of each statement', () => {
    expect(cases.map(([dialect, sql]) => [sql, classifyStatement(sql, dialect)])).toEqual(
      cases.map(([, sql, expected]) => [sql, expected]),
    );
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

  it('regression: INSERT … (5--3); INSERT … (7); inserts 8 and 7, as the client does', async () => {
    const [a, b] = await Promise.all([
      createTestDatabase('mariadb', 'uk_minus_split'),
      createTestDatabase('mariadb', 'uk_minus_cli'),
    ]);
    const rows = async (db: TestDatabase) => {
      const connection = await mysql.createConnection(db.connection);
      const [result] = await connection.query('SELECT v FROM t');
      await connection.end();
      return result;
    };
    try {
      const text = 'CREATE TABLE t (v INT);\nINSERT INTO t VALUES (5--3); INSERT INTO t VALUES (7);\n';
      const connection = await mysql.createConnection(a.connection);
      for (const statement of splitStatements(text, 'mysql')) await connection.query(statement.sql);
      await connection.end();
      expect(await rows(a)).toEqual([{ v: 8 }, { v: 7 }]);
      expect(await mariadbSends(b, text)).toEqual(splitStatements(text, 'mysql').map(asSentByMariadb));
      expect(await rows(b)).toEqual([{ v: 8 }, { v: 7 }]);
    } finally {
      await Promise.all([a.drop(), b.drop()]);
    }
  });

  it('a mysqldump file: the client sends the same statements and builds the same tables, view and trigger', async () => {
    const [a, b] = await Promise.all([
      createTestDatabase('mariadb', 'uk_dump_cli'),
      createTestDatabase('mariadb', 'uk_dump_split'),
    ]);
    try {
      const sent = await mariadbSends(a, mysqldump);
      const statements = splitStatements(mysqldump, 'mysql');
      // The one difference: the client sends mariadb-dump's sandbox line, a comment no server runs,
      // ahead of the first statement; the splitter drops it.
      expect([sent[0]!.replace('/*M!999999 enable the sandbox mode */ ', ''), ...sent.slice(1)]).toEqual(
        statements.map(asSentByMariadb),
      );
      const connection = await mysql.createConnection(b.connection);
      for (const statement of statements) await connection.query(statement.sql);
      await connection.end();
      const describeDb = async (db: TestDatabase) => {
        const c = await mysql.createConnection(db.connection);
        const [rows] = await c.query('SELECT id, s FROM t ORDER BY id');
        const [view] = await c.query('SELECT id, s FROM v ORDER BY id');
        const [triggers] = await c.query(
          'SELECT TRIGGER_NAME, ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?',
          [db.name],
        );
        await c.end();
        return { rows, view, triggers };
      };
      const [expected, actual] = await Promise.all([describeDb(a), describeDb(b)]);
      expect(actual).toEqual(expected);
      expect(expected.rows).toEqual([
        { id: 1, s: "it';s" },
        { id: 2, s: 'a;b' },
        { id: 3, s: 'x\\' },
        { id: 4, s: '5--3' },
        { id: 5, s: 'd";q' },
        { id: 6, s: 'via the trigger;' },
      ]);
    } finally {
      await Promise.all([a.drop(), b.drop()]);
    }
  });

  it('differential: tricky inputs split as `mariadb -vvv` echoes them', async () => {
    const text = [
      'SELECT 5--3; SELECT 7;',
      'SELECT 1 -- c; x',
      '; SELECT 2 #c;',
      ';',
      'SELECT \'a\\\';b\', "x\\";y", `q``;w`; SELECT 3;',
      '/*!40101 SET @a=1 */; /*!50001 SELECT 1; */ SELECT 2;',
      "/*M!100100 SELECT 'maria' */; SELECT /* c; */ 4;",
      '--x',
      'SELECT 5;',
      'SELECT 6 --x',
      ';',
      'DELIMITER ;;',
      'SELECT 1;;',
      'SELECT 2; SELECT 3;;',
      'delimiter ;',
      'SELECT \\N; SELECT 2\\g SELECT 3\\G',
      'SELECT "a',
      ';b"; SELECT 1#x',
      ';',
      'DELIMITER $$',
      'SELECT 1$$ SELECT 2 $$',
      'DELIMITER ;',
      'SELECT "$$";',
      "SELECT 1 /* a */* 2; SELECT '--'; SELECT 1 -- ",
      ' -1;',
      'SELECT 1;--',
      'SELECT 2;-- x',
      'SELECT 3 ---',
      ';',
      // The client's ss_comment flag: a /*! … */ inside a plain comment does not end it.
      '/* off: /*!40101 SET @x = 1 */; */ SELECT 11;',
      'SELECT 12 /* a /*/ b; */;',
    ].join('\n');
    const db = await createTestDatabase('mariadb', 'uk_diff');
    try {
      const sent = await mariadbSends(db, text, { force: true });
      expect(sent.length).toBeGreaterThan(20);
      expect(splitStatements(text, 'mysql').map(asSentByMariadb)).toEqual(sent);
    } finally {
      await db.drop();
    }
  });
});

describe.runIf(hasPostgres)('on PostgreSQL', () => {
  const db = suiteDatabase('postgres', 'uk_split');

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

  it('differential: psql sends the same statements for tricky inputs', async () => {
    // Errors do not matter here (ON_ERROR_STOP off): only where psql cuts. The last case leaves a
    // string open: psql does not glue E'…' across a newline as the server would.
    const text = [
      String.raw`SELECT E'it\'s; here'; SELECT 'a\'; SELECT 2;`,
      'SELECT /* a /* b; */ c; */ 1; SELECT 2 -- x;',
      ';',
      'CREATE TEMP TABLE tt (a int); CREATE RULE r AS ON INSERT TO tt DO ALSO (SELECT 1; SELECT 2); SELECT (1; 2);',
      'CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 1 ELSE 2 END; END; SELECT 3;',
      'CREATE OR REPLACE PROCEDURE pg_temp.p() LANGUAGE sql BEGIN ATOMIC SELECT 1; END; SELECT 4;',
      'CREATE FUNCTION pg_temp.g(begin int) RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT 10;',
      'SELECT $a$ ; $$ ; $a$, $$;$$, $1; SELECT 5;',
      'SELECT a$b FROM (SELECT 1 AS a$b) x; SELECT 6;',
      String.raw`SELECT U&'d\0061t;a', X'1F', B'10', N'x;'; SELECT 7;`,
      'SELECT "a;""b" FROM (SELECT 1 AS "a;""b") x; SELECT 9;',
      'BEGIN; SELECT 1; END; BEGIN WORK; COMMIT;',
      // Trailing junk: 1E and $1CREATE are single tokens, so no E'…' string and no routine here.
      String.raw`SELECT 1E'a\'; SELECT $1CREATE FUNCTION BEGIN; SELECT 'b';`,
      // psql follows standard_conforming_strings: with it off, '…' takes backslash escapes (from
      // the next line on: psql lexes a line with the setting the server had when it began).
      String.raw`SET standard_conforming_strings = off; SELECT 'a\';`,
      String.raw`SELECT 'a\';b', N'c\';d';`,
      String.raw`RESET standard_conforming_strings; SELECT 'e\';f';`,
      String.raw`SELECT 'g\';`,
      "SELECT 'a'",
      String.raw`  'b;' ; SELECT E'x\''`,
      String.raw` 'y\';z'; SELECT 8;`,
      "SELECT 9';",
    ].join('\n');
    const sent = await psqlSends(db, text, { stopOnError: false });
    expect(sent.length).toBeGreaterThan(25);
    expect(sqls(splitStatements(text, 'postgres'))).toEqual(sent);
  });

  it('a pg_dump file, hand-written and real: psql sends the same statements and loads the same rows', async () => {
    const [byPsql, bySplitter, dumpByPsql, dumpBySplitter] = await Promise.all([
      createTestDatabase('postgres', 'uk_psql'),
      createTestDatabase('postgres', 'uk_ours'),
      createTestDatabase('postgres', 'uk_dump_psql'),
      createTestDatabase('postgres', 'uk_dump_ours'),
    ]);
    const contents = async (target: TestDatabase) => {
      const client = new pg.Client(target.connection);
      await client.connect();
      const { rows } = await client.query('SELECT id, s FROM public.t ORDER BY id');
      const { rows: calls } = await client.query('SELECT public.f(1) AS f, public.g() AS g');
      const { rows: rules } = await client.query("SELECT definition FROM pg_rules WHERE tablename = 't'");
      await client.end();
      return { rows, calls, rules };
    };
    try {
      expect(await psqlSends(byPsql, pgDump)).toEqual(sqls(splitStatements(pgDump, 'postgres')));
      await loadWithSplitter(bySplitter, pgDump);
      const expected = await contents(byPsql);
      expect(await contents(bySplitter)).toEqual(expected);
      expect(expected.rows).toEqual([
        { id: 1, s: 'a;b' },
        { id: 2, s: null },
        { id: 3, s: "tab\there; 'quoted'" },
        { id: 4, s: 'x;y' },
      ]);
      expect(expected.calls).toEqual([{ f: 1, g: ';x;y' }]);

      // The real pg_dump of what psql loaded: \restrict with a random key, COPY, the rule, BEGIN ATOMIC.
      const { host, port, user, password, database } = byPsql.connection;
      const { stdout: dump } = await exec(
        'pg_dump',
        ['-h', host, '-p', String(port), '-U', user, '-d', database],
        {
          env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) },
        },
      );
      const statements = splitStatements(dump, 'postgres', 'dump.sql');
      expect(statements.filter((s) => s.copyData !== undefined)).toHaveLength(1);
      expect(await psqlSends(dumpByPsql, dump)).toEqual(sqls(statements));
      await loadWithSplitter(dumpBySplitter, dump);
      expect(await contents(dumpBySplitter)).toEqual(await contents(dumpByPsql));
      expect(await contents(dumpBySplitter)).toEqual(expected);
    } finally {
      await Promise.all([byPsql, bySplitter, dumpByPsql, dumpBySplitter].map((d) => d.drop()));
    }
  });
});
