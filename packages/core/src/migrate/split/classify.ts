import { tokens } from './lex.js';
import { checkSqlArguments, type SqlDialect } from './types.js';

export type TransactionControl =
  | 'begin'
  | 'commit'
  | 'rollback'
  | 'autocommit-off'
  | 'autocommit-on'
  | 'savepoint'
  | 'release'
  | 'rollback-to';

/** What the runner needs to know about a statement before it sends it. */
export interface StatementClass {
  /**
   * The first keyword, upper-case, seen through comments and MySQL's `/*!NNNNN` and `/*M!NNNNNN`
   * wrappers: `'CREATE'`, `'INSERT'`, `'SET'`, `'COPY'`. Empty when there is none.
   */
  readonly keyword: string;
  /** MySQL/MariaDB: the server commits the open transaction around it (DDL and its kin). */
  readonly commitsImplicitly: boolean;
  /** The statement starts, ends or marks a transaction, or switches autocommit. */
  readonly transactionControl?: TransactionControl;
  /** PostgreSQL: cannot run inside a transaction block (`CREATE INDEX CONCURRENTLY`, `VACUUM`, …). */
  readonly noTransactionBlock: boolean;
  /**
   * PostgreSQL: what it makes cannot be used until it is committed (`ALTER TYPE … ADD VALUE`, since
   * PostgreSQL 12 allowed in a block): a file is never wrapped in one transaction around it, but a
   * file's own `BEGIN … COMMIT` around it stays one unit, as psql runs it.
   */
  readonly usableAfterCommit: boolean;
  /** Changes the session (SET, USE, set_config, …): to be replayed on a new connection. */
  readonly changesSession: boolean;
}

export interface Lexeme {
  readonly kind: 'word' | 'string' | 'ident' | 'punct';
  /** Upper-case for words; as written otherwise. */
  readonly text: string;
  /** A word as written (identifiers keep their case). */
  readonly raw?: string;
}

// Enough to decide: what matters is at the start, and a long INSERT need not be lexed to its end.
const LEXEMES = 256;

/** The statement's code without comments or MySQL's version wrappers: what the server parses. */
export function lexemes(sql: string, dialect: SqlDialect, limit = LEXEMES): Lexeme[] {
  const out: Lexeme[] = [];
  let closing = false; // just skipped the `*` of the `*/` that closes a /*! wrapper
  for (const token of tokens(sql, dialect)) {
    if (out.length >= limit) break;
    const text = sql.slice(token.start, token.end);
    const slash = closing && text === '/';
    closing = false;
    if (slash || token.kind === 'space' || token.kind === 'comment' || token.kind === 'exec') continue;
    if (dialect === 'mysql' && text === '*' && sql[token.end] === '/') {
      closing = true;
      continue;
    }
    if (token.kind === 'word') out.push({ kind: 'word', text: text.toUpperCase(), raw: text });
    else if (token.kind === 'string' || token.kind === 'ident') out.push({ kind: token.kind, text });
    else out.push({ kind: 'punct', text });
  }
  return out;
}

/**
 * Classifies one statement (as splitStatements returns it) for the runner: which keyword
 * it starts with, whether it commits implicitly (MySQL), controls the transaction, refuses a
 * transaction block (PostgreSQL) or changes the session.
 *
 * @example
 * classifyStatement('/*!40000 ALTER TABLE `t` DISABLE KEYS *\/', 'mysql').commitsImplicitly // true
 * classifyStatement('CREATE INDEX CONCURRENTLY i ON t (c)', 'postgres').noTransactionBlock // true
 */
export function classifyStatement(sql: string, dialect: SqlDialect): StatementClass {
  checkSqlArguments('classifyStatement', sql, dialect);
  const all = lexemes(sql, dialect);
  let first = 0;
  while (all[first]?.text === '(') first++;
  const l = all.slice(first);
  const control = transactionControl(l, dialect);
  return {
    keyword: word(l, 0),
    commitsImplicitly: dialect === 'mysql' && mysqlCommits(l),
    ...(control ? { transactionControl: control } : {}),
    noTransactionBlock: dialect === 'postgres' && postgresNoBlock(l),
    usableAfterCommit:
      dialect === 'postgres' && word(l, 0) === 'ALTER' && word(l, 1) === 'TYPE' && hasSeq(l, 'ADD', 'VALUE'),
    changesSession: changesSession(l, dialect),
  };
}

/** True when a MySQL/MariaDB statement commits implicitly (DDL and its kin). */
export function commitsImplicitly(sql: string): boolean {
  return classifyStatement(sql, 'mysql').commitsImplicitly;
}

function word(l: readonly Lexeme[], k: number): string {
  const lexeme = l[k];
  return lexeme?.kind === 'word' ? lexeme.text : '';
}

const words = (l: readonly Lexeme[]): string[] => l.filter((x) => x.kind === 'word').map((x) => x.text);

// MySQL's "Statements That Cause an Implicit Commit", except transaction control, which the
// runner follows on its own; CREATE/DROP TEMPORARY TABLE do not commit.
function mysqlCommits(l: readonly Lexeme[]): boolean {
  const w = (k: number) => word(l, k);
  switch (w(0)) {
    case 'CREATE':
      return w(w(1) === 'OR' && w(2) === 'REPLACE' ? 3 : 1) !== 'TEMPORARY';
    case 'DROP':
      return w(1) !== 'TEMPORARY';
    case 'ALTER':
    case 'RENAME':
    case 'TRUNCATE':
    case 'GRANT':
    case 'REVOKE':
    case 'INSTALL':
    case 'UNINSTALL':
    case 'FLUSH':
    case 'OPTIMIZE':
    case 'REPAIR':
    case 'CACHE':
      return true;
    case 'ANALYZE':
      // MariaDB's ANALYZE SELECT/UPDATE/… runs a statement and reports on it.
      return !['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'FORMAT'].includes(w(1));
    case 'CHECK':
      return w(1) === 'TABLE' || w(1) === 'VIEW';
    case 'LOAD':
      return w(1) === 'INDEX';
    case 'LOCK':
    case 'UNLOCK':
      return w(1) === 'TABLES' || w(1) === 'TABLE';
    case 'SET':
      return w(1) === 'PASSWORD';
    case 'RESET':
      return w(1) !== 'PERSIST';
    case 'CHANGE':
      return w(1) === 'MASTER' || w(1) === 'REPLICATION';
    case 'START':
    case 'STOP':
      return ['SLAVE', 'REPLICA', 'ALL'].includes(w(1));
    default:
      return false;
  }
}

function transactionControl(l: readonly Lexeme[], dialect: SqlDialect): TransactionControl | undefined {
  const w = (k: number) => word(l, k);
  const endsAt = (k: number) => l.length === k;
  switch (w(0)) {
    case 'START':
      return w(1) === 'TRANSACTION' ? 'begin' : undefined;
    case 'BEGIN': {
      // Not a compound statement (MariaDB's BEGIN NOT ATOMIC … END, a routine body).
      const isTransaction =
        dialect === 'mysql'
          ? endsAt(1) || (w(1) === 'WORK' && endsAt(2))
          : dialect === 'postgres'
            ? endsAt(1) || ['WORK', 'TRANSACTION', 'ISOLATION', 'READ', 'NOT', 'DEFERRABLE'].includes(w(1))
            : dialect === 'sqlite'
              ? endsAt(1) || ['DEFERRED', 'IMMEDIATE', 'EXCLUSIVE', 'TRANSACTION'].includes(w(1))
              : w(1) === 'TRANSACTION';
      return isTransaction ? 'begin' : undefined;
    }
    case 'COMMIT':
      return w(1) === 'PREPARED' ? undefined : 'commit';
    case 'END':
      return dialect === 'postgres' || dialect === 'sqlite' ? 'commit' : undefined;
    case 'ABORT':
      return dialect === 'postgres' ? 'rollback' : undefined;
    case 'ROLLBACK': {
      if (w(1) === 'PREPARED') return undefined;
      const to = w(1) === 'WORK' || w(1) === 'TRANSACTION' ? 2 : 1;
      return w(to) === 'TO' ? 'rollback-to' : 'rollback';
    }
    case 'SAVEPOINT':
      return 'savepoint';
    case 'RELEASE':
      return dialect !== 'mysql' || w(1) === 'SAVEPOINT' ? 'release' : undefined;
    case 'SET':
      return dialect === 'mysql' ? autocommit(l) : undefined;
    default:
      return undefined;
  }
}

/** `SET [SESSION|LOCAL] autocommit = v` or `SET @@[session.]autocommit = v`, among other assignments. */
function autocommit(l: readonly Lexeme[]): TransactionControl | undefined {
  let result: TransactionControl | undefined;
  let depth = 0;
  let from = 1;
  for (let k = 1; k <= l.length; k++) {
    const text = l[k]?.text;
    if (k === l.length || (text === ',' && depth === 0)) {
      result = autocommitAssignment(l.slice(from, k)) ?? result;
      from = k + 1;
    } else if (text === '(') depth++;
    else if (text === ')') depth--;
  }
  return result;
}

function autocommitAssignment(a: readonly Lexeme[]): TransactionControl | undefined {
  const t = (k: number) => a[k]?.text ?? '';
  let k = 0;
  if (t(0) === 'SESSION' || t(0) === 'LOCAL') k = 1;
  else if (t(0) === '@' && t(1) === '@') k = t(3) === '.' && (t(2) === 'SESSION' || t(2) === 'LOCAL') ? 4 : 2;
  if (t(k) !== 'AUTOCOMMIT') return undefined;
  k += t(k + 1) === ':' && t(k + 2) === '=' ? 3 : t(k + 1) === '=' ? 2 : 0;
  const value = a[k];
  if (k === 0 || !value || a.length !== k + 1) return undefined;
  const v = (value.kind === 'string' ? value.text.slice(1, -1) : value.text).toUpperCase();
  if (['0', 'OFF', 'FALSE'].includes(v)) return 'autocommit-off';
  if (['1', 'ON', 'TRUE', 'DEFAULT'].includes(v)) return 'autocommit-on';
  return undefined;
}

// PostgreSQL statements documented as not allowed in a transaction block, plus ALTER TYPE … ADD
// VALUE, whose new value cannot be used before the transaction that adds it commits.
/** The words `seq` appear one after another somewhere in the statement. */
function hasSeq(l: readonly Lexeme[], ...seq: string[]): boolean {
  const all = words(l);
  return all.some((_, i) => seq.every((s, j) => all[i + j] === s));
}

function postgresNoBlock(l: readonly Lexeme[]): boolean {
  const w = (k: number) => word(l, k);
  const has = (...seq: string[]) => hasSeq(l, ...seq);
  switch (w(0)) {
    case 'CREATE':
      return (
        (w(1) === 'INDEX' && w(2) === 'CONCURRENTLY') ||
        (w(1) === 'UNIQUE' && w(2) === 'INDEX' && w(3) === 'CONCURRENTLY') ||
        ['DATABASE', 'TABLESPACE', 'SUBSCRIPTION'].includes(w(1))
      );
    case 'DROP':
      return (
        (w(1) === 'INDEX' && w(2) === 'CONCURRENTLY') ||
        ['DATABASE', 'TABLESPACE', 'SUBSCRIPTION'].includes(w(1))
      );
    case 'REINDEX':
      return has('CONCURRENTLY') || has('DATABASE') || has('SYSTEM');
    case 'VACUUM':
      return true;
    case 'ALTER':
      return (
        w(1) === 'SYSTEM' ||
        (w(1) === 'SUBSCRIPTION' && has('PUBLICATION')) ||
        (w(1) === 'DATABASE' && has('SET', 'TABLESPACE')) ||
        (w(1) === 'TABLE' && has('DETACH', 'PARTITION') && has('CONCURRENTLY'))
      );
    case 'CLUSTER': {
      // Without a table, CLUSTER reclusters every table, one transaction each.
      let k = 1;
      if (l[k]?.text === '(') {
        while (k < l.length && l[k]?.text !== ')') k++;
        k++;
      }
      if (w(k) === 'VERBOSE') k++;
      return k >= l.length;
    }
    case 'COMMIT':
    case 'ROLLBACK':
      return w(1) === 'PREPARED';
    case 'DISCARD':
      return w(1) === 'ALL';
    default:
      return false;
  }
}

function changesSession(l: readonly Lexeme[], dialect: SqlDialect): boolean {
  const w = (k: number) => word(l, k);
  switch (w(0)) {
    case 'SET':
      if (dialect === 'mysql') {
        // Not the session: a user's password or default role, or the server's global settings.
        const scope = l[1]?.text === '@' && l[2]?.text === '@' ? w(3) : w(1);
        return !['PASSWORD', 'GLOBAL', 'PERSIST', 'PERSIST_ONLY', 'DEFAULT'].includes(scope);
      }
      return dialect !== 'sqlite';
    case 'USE':
      return dialect === 'mysql' || dialect === 'clickhouse';
    case 'RESET':
    case 'DISCARD':
      return dialect === 'postgres';
    case 'SELECT':
      return (
        dialect === 'postgres' &&
        (w(1) === 'SET_CONFIG' || (w(1) === 'PG_CATALOG' && l[2]?.text === '.' && w(3) === 'SET_CONFIG'))
      );
    case 'PRAGMA':
      return dialect === 'sqlite' && l.some((x) => x.text === '=');
    case 'ATTACH':
    case 'DETACH':
      return dialect === 'sqlite';
    default:
      return false;
  }
}
