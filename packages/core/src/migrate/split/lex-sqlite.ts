import { codeToken, lineComment, quotedEnd, spaceToken } from './scan.js';
import type { Token } from './types.js';

/**
 * SQLite's tokenizer (tokenize.c) as far as quoting goes: '…' strings, "…", `…` and […]
 * identifiers, `--` and non-nested `/* *\/` comments. The same rules as sqlite3_complete()
 * (complete.c), which split-sqlite.ts follows to split files; also used for placeholders and
 * classification.
 */
const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';

export function sqliteToken(text: string, pos: number): Token {
  const c = text[pos] as string;
  if (isSpace(c)) return spaceToken(text, pos, isSpace);
  if (c === '-' && text[pos + 1] === '-') return lineComment(text, pos);
  if (c === '/' && text[pos + 1] === '*') {
    const close = text.indexOf('*/', pos + 2);
    return { kind: 'comment', start: pos, end: close < 0 ? text.length : close + 2 };
  }
  if (c === "'") return { kind: 'string', start: pos, end: quotedEnd(text, pos, c, false) };
  if (c === '"' || c === '`') return { kind: 'ident', start: pos, end: quotedEnd(text, pos, c, false) };
  if (c === '[') {
    const close = text.indexOf(']', pos + 1);
    return { kind: 'ident', start: pos, end: close < 0 ? text.length : close + 1 };
  }
  return codeToken(text, pos);
}
