import { isMysqlSpace, mysqlToken } from './lex-mysql.js';
import { clientAdvice, clientCommand } from './mysql-client.js';
import { endOfLine, LineIndex, quoteScan, refuse } from './scan.js';
import type { Piece } from './types.js';

/**
 * Splits a file as `mysql < file` / `mariadb < file` does: statements end at the current
 * delimiter outside strings and comments; `DELIMITER xx` on a line that starts a statement
 * changes it; `\g` and `\G` end a statement too. Client commands the runner cannot honour
 * (`source`, `\.`, `system`, `connect`, …) are refused here, before anything runs.
 */
export function splitMysql(text: string, file: string): Piece[] {
  const pieces: Piece[] = [];
  const first = text.charCodeAt(0) === 0xfeff ? 1 : 0; // the client skips a UTF-8 BOM
  const state = { execOnLine: false };
  let delimiter = ';';
  let start = -1; // where the current statement's code starts; -1 while there is none

  const fail = (at: number, command: string, message: string) =>
    refuse(file, new LineIndex(text).lineAt(at), command, message);

  const finish = (end: number) => {
    if (start < 0) return;
    const sql = text.slice(start, end).trimEnd();
    // The client checks each whole statement for its own commands too (`USE db;` is its `use`).
    const command = clientCommand(sql, delimiter);
    if (command && command.name !== 'use') {
      throw fail(
        start,
        command.name,
        command.name === 'delimiter'
          ? 'DELIMITER must be on a line of its own, outside a statement'
          : `mysql client command "${command.name}" is not supported: ${clientAdvice(command.name)}`,
      );
    }
    pieces.push({ start, sql });
    start = -1;
  };

  let pos = first;
  while (pos < text.length) {
    if (start < 0 && (pos === first || text[pos - 1] === '\n')) {
      const eol = endOfLine(text, pos);
      const command = clientCommand(text.slice(pos, eol), delimiter);
      if (command) {
        delimiter = lineCommand(command, text, pos, eol, delimiter, pieces, fail);
        pos = eol;
        continue;
      }
    }
    const token = mysqlToken(text, pos, { delimiter, atStatementStart: start < 0, state });
    pos = token.end;
    // The client would send the rest of the file as one statement and the server refuse it: say
    // where the quote or comment opened, before anything runs.
    if (token.end === text.length) {
      const q = text[token.start] as string;
      if (
        (token.kind === 'string' || token.kind === 'ident') &&
        !quoteScan(text, token.start, q, q !== '`').closed
      )
        throw fail(token.start, 'quote', `the ${q} opened here is never closed: the file ends inside it`);
      if (token.kind === 'comment' && text[token.start + 1] === '*' && !text.endsWith('*/'))
        throw fail(
          token.start,
          'comment',
          'the /* comment opened here is never closed: the file ends inside it',
        );
    }
    switch (token.kind) {
      case 'delimiter':
        finish(token.start);
        break;
      case 'space':
      case 'comment':
        break;
      case 'command': {
        const letter = text[token.start + 1] ?? '';
        if (letter === 'N') {
          // \N is NULL to the server; the client passes it on.
          if (start < 0) start = token.start;
        } else if (letter === 'g' || letter === 'G') finish(token.start);
        else if (letter === '-' && start < 0) {
          // \- turns on the client's sandbox (no file or shell commands), which the runner
          // enforces anyway.
        } else {
          const command = /\S/.test(letter) ? `\\${letter}` : '\\';
          throw fail(
            token.start,
            command,
            `mysql client command ${command} is not supported (a backslash outside quotes is one): ${clientAdvice(letter)}`,
          );
        }
        break;
      }
      case 'exec':
        if (start < 0 && isSandboxComment(text, token.end)) {
          // mariadb-dump's first line, `/*M!999999\- enable the sandbox mode */`: the client
          // turns on its sandbox and no server runs a 99.99.99 comment, so it is only a comment.
          const close = text.indexOf('*/', token.end);
          pos = close < 0 ? text.length : close + 2;
          break;
        }
        if (start < 0) start = token.start;
        break;
      default:
        if (start < 0) start = token.start;
    }
  }
  finish(text.length);
  return pieces;
}

function isSandboxComment(text: string, contentStart: number): boolean {
  return text.slice(contentStart - 6, contentStart) === '999999' && text.startsWith('\\-', contentStart);
}

/** Runs a client command found at the start of a line; returns the delimiter in force after it. */
function lineCommand(
  command: { name: string; arg?: string },
  text: string,
  pos: number,
  eol: number,
  delimiter: string,
  pieces: Piece[],
  fail: (at: number, command: string, message: string) => Error,
): string {
  if (command.name === 'delimiter') {
    if (command.arg === undefined) {
      throw fail(pos, 'delimiter', "DELIMITER must be followed by a 'delimiter' character or string");
    }
    if (command.arg.includes('\\')) {
      throw fail(pos, 'delimiter', 'DELIMITER cannot contain a backslash character');
    }
    return command.arg;
  }
  if (command.name === 'use') {
    // The client runs `use db` without a delimiter; the server's USE does the same.
    let start = pos;
    while (isMysqlSpace(text[start] as string)) start++;
    pieces.push({ start, sql: text.slice(start, eol).trimEnd() });
    return delimiter;
  }
  throw fail(
    pos,
    command.name,
    `mysql client command "${command.name}" is not supported: ${clientAdvice(command.name)}`,
  );
}
