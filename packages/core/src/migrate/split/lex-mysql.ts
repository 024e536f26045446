import { lineComment, placeholderAt, quotedEnd, spaceToken } from './scan.js';
import type { Token } from './types.js';

/**
 * What the client remembers between tokens on one line: its `ss_comment` flag, set by `/*!` and
 * cleared by the next `*\/` or the end of the line. While it is set, a `*\/` does not end a plain
 * comment (it only clears the flag), so `/* off: /*!40101 SET x = 1 *\/; *\/` is one comment.
 */
export interface MysqlLexState {
  execOnLine: boolean;
}

export interface MysqlLexOptions {
  /** The current DELIMITER; none when lexing a single statement. */
  readonly delimiter?: string;
  /** Nothing but whitespace and comments since the last statement ended. */
  readonly atStatementStart?: boolean;
  /** Carried from token to token by whoever walks a text; a fresh one per text. */
  readonly state?: MysqlLexState;
}

// my_isspace: the C locale's whitespace.
export const isMysqlSpace = (c: string): boolean =>
  c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';

const isWordChar = (c: string): boolean => /[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) >= 0x80;

/** Where a plain `/* … *\/` comment opened at `pos` ends, by the client's reading of it. */
function commentEnd(text: string, pos: number, state: MysqlLexState): number {
  let i = pos + 2;
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') state.execOnLine = false;
    else if (c === '/' && text[i + 1] === '*') {
      if (text[i + 2] === '!') state.execOnLine = true;
      // Another opener: the client reads `/*` as a pair, so its `*` cannot close anything.
      else if (!text.startsWith('M!', i + 2)) i++;
    } else if (c === '*' && text[i + 1] === '/') {
      if (!state.execOnLine) return i + 2;
      state.execOnLine = false;
    }
    i++;
  }
  return text.length;
}

/**
 * The lexical rules of the mysql/mariadb command-line client (client/mysql.cc, add_line), which
 * decide where its statements end. They differ from the server's in places that matter: `--` is a
 * comment only before whitespace or at the end of a line (or at the very start of a statement, a
 * MariaDB leniency), so `5--3` is an expression; `#` comments anywhere; `/*!` and `/*M!` comments
 * are code, so the delimiter inside one still ends a statement.
 */
export function mysqlToken(text: string, pos: number, options: MysqlLexOptions = {}): Token {
  const { delimiter, atStatementStart = false, state = { execOnLine: false } } = options;
  const c = text[pos] as string;
  const next = text[pos + 1];
  if (c === '\\') return { kind: 'command', start: pos, end: Math.min(pos + 2, text.length) };
  if (delimiter && text.startsWith(delimiter, pos)) {
    return { kind: 'delimiter', start: pos, end: pos + delimiter.length };
  }
  if (c === '#') return lineComment(text, pos);
  if (c === '-' && next === '-') {
    const after = text[pos + 2];
    if (after === undefined || isMysqlSpace(after) || atStatementStart) return lineComment(text, pos);
  }
  if (c === '/' && next === '*') {
    const bang = text[pos + 2] === '!' ? pos + 3 : text.startsWith('M!', pos + 2) ? pos + 4 : -1;
    if (bang < 0) return { kind: 'comment', start: pos, end: commentEnd(text, pos, state) };
    if (bang === pos + 3) state.execOnLine = true;
    let end = bang;
    while (end < bang + 6 && /[0-9]/.test(text[end] ?? '')) end++;
    return { kind: 'exec', start: pos, end };
  }
  if (c === "'" || c === '"' || c === '`') {
    const end = quotedEnd(text, pos, c, c !== '`');
    const newline = text.indexOf('\n', pos);
    if (newline >= 0 && newline < end) state.execOnLine = false;
    return { kind: c === '`' ? 'ident' : 'string', start: pos, end };
  }
  const placeholder = placeholderAt(text, pos);
  if (placeholder) return placeholder;
  if (isWordChar(c)) {
    let end = pos + 1;
    while (
      end < text.length &&
      isWordChar(text[end] as string) &&
      !(delimiter && text.startsWith(delimiter, end)) &&
      !placeholderAt(text, end)
    ) {
      end++;
    }
    return { kind: 'word', start: pos, end };
  }
  if (isMysqlSpace(c)) {
    const token = spaceToken(text, pos, isMysqlSpace);
    if (text[token.end - 1] === '\n') state.execOnLine = false;
    return token;
  }
  if (c === '*' && next === '/') state.execOnLine = false;
  return { kind: 'punct', start: pos, end: pos + 1 };
}
