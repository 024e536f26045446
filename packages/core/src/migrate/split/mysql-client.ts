import { isMysqlSpace } from './lex-mysql.js';

/**
 * The mysql/mariadb client's own commands (client/mysql.cc, commands[]): a line that starts a
 * statement with one of these names is run by the client, not sent to the server. Only
 * `DELIMITER` and `USE` mean something for a migration; the runner refuses the others.
 */
const COMMANDS: Readonly<Record<string, { readonly params: boolean; readonly letter: string }>> = {
  '?': { params: true, letter: '?' },
  clear: { params: false, letter: 'c' },
  connect: { params: true, letter: 'r' },
  delimiter: { params: true, letter: 'd' },
  edit: { params: false, letter: 'e' },
  ego: { params: false, letter: 'G' },
  exit: { params: false, letter: 'q' },
  go: { params: false, letter: 'g' },
  help: { params: true, letter: 'h' },
  nopager: { params: false, letter: 'n' },
  notee: { params: false, letter: 't' },
  pager: { params: true, letter: 'P' },
  print: { params: false, letter: 'p' },
  prompt: { params: true, letter: 'R' },
  quit: { params: false, letter: 'q' },
  rehash: { params: false, letter: '#' },
  source: { params: true, letter: '.' },
  status: { params: false, letter: 's' },
  system: { params: true, letter: '!' },
  tee: { params: true, letter: 'T' },
  use: { params: true, letter: 'u' },
  charset: { params: true, letter: 'C' },
  warnings: { params: false, letter: 'W' },
  nowarning: { params: false, letter: 'w' },
};

const ADVICE: Readonly<Record<string, string>> = {
  delimiter: 'write DELIMITER on a line of its own, between statements',
  source: "put the sourced file's statements in this file, or in a task of its own",
  system: 'shell commands do not run in SQL tasks; use a command task',
  connect: "a task runs on its datasource's database; split the file per database",
  exit: 'remove it: a task runs its whole file',
  quit: 'remove it: a task runs its whole file',
};

/** How the client would advise to replace a command it runs itself (by name or by letter). */
export function clientAdvice(name: string): string {
  const byLetter = Object.entries(COMMANDS).find(([, c]) => c.letter === name)?.[0];
  return (
    ADVICE[byLetter ?? name] ??
    'mysql client commands do not run here; end each statement with the delimiter and keep only SQL'
  );
}

export interface ClientCommand {
  readonly name: string;
  readonly arg?: string;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && isMysqlSpace(text[i] as string)) i++;
  return i;
}

/**
 * The client's get_arg(): the first argument after the command word, quotes (' " `) removed.
 * The client ends an unquoted argument at a space only; here any whitespace ends it, so that a
 * CRLF file's `DELIMITER ;;\r` means `;;`.
 */
export function clientArg(text: string): string | undefined {
  let i = skipSpace(text, 0);
  while (i < text.length && !isMysqlSpace(text[i] as string)) i++;
  i = skipSpace(text, i);
  if (i >= text.length) return undefined;
  let quote = '';
  if (text[i] === "'" || text[i] === '"' || text[i] === '`') quote = text[i++] as string;
  let arg = '';
  for (; i < text.length; i++) {
    const c = text[i] as string;
    if (
      (c === '\\' && i + 1 < text.length && quote !== '`') ||
      (quote && c === quote && text[i + 1] === quote)
    ) {
      arg += text[++i];
    } else if (quote ? c === quote : isMysqlSpace(c)) {
      if (quote) quote = '';
      break;
    } else arg += c;
  }
  return arg !== '' && !quote ? arg : undefined;
}

/**
 * The client's find_command(): whether `text` — a line that starts a statement, or a whole
 * statement when it ends — is one of the client's own commands.
 */
export function clientCommand(text: string, delimiter: string): ClientCommand | undefined {
  const body = text.slice(skipSpace(text, 0)).replace(/\r$/, '');
  const isDelimiterCommand = body.slice(0, 9).toLowerCase() === 'delimiter';
  if (body.includes('\\g') || (body.includes(delimiter) && !isDelimiterCommand)) return undefined;
  const nameEnd = body.search(/[ \t]/);
  const name = (nameEnd < 0 ? body : body.slice(0, nameEnd)).toLowerCase();
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) return undefined;
  const hasArgs = nameEnd >= 0 && skipSpace(body, nameEnd) < body.length;
  if (!hasArgs) return { name };
  const arg = command.params ? clientArg(body) : undefined;
  return arg === undefined ? undefined : { name, arg };
}
