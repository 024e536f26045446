import { codeToken, lineComment, nestedCommentEnd, quotedEnd, spaceToken } from './scan.js';
import type { Token } from './types.js';

/**
 * ClickHouse's lexer (Lexer.cpp) as far as quoting goes: '…' strings and "…"/`…` identifiers
 * with backslash escapes, `--` and `#` comments, nested `/* *\/` comments. dbgate splits
 * ClickHouse files; this only tells code from quotes and comments for placeholders and
 * classification.
 */
const isSpace = (c: string): boolean =>
  c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';

export function clickhouseToken(text: string, pos: number): Token {
  const c = text[pos] as string;
  if (isSpace(c)) return spaceToken(text, pos, isSpace);
  if ((c === '-' && text[pos + 1] === '-') || c === '#') return lineComment(text, pos);
  if (c === '/' && text[pos + 1] === '*')
    return { kind: 'comment', start: pos, end: nestedCommentEnd(text, pos) };
  if (c === "'") return { kind: 'string', start: pos, end: quotedEnd(text, pos, c, true) };
  if (c === '"' || c === '`') return { kind: 'ident', start: pos, end: quotedEnd(text, pos, c, true) };
  return codeToken(text, pos);
}
