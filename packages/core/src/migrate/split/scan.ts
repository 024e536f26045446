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
