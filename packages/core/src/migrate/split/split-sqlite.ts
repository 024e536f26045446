import { sqliteToken } from './lex-sqlite.js';
import type { Piece, Token } from './types.js';

/*
 * sqlite3_complete() (complete.c), which the sqlite3 shell uses to decide that it has a whole
 * statement: a small state machine over a few token classes. A `;` ends a statement, except in
 * the body of `CREATE [TEMP|TEMPORARY] TRIGGER … BEGIN … END`, which only `; END ;` ends (so a
 * bare `BEGIN;` is a transaction, and a `CASE … END` inside a trigger body ends nothing).
 */
enum Tk {
  Semi = 0,
  Ws = 1,
  Other = 2,
  Explain = 3,
  Create = 4,
  Temp = 5,
  Trigger = 6,
  End = 7,
}

// trans[state][token], as in complete.c: a state is its row number, named in the comment beside
// it. The splitter only names the two it acts on: where it begins, and where a statement is whole.
const INVALID = 0;
const START = 1;
const TRANS: readonly (readonly number[])[] = [
  /*                SEMI  WS  OTHER EXPLAIN CREATE TEMP TRIGGER END */
  /* 0 INVALID */ [1, 0, 2, 3, 4, 2, 2, 2],
  /* 1 START   */ [1, 1, 2, 3, 4, 2, 2, 2],
  /* 2 NORMAL  */ [1, 2, 2, 2, 2, 2, 2, 2],
  /* 3 EXPLAIN */ [1, 3, 3, 2, 4, 2, 2, 2],
  /* 4 CREATE  */ [1, 4, 2, 2, 2, 4, 5, 2],
  /* 5 TRIGGER */ [6, 5, 5, 5, 5, 5, 5, 5],
  /* 6 SEMI    */ [6, 6, 5, 5, 5, 5, 5, 7],
  /* 7 END     */ [1, 7, 5, 5, 5, 5, 5, 5],
];

const KEYWORDS: Readonly<Record<string, Tk>> = {
  explain: Tk.Explain,
  create: Tk.Create,
  temp: Tk.Temp,
  temporary: Tk.Temp,
  trigger: Tk.Trigger,
  end: Tk.End,
};

const isPlaceholder = (token: Token | undefined): boolean =>
  token?.kind === 'placeholder' || token?.kind === 'escape';

function tokenClass(text: string, token: Token, previous: Token | undefined): Tk {
  switch (token.kind) {
    case 'space':
    case 'comment':
      return Tk.Ws;
    case 'word': {
      // `END${x}` or `${x}end` is one identifier once filled in, as `END$` is to sqlite3_complete.
      if (isPlaceholder(previous) || text[token.end] === '$') return Tk.Other;
      return KEYWORDS[text.slice(token.start, token.end).toLowerCase()] ?? Tk.Other;
    }
    case 'punct':
      return text[token.start] === ';' ? Tk.Semi : Tk.Other;
    default:
      return Tk.Other;
  }
}

/**
 * Splits a file as the sqlite3 shell does (`sqlite3 db < file`): a statement ends at a `;`
 * outside strings, quoted identifiers and comments, except inside a trigger body, following
 * sqlite3_complete(). Whatever is left at the end of the file is a last statement, as the shell
 * runs it too. Leading comments are dropped; the `;` is not part of the statement. A UTF-8 BOM
 * is skipped (the shell would take it for part of the first word, and so miss a CREATE TRIGGER
 * there). sqlite3 shell dot-commands (`.read`, …) are not recognised: they are not SQL.
 */
export function splitSqlite(text: string): Piece[] {
  const pieces: Piece[] = [];
  let state = INVALID;
  let start = -1; // where the current statement's code starts; -1 while there is none

  const finish = (end: number) => {
    if (start >= 0) pieces.push({ start, sql: text.slice(start, end).trimEnd() });
    start = -1;
  };

  let previous: Token | undefined;
  for (let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0; pos < text.length; ) {
    const token = sqliteToken(text, pos);
    pos = token.end;
    const tk = tokenClass(text, token, previous);
    previous = token;
    state = TRANS[state]![tk]!;
    if (tk === Tk.Semi) {
      if (state === START) finish(token.start);
    } else if (tk !== Tk.Ws && start < 0) start = token.start;
  }
  finish(text.length);
  return pieces;
}
