import { lineComment, nestedCommentEnd, placeholderAt, quotedEnd, spaceToken } from './scan.js';
import type { Token } from './types.js';

export const isPostgresSpace = (c: string): boolean =>
  c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';

const isIdentStart = (c: string): boolean => /[A-Za-z_]/.test(c) || c.charCodeAt(0) >= 0x80;
const isIdentCont = (c: string): boolean => /[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) >= 0x80;

export const isPostgresIdentStart = isIdentStart;

const DOLLAR_QUOTE = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;
const VARIABLE = /:(?:[A-Za-z0-9_\u0080-\uffff]+|'[A-Za-z0-9_\u0080-\uffff]+'|"[A-Za-z0-9_\u0080-\uffff]+")/y;

/**
 * The end of a number (or `$n` parameter) starting at `pos`. An identifier right after it is
 * part of the same token ("trailing junk", PostgreSQL 16+), so `1E'a\\'` is not an E'…' string.
 */
function numberEnd(text: string, pos: number): number {
  let end = pos;
  while (/[0-9_.]/.test(text[end] ?? '')) end++;
  if (end < text.length && isIdentStart(text[end] as string)) {
    end++;
    while (end < text.length && isIdentCont(text[end] as string) && !placeholderAt(text, end)) end++;
  }
  return end;
}

/** A string opened by a one- or two-letter prefix (E'…', B'…', X'…', N'…', U&'…', U&"…") at `pos`. */
function prefixedString(text: string, pos: number, standardStrings: boolean): Token | undefined {
  const c = (text[pos] as string).toLowerCase();
  const next = text[pos + 1];
  if (next === "'") {
    if (c === 'e') return { kind: 'string', start: pos, end: quotedEnd(text, pos + 1, "'", true) };
    if (c === 'b' || c === 'x')
      return { kind: 'string', start: pos, end: quotedEnd(text, pos + 1, "'", false) };
    if (c === 'n')
      return { kind: 'string', start: pos, end: quotedEnd(text, pos + 1, "'", !standardStrings) };
  }
  if (c === 'u' && next === '&') {
    const quote = text[pos + 2];
    if (quote === "'") return { kind: 'string', start: pos, end: quotedEnd(text, pos + 2, "'", false) };
    if (quote === '"') return { kind: 'ident', start: pos, end: quotedEnd(text, pos + 2, '"', false) };
  }
  return undefined;
}

/**
 * The lexical rules of psql (src/fe_utils/psqlscan.l, which follows the server's scan.l): '…'
 * keeps backslashes (unless standard_conforming_strings is off), E'…' escapes with them; `/* *\/`
 * comments nest; `$tag$…$tag$` quotes anything; a `$` inside an identifier is part of it.
 *
 * The server glues 'a' <newline> 'b' into one literal, and an E'…' string keeps its escapes in the
 * piece after the newline; psql does not, because it lexes a file line by line and never sees the
 * newline between them. So neither does this lexer: `E'x\''` <newline> `'y\';` ends at `\';`.
 */
export function postgresToken(text: string, pos: number, standardStrings = true): Token {
  const c = text[pos] as string;
  const next = text[pos + 1];
  if (isPostgresSpace(c)) return spaceToken(text, pos, isPostgresSpace);
  if (c === '-' && next === '-') return lineComment(text, pos, true);
  if (c === '/' && next === '*') return { kind: 'comment', start: pos, end: nestedCommentEnd(text, pos) };
  if (c === "'") return { kind: 'string', start: pos, end: quotedEnd(text, pos, "'", !standardStrings) };
  if (c === '"') return { kind: 'ident', start: pos, end: quotedEnd(text, pos, '"', false) };
  if (c === '$') {
    const placeholder = placeholderAt(text, pos);
    if (placeholder) return placeholder;
    if (/[0-9]/.test(next ?? '')) return { kind: 'word', start: pos, end: numberEnd(text, pos + 1) };
    DOLLAR_QUOTE.lastIndex = pos;
    const delimiter = DOLLAR_QUOTE.exec(text)?.[0];
    if (delimiter) {
      const close = text.indexOf(delimiter, pos + delimiter.length);
      return { kind: 'string', start: pos, end: close < 0 ? text.length : close + delimiter.length };
    }
    return { kind: 'punct', start: pos, end: pos + 1 };
  }
  if (isIdentStart(c)) {
    const prefixed = prefixedString(text, pos, standardStrings);
    if (prefixed) return prefixed;
    let end = pos + 1;
    while (end < text.length && isIdentCont(text[end] as string) && !placeholderAt(text, end)) end++;
    return { kind: 'word', start: pos, end };
  }
  if (/[0-9]/.test(c)) return { kind: 'word', start: pos, end: numberEnd(text, pos) };
  if (c === '\\') return { kind: 'command', start: pos, end: pos + 1 };
  if (c === ':') {
    if (next === ':' || next === '=') return { kind: 'punct', start: pos, end: pos + 2 };
    VARIABLE.lastIndex = pos;
    if (VARIABLE.exec(text)) return { kind: 'variable', start: pos, end: VARIABLE.lastIndex };
  }
  return { kind: 'punct', start: pos, end: pos + 1 };
}
