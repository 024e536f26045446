import { clickhouseToken } from './lex-clickhouse.js';
import { mysqlToken } from './lex-mysql.js';
import { postgresToken } from './lex-postgres.js';
import { sqliteToken } from './lex-sqlite.js';
import type { SqlDialect, Token } from './types.js';

type Lexer = (text: string, pos: number) => Token;

// The MySQL lexer carries state from token to token (see MysqlLexState): a fresh one per text.
const LEXERS: Record<SqlDialect, () => Lexer> = {
  mysql: () => {
    const state = { execOnLine: false };
    return (text, pos) => mysqlToken(text, pos, { state });
  },
  postgres: () => postgresToken,
  sqlite: () => sqliteToken,
  clickhouse: () => clickhouseToken,
};

/** The tokens of one statement's text, by the same rules its dialect's splitter used. */
export function* tokens(text: string, dialect: SqlDialect): Generator<Token> {
  const lex = LEXERS[dialect]();
  for (let pos = 0; pos < text.length; ) {
    const token = lex(text, pos);
    yield token;
    pos = token.end;
  }
}

export function tokenize(text: string, dialect: SqlDialect): Token[] {
  return [...tokens(text, dialect)];
}

/** Offset of the first token that is neither whitespace nor comment, or -1. */
export function codeStart(text: string, dialect: SqlDialect): number {
  const lex = LEXERS[dialect]();
  for (let pos = 0; pos < text.length; ) {
    const token = lex(text, pos);
    if (token.kind !== 'space' && token.kind !== 'comment') return token.start;
    pos = token.end;
  }
  return -1;
}
