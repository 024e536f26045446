import { lineComment, placeholderAt, quotedEnd, spaceToken } from './scan.js';
import type { Token } from './types.js';

/**
 * ClickHouse's lexer (Lexer.cpp) as far as quoting goes: '…' strings and "…"/`…` identifiers
 * with backslash escapes, `--` and `#` comments, nested `/* *\/` comments. dbgate splits
 * ClickHouse files; this only tells code from quotes and comments for placeholders and
 * classification.
 */
const isSpace = (c: string): boolean =>
  c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
const isWordChar = (c: string): boolean => /[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) >= 0x80;

function nestedCommentEnd(text: string, pos: number): number {
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

export function clickhouseToken(text: string, pos: number): Token {
  const c = text[pos] as string;
  if (isSpace(c)) return spaceToken(text, pos, isSpace);
  if ((c === '-' && text[pos + 1] === '-') || c === '#') return lineComment(text, pos);
  if (c === '/' && text[pos + 1] === '*')
    return { kind: 'comment', start: pos, end: nestedCommentEnd(text, pos) };
  if (c === "'") return { kind: 'string', start: pos, end: quotedEnd(text, pos, c, true) };
  if (c === '"' || c === '`') return { kind: 'ident', start: pos, end: quotedEnd(text, pos, c, true) };
  const placeholder = placeholderAt(text, pos);
  if (placeholder) return placeholder;
  if (isWordChar(c)) {
    let end = pos + 1;
    while (end < text.length && isWordChar(text[end] as string) && !placeholderAt(text, end)) end++;
    return { kind: 'word', start: pos, end };
  }
  return { kind: 'punct', start: pos, end: pos + 1 };
}
