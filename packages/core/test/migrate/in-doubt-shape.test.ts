// What the catalog can settle about a statement left in doubt (issue 16): the reading of the
// statement, table-driven. The catalog queries themselves run against real servers in
// test/in-doubt.test.ts and the SIGKILL trials.
import { describe, expect, it } from 'vitest';
import { statementShape } from '../../src/migrate/in-doubt/index.js';
import type { SqlDialect } from '../../src/migrate/split.js';

const col = (table: string, column: string, after: boolean) => ({
  fact: { kind: 'column', table: { name: table }, column },
  after,
});
const idx = (table: string, index: string, after: boolean) => ({
  fact: { kind: 'index', table: { name: table }, index },
  after,
});
const obj = (object: string, name: string, after: boolean, schema?: string) => ({
  fact: { kind: 'object', object, name: schema ? { schema, name } : { name } },
  after,
});

const cases: [SqlDialect, string, unknown][] = [
  ['mysql', 'CREATE TABLE `Foo` (id INT)', { kind: 'facts', expect: [obj('table', 'Foo', true)] }],
  ['mysql', 'CREATE TABLE db.t LIKE s', { kind: 'facts', expect: [obj('table', 't', true, 'db')] }],
  ['mysql', 'CREATE TABLE IF NOT EXISTS t (i INT)', { kind: 'rerun', why: 'IF NOT EXISTS' }],
  ['mysql', 'CREATE OR REPLACE VIEW v AS SELECT 1', expect.objectContaining({ kind: 'rerun' })],
  [
    'mysql',
    '/*!50001 CREATE ALGORITHM=UNDEFINED */ /*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */ /*!50001 VIEW `v` AS select 1 AS `1` */',
    { kind: 'facts', expect: [obj('view', 'v', true)] },
  ],
  [
    'mysql',
    "CREATE DEFINER='a'@'%' TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.x = 1",
    { kind: 'facts', expect: [obj('trigger', 'tr', true)] },
  ],
  [
    'mysql',
    'CREATE DEFINER=CURRENT_USER PROCEDURE p() BEGIN SELECT 1; END',
    { kind: 'facts', expect: [obj('procedure', 'p', true)] },
  ],
  ['mysql', 'CREATE UNIQUE INDEX i ON t (c)', { kind: 'facts', expect: [idx('t', 'i', true)] }],
  [
    'mysql',
    'ALTER TABLE t ADD COLUMN c INT NOT NULL DEFAULT 0, ADD INDEX i_c (c), MODIFY d BIGINT, ALGORITHM=COPY',
    { kind: 'facts', expect: [col('t', 'c', true), idx('t', 'i_c', true)] },
  ],
  ['mysql', 'ALTER TABLE t ADD INDEX (c)', expect.objectContaining({ kind: 'unknown' })],
  [
    'mysql',
    'ALTER TABLE t DROP FOREIGN KEY fk1, DROP COLUMN x, RENAME COLUMN a TO b',
    {
      kind: 'facts',
      expect: [
        { fact: { kind: 'constraint', table: { name: 't' }, constraint: 'fk1' }, after: false },
        col('t', 'x', false),
        col('t', 'a', false),
        col('t', 'b', true),
      ],
    },
  ],
  [
    'mysql',
    'ALTER TABLE t CHANGE a b INT',
    { kind: 'facts', expect: [col('t', 'a', false), col('t', 'b', true)] },
  ],
  ['mysql', 'ALTER TABLE t CHANGE a a BIGINT', expect.objectContaining({ kind: 'rerun' })],
  ['mysql', 'ALTER TABLE t MODIFY c BIGINT NOT NULL', expect.objectContaining({ kind: 'rerun' })],
  ['mysql', '/*!40000 ALTER TABLE `t` DISABLE KEYS */', expect.objectContaining({ kind: 'rerun' })],
  ['mysql', 'ALTER TABLE t ADD COLUMN IF NOT EXISTS c INT', expect.objectContaining({ kind: 'rerun' })],
  [
    'mysql',
    'DROP TABLE a, b',
    { kind: 'facts', expect: [obj('table', 'a', false), obj('table', 'b', false)] },
  ],
  ['mysql', 'DROP TABLE IF EXISTS a', expect.objectContaining({ kind: 'rerun' })],
  ['mysql', 'DROP INDEX i ON t', { kind: 'facts', expect: [idx('t', 'i', false)] }],
  [
    'mysql',
    'RENAME TABLE a TO b, c TO d',
    {
      kind: 'facts',
      expect: [
        obj('table', 'a', false),
        obj('table', 'b', true),
        obj('table', 'c', false),
        obj('table', 'd', true),
      ],
    },
  ],
  ['mysql', 'TRUNCATE TABLE t', expect.objectContaining({ kind: 'rerun' })],
  ['mysql', 'UPDATE t SET v = v + 1', expect.objectContaining({ kind: 'unknown' })],
  ['mysql', 'CALL p()', expect.objectContaining({ kind: 'unknown' })],
  [
    'postgres',
    'CREATE INDEX CONCURRENTLY "Big_I" ON big (v)',
    { kind: 'concurrent-index', index: { name: 'Big_I' } },
  ],
  [
    'postgres',
    'CREATE INDEX CONCURRENTLY Big_I ON big (v)',
    { kind: 'concurrent-index', index: { name: 'big_i' } },
  ],
  ['postgres', 'CREATE INDEX CONCURRENTLY ON big (v)', expect.objectContaining({ kind: 'unknown' })],
  ['postgres', 'DROP INDEX CONCURRENTLY big_i', { kind: 'facts', expect: [obj('index', 'big_i', false)] }],
  ['postgres', 'VACUUM ANALYZE t', expect.objectContaining({ kind: 'rerun' })],
  ['postgres', 'DO $$ BEGIN PERFORM 1; END $$', expect.objectContaining({ kind: 'unknown' })],
  [
    'clickhouse',
    'CREATE TABLE e (i UInt8) ENGINE = Memory',
    { kind: 'facts', expect: [obj('table', 'e', true)] },
  ],
  ['clickhouse', 'ALTER TABLE e ADD COLUMN c UInt8', { kind: 'facts', expect: [col('e', 'c', true)] }],
  ['clickhouse', 'CREATE TABLE e2 ENGINE = Memory AS SELECT 1', expect.objectContaining({ kind: 'unknown' })],
  ['clickhouse', 'INSERT INTO e VALUES (1)', expect.objectContaining({ kind: 'unknown' })],
];

describe('statementShape', () => {
  it.each(cases)('%s: %s', (dialect, sql, shape) => {
    expect(statementShape(sql, dialect)).toEqual(shape);
  });
});
