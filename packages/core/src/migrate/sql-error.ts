import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { SqlDialect, Statement } from './split.js';

/** How much of a failing statement a message quotes; the whole text is in `context.sql`. */
export const STATEMENT_PREFIX_CHARS = 200;

/** What the server said, in its own terms. */
export interface ServerError {
  /** `ER_CANT_CREATE_TABLE`, a SQLSTATE such as `42P01`, ClickHouse's `UNKNOWN_TABLE`, `SQLITE_ERROR`. */
  readonly code?: string;
  /** MariaDB/MySQL's error number (1005), ClickHouse's code (60). */
  readonly errno?: number;
  readonly sqlState?: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
  /** 1-based character in the statement where PostgreSQL located the error. */
  readonly position?: number;
}

/** The structured form of a failed statement, as the state store keeps it. */
export interface StatementFailure {
  readonly server: ServerError;
  readonly file: string;
  /** The line of the file where the error is: the statement's first line, or PostgreSQL's position. */
  readonly line: number;
  /** 1-based. */
  readonly statement: number;
  readonly statements: number;
  readonly statementPrefix: string;
}

/** Reads the server's own code and message out of a driver error (mysql2, pg, better-sqlite3, ClickHouse). */
export function serverError(error: unknown, dialect: SqlDialect): ServerError {
  const e = (error ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const message = text(e.sqlMessage) ?? (error instanceof Error ? error.message : String(error));
  if (dialect === 'mysql') {
    return clean({
      code: text(e.code),
      errno: typeof e.errno === 'number' ? e.errno : undefined,
      sqlState: text(e.sqlState),
      message,
    });
  }
  if (dialect === 'postgres') {
    const position = Number(e.position);
    return clean({
      code: text(e.code),
      sqlState: text(e.code),
      message,
      detail: text(e.detail),
      hint: text(e.hint),
      position: Number.isFinite(position) && position > 0 ? position : undefined,
    });
  }
  if (dialect === 'clickhouse') {
    const errno = Number(e.code);
    return clean({
      code: text(e.type) ?? text(e.code),
      errno: Number.isFinite(errno) ? errno : undefined,
      message: message.trim(),
    });
  }
  return clean({ code: text(e.code), message });
}

/** `ER_CANT_CREATE_TABLE (1005): …`, `SQLSTATE 42P01: …` — the cause, as the client would print it. */
export function formatServerError(server: ServerError, dialect: SqlDialect): string {
  const head =
    dialect === 'postgres'
      ? server.code
        ? `SQLSTATE ${server.code}`
        : 'PostgreSQL'
      : server.code
        ? `${server.code}${server.errno !== undefined && String(server.errno) !== server.code ? ` (${server.errno})` : ''}`
        : undefined;
  const extra = [server.detail ? `DETAIL: ${server.detail}` : '', server.hint ? `HINT: ${server.hint}` : '']
    .filter(Boolean)
    .join(' ');
  return `${head ? `${head}: ` : ''}${server.message}${extra ? ` (${extra})` : ''}`;
}

/** The start of a statement on one line, for messages that must stay short. */
export function statementPrefix(sql: string, chars = STATEMENT_PREFIX_CHARS): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > chars ? `${flat.slice(0, chars)}…` : flat;
}

/**
 * The error a failed statement becomes: the server's code and message first, then where (file:line,
 * statement k of n), then the statement's first 200 characters on a line of its own. The full
 * statement travels in `context.sql` for `--json` and `--verbose`, never in the message.
 */
export class SqlStatementError extends UpgradeKitError {
  override name = 'SqlStatementError';
  readonly failure: StatementFailure;

  constructor(
    input: {
      task: string;
      version: string;
      file: string;
      statement: Statement;
      total: number;
      dialect: SqlDialect;
    },
    cause: unknown,
  ) {
    const server = serverError(cause, input.dialect);
    const { statement } = input;
    const line =
      server.position !== undefined
        ? statement.line + (statement.sql.slice(0, server.position - 1).match(/\n/g)?.length ?? 0)
        : statement.line;
    const failure: StatementFailure = {
      server,
      file: input.file,
      line,
      statement: statement.index + 1,
      statements: input.total,
      statementPrefix: statementPrefix(statement.sql),
    };
    super(
      ErrorCodes.SQL_FAILED,
      `${formatServerError(server, input.dialect)} — at ${input.file}:${line}, statement ${failure.statement} of ${input.total}\n  ${failure.statementPrefix}`,
      {
        cause,
        context: {
          task: input.task,
          version: input.version,
          file: input.file,
          line,
          statement: failure.statement,
          statements: input.total,
          server,
          sql: statement.sql,
        },
      },
    );
    this.failure = failure;
  }

  override detail(): Record<string, unknown> {
    return { code: this.code, ...this.failure };
  }
}

function clean<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
