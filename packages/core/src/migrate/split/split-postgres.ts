import { isPostgresIdentStart, postgresToken } from './lex-postgres.js';
import { type MetaState, parseMetaCommand, refusal } from './psql-meta.js';
import { endOfLine, LineIndex, refuse } from './scan.js';
import type { Piece, Token } from './types.js';

/**
 * Variables psql defines itself (`psql -X -c '\set'`, plus the ones a query sets): where a file
 * writes `:DBNAME`, `:'USER'` or `:"DBNAME"`, psql substitutes them and the runner would not.
 */
const PSQL_VARIABLES = new Set([
  'AUTOCOMMIT',
  'COMP_KEYWORD_CASE',
  'DBNAME',
  'ECHO',
  'ECHO_HIDDEN',
  'ENCODING',
  'ERROR',
  'FETCH_COUNT',
  'HIDE_TABLEAM',
  'HIDE_TOAST_COMPRESSION',
  'HISTCONTROL',
  'HISTSIZE',
  'HOST',
  'IGNOREEOF',
  'LAST_ERROR_MESSAGE',
  'LAST_ERROR_SQLSTATE',
  'ON_ERROR_ROLLBACK',
  'ON_ERROR_STOP',
  'PORT',
  'PROMPT1',
  'PROMPT2',
  'PROMPT3',
  'QUIET',
  'ROW_COUNT',
  'SERVER_VERSION_NAME',
  'SERVER_VERSION_NUM',
  'SERVICE',
  'SHOW_ALL_RESULTS',
  'SHOW_CONTEXT',
  'SINGLELINE',
  'SINGLESTEP',
  'SQLSTATE',
  'USER',
  'VERBOSITY',
  'VERSION',
  'VERSION_NAME',
  'VERSION_NUM',
]);

const ROUTINE_HEAD = new Set(['create', 'function', 'procedure', 'or', 'replace']);

/**
 * psql's heuristic for SQL-standard routine bodies (`BEGIN ATOMIC … ; … END`): only in a
 * statement that starts CREATE [OR REPLACE] FUNCTION|PROCEDURE, and outside parentheses, BEGIN
 * and CASE open a block that END closes; a `;` inside one does not end the statement.
 */
class RoutineBlocks {
  depth = 0;
  private heads: string[] = [];
  private count = 0;

  reset(): void {
    this.depth = 0;
    this.count = 0;
  }

  identifier(word: string, parens: number): void {
    const lower = word.toLowerCase();
    if (this.count === 0) this.heads = [];
    if (ROUTINE_HEAD.has(lower) && this.count < 4) this.heads[this.count] = lower[0] as string;
    this.count++;
    const [a, b, c, d] = this.heads;
    const routine =
      a === 'c' && (b === 'f' || b === 'p' || (b === 'o' && c === 'r' && (d === 'f' || d === 'p')));
    if (!routine || parens > 0) return;
    if (lower === 'begin') this.depth++;
    else if (lower === 'case' && this.depth >= 1) this.depth++;
    else if (lower === 'end' && this.depth > 0) this.depth--;
  }
}

/** Whether a statement is `COPY … FROM STDIN`, whose data psql reads from the lines after it. */
export function isCopyFromStdin(sql: string): boolean {
  if (!/^copy\b/i.test(sql)) return false;
  const words: string[] = [];
  let parens = 0;
  for (let pos = 0; pos < sql.length; ) {
    const token = postgresToken(sql, pos);
    pos = token.end;
    const text = sql.slice(token.start, token.end);
    if (text === '(') parens++;
    else if (text === ')') parens--;
    else if (token.kind === 'word' && parens === 0) words.push(text.toLowerCase());
    else if (token.kind !== 'space' && token.kind !== 'comment' && parens === 0) words.push('');
  }
  if (words[0] !== 'copy') return false;
  return words.some((w, i) => w === 'from' && words[i + 1] === 'stdin');
}

/**
 * standard_conforming_strings after a statement, when it sets it: psql follows the server's value
 * (old pg_dump files say `off`, and then '…' strings take backslash escapes) from the next line.
 */
function standardStringsAfter(sql: string, current: boolean): boolean {
  if (/^RESET\s+(ALL|standard_conforming_strings)\s*$/i.test(sql)) return true;
  const set =
    /^SET\s+(?:SESSION\s+|LOCAL\s+)?standard_conforming_strings\s*(?:=|\s+TO)\s*'?(\w+)'?\s*$/i.exec(sql);
  if (!set) return current;
  return !/^(off|false|no|0)$/i.test(set[1] as string);
}

/** COPY data from `from` up to a line that is exactly `\.` (or the end of the file, as psql). */
function copyData(text: string, from: number): { data: string; next: number } {
  for (let i = from; i < text.length; ) {
    const end = endOfLine(text, i);
    const line = text.slice(i, end);
    if (line === '\\.' || line === '\\.\r')
      return { data: text.slice(from, i), next: Math.min(end + 1, text.length) };
    i = end + 1;
  }
  return { data: text.slice(from), next: text.length };
}

/**
 * Splits a file as `psql -f file` does: statements end at `;` outside quotes, comments,
 * parentheses and routine bodies; COPY … FROM STDIN carries the data lines after it; the
 * meta-commands pg_dump writes (`\restrict`, `\unrestrict`) and `\set ON_ERROR_STOP on` are
 * honoured and dropped; any other meta-command is refused before anything runs.
 */
export function splitPostgres(text: string, file: string): Piece[] {
  const pieces: Piece[] = [];
  const meta: MetaState = {};
  const blocks = new RoutineBlocks();
  let start = -1; // where the current statement's code starts; -1 while there is none
  let parens = 0;
  let copy = -1; // index of a COPY … FROM STDIN whose data starts on the next line
  // psql lexes each line with the setting the server had when the line began.
  let standardStrings = true;
  let nextStandardStrings = true;

  const fail = (at: number, command: string, message: string) =>
    refuse(file, new LineIndex(text).lineAt(at), command, message);
  const code = (token: Token) => {
    if (start < 0) start = token.start;
  };
  const finish = (end: number) => {
    if (start >= 0) {
      const sql = text.slice(start, end).trimEnd();
      if (isCopyFromStdin(sql)) copy = pieces.length;
      nextStandardStrings = standardStringsAfter(sql, nextStandardStrings);
      pieces.push({ start, sql });
    }
    start = -1;
    parens = 0;
    blocks.reset();
  };
  const attachCopyData = (data: string) => {
    pieces[copy] = { ...(pieces[copy] as Piece), copyData: data };
    copy = -1;
  };

  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let newline = text.indexOf('\n', pos);
  while (pos < text.length) {
    if (newline >= 0 && pos > newline) {
      standardStrings = nextStandardStrings;
      newline = text.indexOf('\n', pos);
    }
    const token = postgresToken(text, pos, standardStrings);
    pos = token.end;
    if (copy >= 0) {
      if (token.kind === 'space' && text[token.end - 1] === '\n') {
        const { data, next } = copyData(text, token.end);
        attachCopyData(data);
        pos = next;
        continue;
      }
      const sameLine =
        token.kind === 'space' ||
        (token.kind === 'comment' && !/[\n\r]/.test(text.slice(token.start, token.end)));
      if (!sameLine) {
        throw fail(
          token.start,
          'COPY',
          'text after COPY … FROM STDIN on the same line is not supported: psql reads the data from the next line; put the data there and what follows after its \\. line',
        );
      }
    }
    switch (token.kind) {
      case 'space':
      case 'comment':
        break;
      case 'command': {
        const eol = endOfLine(text, token.start);
        const command = parseMetaCommand(text.slice(token.start, eol));
        if (start >= 0) {
          throw fail(
            token.start,
            command.command,
            `psql meta-command ${command.command} in the middle of a statement is not supported: end the statement with ; before it`,
          );
        }
        const why = refusal(command, meta);
        if (why) throw fail(token.start, command.command, why);
        pos = eol;
        break;
      }
      case 'variable': {
        const name = text.slice(token.start + 1, token.end).replace(/^['"]|['"]$/g, '');
        if (PSQL_VARIABLES.has(name)) {
          throw fail(
            token.start,
            text.slice(token.start, token.end),
            `psql variable ${text.slice(token.start, token.end)} is not supported: psql would substitute it, the runner sends SQL as written; use a \${placeholder} from the upgrade configuration`,
          );
        }
        code(token);
        break;
      }
      case 'punct': {
        const c = text[token.start];
        if (c === ';' && parens === 0 && blocks.depth === 0) {
          finish(token.start);
          break;
        }
        if (c === '(') parens++;
        else if (c === ')' && parens > 0) parens--;
        code(token);
        break;
      }
      case 'word':
        if (isPostgresIdentStart(text[token.start] as string)) {
          blocks.identifier(text.slice(token.start, token.end), parens);
        }
        code(token);
        break;
      default:
        code(token);
    }
  }
  finish(text.length);
  if (copy >= 0) attachCopyData('');
  return pieces;
}
