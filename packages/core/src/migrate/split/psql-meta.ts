/**
 * psql meta-commands (`\name args` to the end of the line) in a file the runner splits. The runner
 * is not psql: it honours the few that pg_dump writes and that change nothing it would do
 * differently, and refuses the rest with what to do instead.
 */
export interface MetaCommand {
  /** As written, with its backslash: `\connect`. */
  readonly command: string;
  readonly args: readonly string[];
}

/** The command name runs to whitespace or the next backslash, as in psqlscanslash.l. */
export function parseMetaCommand(line: string): MetaCommand {
  const name = /^\\[^\s\\]*/.exec(line)?.[0] ?? '\\';
  const args = line
    .slice(name.length)
    .split(/[ \t\r\f\v]+/)
    .filter((a) => a !== '')
    .map((a) => (/^'.*'$/.test(a) ? a.slice(1, -1).replace(/''/g, "'") : a));
  return { command: name, args };
}

// ParseVariableBool(): unique prefixes of true/yes, "on" and "1" are true.
function isTrue(value: string): boolean {
  const v = value.toLowerCase();
  return (v.length > 0 && ('true'.startsWith(v) || 'yes'.startsWith(v))) || v === 'on' || v === '1';
}

const VARIABLES = `psql variables are not supported; use \${placeholders} from the upgrade configuration`;

const ADVICE: Readonly<Record<string, string>> = {
  '\\c': "a task runs on its datasource's database; split the file per database",
  '\\connect': "a task runs on its datasource's database; split the file per database",
  '\\copy':
    'use COPY … FROM stdin with the data on the lines after it (as pg_dump writes it) instead of \\copy',
  '\\i': "put the included file's statements in this file, or in a task of its own",
  '\\ir': "put the included file's statements in this file, or in a task of its own",
  '\\include': "put the included file's statements in this file, or in a task of its own",
  '\\include_relative': "put the included file's statements in this file, or in a task of its own",
  '\\set': VARIABLES,
  '\\unset': VARIABLES,
  '\\;': 'end each statement with ; (the runner sends one statement at a time)',
  '\\g': 'end the statement with ;',
  '\\gx': 'end the statement with ;',
  '\\gexec': 'write the statements out; generated SQL is not run',
  '\\gset': VARIABLES,
  '\\!': 'shell commands do not run in SQL tasks; use a command task',
  '\\q': 'remove it: a task runs its whole file',
};

/** psql's state across a file: the key of `\restrict`, while it is in force. */
export interface MetaState {
  restrictKey?: string;
}

/**
 * What the runner does with a meta-command that starts a statement: undefined when it is honoured
 * (and then dropped), else why it is refused.
 */
export function refusal(meta: MetaCommand, state: MetaState): string | undefined {
  const { command, args } = meta;
  if (command === '\\unrestrict') {
    if (state.restrictKey === undefined) return '\\unrestrict without \\restrict: psql reports an error here';
    if (args[0] !== state.restrictKey)
      return '\\unrestrict with a key other than the \\restrict key: psql reports an error here';
    state.restrictKey = undefined;
    return undefined;
  }
  if (state.restrictKey !== undefined) {
    return `psql meta-command ${command} after \\restrict: psql allows only \\unrestrict there`;
  }
  if (command === '\\restrict') {
    if (!args[0]) return '\\restrict needs a key: psql reports an error here';
    state.restrictKey = args[0];
    return undefined;
  }
  // The runner always stops at the first error, as ON_ERROR_STOP on does.
  if (command === '\\set' && args[0] === 'ON_ERROR_STOP') {
    if (isTrue(args.slice(1).join(''))) return undefined;
    return `\\set ON_ERROR_STOP ${args.slice(1).join(' ')} is not supported: the runner always stops at the first error; remove it or set it on`;
  }
  const advice =
    ADVICE[command] ??
    'only \\restrict, \\unrestrict and \\set ON_ERROR_STOP on are accepted; keep the file to SQL and COPY data';
  return `psql meta-command ${command} is not supported: ${advice}`;
}
