import { LineIndex } from './scan.js';
import { splitWithDbgate } from './split-dbgate.js';
import { splitMysql } from './split-mysql.js';
import { splitPostgres } from './split-postgres.js';
import { splitSqlite } from './split-sqlite.js';
import { checkSqlArguments, type Piece, type SqlDialect, type Statement } from './types.js';

export {
  classifyStatement,
  commitsImplicitly,
  type StatementClass,
  type TransactionControl,
} from './classify.js';
export { applyPlaceholders, type PlaceholderOptions } from './placeholders.js';
export type { SqlDialect, Statement } from './types.js';

/**
 * Splits an SQL file into statements exactly where the database's own client would: MySQL and
 * MariaDB files as `mysql < file` (DELIMITER, `#` and `-- ` comments, executable `/*! *\/`
 * comments), PostgreSQL files as `psql -f file` (dollar quotes, nested comments, parentheses,
 * BEGIN ATOMIC bodies, COPY … FROM STDIN data, the meta-commands pg_dump writes), SQLite files as
 * the sqlite3 shell does (sqlite3_complete(): a `;` ends a statement except inside a
 * `CREATE TRIGGER … BEGIN … END` body). ClickHouse files are split by dbgate-query-splitter.
 * Empty and comment-only pieces are dropped.
 *
 * A client command the runner cannot honour (psql `\connect`, `\copy`, `\i`; mysql `source`,
 * `\.`, …) is an `UPGRADEKIT_BAD_INPUT` error naming `file:line`, raised before anything runs.
 *
 * @example
 * splitStatements('INSERT INTO t VALUES (5--3); INSERT INTO t VALUES (7);', 'mysql').length // 2
 */
export function splitStatements(sql: string, dialect: SqlDialect, file = '<sql>'): Statement[] {
  checkSqlArguments('splitStatements', sql, dialect);
  const pieces: Piece[] =
    dialect === 'mysql'
      ? splitMysql(sql, file)
      : dialect === 'postgres'
        ? splitPostgres(sql, file)
        : dialect === 'sqlite'
          ? splitSqlite(sql)
          : splitWithDbgate(sql, dialect);
  const lines = new LineIndex(sql);
  return pieces.map((piece, index) => ({
    index,
    sql: piece.sql,
    line: lines.lineAt(piece.start),
    ...(piece.copyData === undefined ? {} : { copyData: piece.copyData }),
  }));
}
