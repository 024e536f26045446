import { ErrorCodes, UpgradeKitError } from '../../errors/index.js';
import type { Token, TokenKind } from './types.js';

const PLACEHOLDER = /\$\$?\{[A-Za-z_][A-Za-z0-9_.]*\}/y;

/**
 * A `${name}` or `$${name}` token at `pos`, if there is one. Every lexer checks for these before
 * its own rules: `$${x}` would otherwise open a PostgreSQL dollar quote, and `t_${x}` would be
 * swallowed by an identifier that may contain `$`.
 */
export function placeholderAt(text: string, pos: number): Token | undefined {
  if (text.charCodeAt(pos) !== 0x24) return undefined;
  PLACEHOLDER.lastIndex = pos;
  const match = PLACEHOLDER.exec(text);
  if (!match) return undefined;
  const kind: TokenKind = text.charCodeAt(pos + 1) === 0x24 ? 'escape' : 'placeholder';
  return { kind, start: pos, end: pos + match[0].length };
}

/** Letters, digits, `_`, `$` and anything beyond ASCII: a word to every lexer but MySQL's and PostgreSQL's own rules. */
const isWordChar = (c: string): boolean => /[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) >= 0x80;

/** What is left once quotes, comments and space are told: a placeholder, a word, or one punctuation character. */
export function codeToken(text: string, pos: number): Token {
  const placeholder = placeholderAt(text, pos);
  if (placeholder) return placeholder;
  if (isWordChar(text[pos] as string)) {
    let end = pos + 1;
    while (end < text.length && isWordChar(text[end] as string) && !placeholderAt(text, end)) end++;
    return { kind: 'word', start: pos, end };
  }
  return { kind: 'punct', start: pos, end: pos + 1 };
}

/** The end of a `/* … *\/` comment that nests (PostgreSQL's, ClickHouse's) starting at `pos`. */
export function nestedCommentEnd(text: string, pos: number): number {
  let depth = 0;
  for (let i = pos + 2; i < text.length; ) {
    if (text.startsWith('/*', i)) {
      depth++;
      i += 2;
    } else if (text.startsWith('*/', i)) {
      if (depth === 0) return i + 2;
      depth--;
      i += 2;
    } else i++;
  }
  return text.length;
}

/** Whitespace up to and including the first newline, so that a newline always ends a token. */
export function spaceToken(text: string, pos: number, isSpace: (c: string) => boolean): Token {
  let end = pos;
  while (end < text.length && isSpace(text[end] as string)) {
    end++;
    if (text[end - 1] === '\n') break;
  }
  return { kind: 'space', start: pos, end };
}

/** A comment running to the end of the line (the newline is not part of it). */
export function lineComment(text: string, pos: number, alsoCarriageReturn = false): Token {
  let end = pos;
  while (end < text.length && text[end] !== '\n' && !(alsoCarriageReturn && text[end] === '\r')) end++;
  return { kind: 'comment', start: pos, end };
}

/** The end of a quoted run opened at `pos`: a doubled quote stays inside, as does an escaped one. */
export function quotedEnd(text: string, pos: number, quote: string, backslash: boolean): number {
  return quoteScan(text, pos, quote, backslash).end;
}

/** Where a quote ends, and whether it is closed at all (a file may end inside one). */
export function quoteScan(
  text: string,
  pos: number,
  quote: string,
  backslash: boolean,
): { end: number; closed: boolean } {
  let i = pos + 1;
  while (i < text.length) {
    const c = text[i];
    if (backslash && c === '\\') i += 2;
    else if (c === quote) {
      if (text[i + 1] !== quote) return { end: i + 1, closed: true };
      i += 2;
    } else i++;
  }
  return { end: text.length, closed: false };
}

/** 1-based line numbers of offsets in one text. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }

  lineAt(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
}

/** Offset of the end of the line `pos` is on (the newline itself, or the end of the text). */
export function endOfLine(text: string, pos: number): number {
  const nl = text.indexOf('\n', pos);
  return nl < 0 ? text.length : nl;
}

/**
 * The error for text a client would treat as a command the runner cannot honour: raised while the
 * file is split, before anything runs, naming where it is and what to do instead.
 */
export function refuse(file: string, line: number, command: string, message: string): UpgradeKitError {
  return new UpgradeKitError(ErrorCodes.BAD_INPUT, `${file}:${line}: ${message}`, {
    context: { file, line, command },
  });
}
