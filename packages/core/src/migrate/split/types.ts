import { ErrorCodes, UpgradeKitError } from '../../errors/index.js';

const DIALECTS = ['mysql', 'postgres', 'sqlite', 'clickhouse'] as const;
export type SqlDialect = (typeof DIALECTS)[number];

/** One statement of a file, as the database's own client would send it. */
export interface Statement {
  /** 0-based, after empty and comment-only pieces are dropped. */
  readonly index: number;
  /**
   * The text sent to the server: leading comments and whitespace dropped (MySQL's executable
   * `/*! … *\/` ones are code and stay), no trailing delimiter, everything in between as written.
   */
  readonly sql: string;
  /** 1-based line of the file where `sql` starts, for error messages. */
  readonly line: number;
  /**
   * PostgreSQL `COPY … FROM STDIN` only: the data lines that follow the statement in the file, as
   * written (newlines included), without the closing `\.` line.
   */
  readonly copyData?: string;
}

/**
 * What a lexer sees at one position. Each lexer returns whole strings, comments and quoted
 * identifiers as single tokens, so whoever walks the tokens never has to know the quoting rules.
 */
export type TokenKind =
  /** Whitespace; a newline ends it, so the next token starts a line. */
  | 'space'
  /** A comment the server ignores. */
  | 'comment'
  /** MySQL `/*!NNNNN` / `/*M!NNNNNN`: what follows is code the server runs. */
  | 'exec'
  /** A string literal, PostgreSQL dollar quotes included. */
  | 'string'
  /** A quoted identifier. */
  | 'ident'
  /** An unquoted identifier, keyword or number. */
  | 'word'
  /** `${name}`, filled from configuration. */
  | 'placeholder'
  /** `$${name}`, which stands for the text `${name}`. */
  | 'escape'
  /** MySQL: the current DELIMITER. */
  | 'delimiter'
  /** A backslash outside quotes: a mysql client command or a psql meta-command. */
  | 'command'
  /** psql `:name`, `:'name'`, `:"name"`: a variable psql would substitute. */
  | 'variable'
  /** Anything else: one character, or `::` / `:=` in PostgreSQL. */
  | 'punct';

export interface Token {
  readonly kind: TokenKind;
  readonly start: number;
  readonly end: number;
}

/** A statement found by a dialect's splitter: where it starts in the file and its text. */
export interface Piece {
  readonly start: number;
  readonly sql: string;
  readonly copyData?: string;
}

/** The text and dialect every public entry of the splitter needs, checked before any is read. */
export function checkSqlArguments(where: string, sql: unknown, dialect: unknown): void {
  const problems = [
    typeof sql === 'string' ? undefined : `\`sql\` must be the SQL text (got ${typeof sql})`,
    DIALECTS.includes(dialect as never)
      ? undefined
      : `\`dialect\` must be one of ${DIALECTS.join(', ')} (got ${JSON.stringify(dialect) ?? 'nothing'})`,
  ].filter(Boolean);
  if (problems.length > 0)
    throw new UpgradeKitError(ErrorCodes.BAD_INPUT, `${where}: ${problems.join('; ')}`, {
      context: { where },
    });
}
