import {
  mysqlSplitterOptions,
  postgreSplitterOptions,
  type SplitterOptions,
  splitQuery,
  sqliteSplitterOptions,
} from 'dbgate-query-splitter';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';

export type SqlDialect = 'mysql' | 'postgres' | 'sqlite' | 'clickhouse';

/** One statement of a file, with the line it starts on (1-based) for error messages. */
export interface Statement {
  readonly index: number;
  readonly sql: string;
  readonly line: number;
}

const OPTIONS: Record<SqlDialect, SplitterOptions> = {
  // MySQL/MariaDB: `DELIMITER $$ … $$ DELIMITER ;` blocks for procedures and triggers. The splitter
  // does not know `#` comments, so one is declared as a "string" that runs to the end of the line:
  // a `;` inside it then cannot end a statement, and the server still sees the comment.
  mysql: {
    ...mysqlSplitterOptions,
    stringsBegins: [...mysqlSplitterOptions.stringsBegins, '#'],
    stringsEnds: { ...mysqlSplitterOptions.stringsEnds, '#': '\n' },
  },
  // PostgreSQL: $$ and $tag$ dollar quotes around function bodies.
  postgres: postgreSplitterOptions,
  sqlite: sqliteSplitterOptions,
  // ClickHouse statements end with `;`; its strings and comments are MySQL-like.
  clickhouse: { ...mysqlSplitterOptions, allowCustomDelimiter: false },
};

// Leading `--`/`#` line comments and plain `/* */` blocks (not MySQL's executable `/*! */`).
const LEADING_COMMENT = /^(\s*(--[^\n]*(\n|$)|#[^\n]*(\n|$)|\/\*(?!!)[\s\S]*?\*\/))+/;

/** Drops comments before a statement, so logs show the statement, and counts the lines dropped. */
function withoutLeadingComments(text: string): { sql: string; skippedLines: number } {
  const match = LEADING_COMMENT.exec(text);
  if (!match) return { sql: text.trim(), skippedLines: 0 };
  const rest = text.slice(match[0].length);
  const skipped = match[0] + (rest.match(/^\s*/)?.[0] ?? '');
  return { sql: rest.trim(), skippedLines: skipped.match(/\n/g)?.length ?? 0 };
}

/**
 * Splits an SQL file into statements with dbgate's splitter, which understands each dialect's
 * strings, comments, MySQL `DELIMITER` blocks and PostgreSQL dollar quotes. Comment-only pieces are
 * dropped; what is left is sent to the server one statement at a time.
 *
 * @example
 * splitStatements('CREATE TABLE t (s TEXT DEFAULT \'a;b\'); SELECT 1;', 'mysql').length // 2
 */
export function splitStatements(sql: string, dialect: SqlDialect): Statement[] {
  const pieces = splitQuery(sql, { ...OPTIONS[dialect], returnRichInfo: true }) as unknown as {
    text: string;
    trimStart?: { line: number };
    start: { line: number };
  }[];
  const statements: Statement[] = [];
  for (const piece of pieces) {
    const { sql: text, skippedLines } = withoutLeadingComments(piece.text);
    if (!text) continue;
    statements.push({
      index: statements.length,
      sql: text,
      line: (piece.trimStart ?? piece.start).line + 1 + skippedLines,
    });
  }
  return statements;
}

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_.]*)\}/g;

/**
 * Replaces `${name}` with values from configuration — never from the environment or the release
 * itself — so a file cannot pull in what the operator did not provide. An unknown name is an error
 * naming the file and line, raised before any statement runs.
 */
export function applyPlaceholders(
  statements: readonly Statement[],
  values: Readonly<Record<string, string>>,
  file: string,
): Statement[] {
  const missing: string[] = [];
  const out = statements.map((s) => ({
    ...s,
    sql: s.sql.replace(PLACEHOLDER, (match, name: string, offset: number) => {
      if (Object.hasOwn(values, name)) return values[name] as string;
      const line = s.line + (s.sql.slice(0, offset).match(/\n/g)?.length ?? 0);
      missing.push(`${file}:${line} \${${name}}`);
      return match;
    }),
  }));
  if (missing.length > 0) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `Unknown placeholder${missing.length === 1 ? '' : 's'} (give ${missing.length === 1 ? 'it a value' : 'them values'} in the upgrade configuration's \`placeholders\`):\n  ${missing.join('\n  ')}`,
      { context: { file, missing } },
    );
  }
  return out;
}

// Statements after which MySQL/MariaDB commit implicitly: they cannot share a transaction.
const IMPLICIT_COMMIT =
  /^\s*(CREATE|ALTER|DROP|RENAME|TRUNCATE|GRANT|REVOKE|LOCK\s+TABLES|UNLOCK\s+TABLES|ANALYZE|OPTIMIZE|REPAIR|INSTALL|UNINSTALL|SET\s+PASSWORD|FLUSH)\b/i;

/** True when a MySQL/MariaDB statement commits implicitly (DDL and its kin). */
export function commitsImplicitly(sql: string): boolean {
  return IMPLICIT_COMMIT.test(sql.replace(/^(\s*(--[^\n]*\n|#[^\n]*\n|\/\*[\s\S]*?\*\/))*/, ''));
}
