// Statements that change what exists — RENAME TABLE, and ALTER clause by clause: the facts each
// changes, or why it cannot be told.
import type { SqlDialect } from '../split/types.js';
import {
  columnFact,
  constraintFact,
  type Expectation,
  type Fact,
  facts,
  indexFact,
  type Name,
  renamed,
  rerun,
  type Shape,
  tableFact,
  unknown,
} from './facts.js';
import { Reader } from './reader.js';

/** `RENAME TABLE a TO b, c TO d`. */
export function rename(r: Reader): Shape {
  if (r.word() !== 'TABLE') return unknown('RENAME of something other than tables');
  const out: Expectation[] = [];
  for (;;) {
    const from = r.name();
    if (!from || r.word() !== 'TO') return unknown('RENAME TABLE not read');
    const to = r.name();
    if (!to) return unknown('RENAME TABLE not read');
    out.push(...renamed(tableFact(from), tableFact(to)));
    if (!r.skipPunct(',')) break;
  }
  return facts(out);
}

// ALTER TABLE clauses whose second run leaves what the first left.
const RERUN_CLAUSES = new Set([
  'MODIFY',
  'CONVERT',
  'ENGINE',
  'COMMENT',
  'AUTO_INCREMENT',
  'ORDER',
  'ALGORITHM',
  'LOCK',
  'FORCE',
  'DISABLE',
  'ENABLE',
  'DEFAULT',
  'CHARACTER',
  'CHARSET',
  'COLLATE',
  'ROW_FORMAT',
  'KEY_BLOCK_SIZE',
  'STATS_PERSISTENT',
  'STATS_AUTO_RECALC',
  'STATS_SAMPLE_PAGES',
  'PACK_KEYS',
  'CHECKSUM',
  'DELAY_KEY_WRITE',
  'AVG_ROW_LENGTH',
  'MAX_ROWS',
  'MIN_ROWS',
  'TTL',
  'SETTINGS',
  'OWNER',
  'SET',
  'RESET',
  'CLUSTER',
  'INHERIT',
  'NO',
  'REPLICA',
]);

export function alter(r: Reader, dialect: SqlDialect): Shape {
  for (const skip of ['ONLINE', 'IGNORE']) if (r.peekWord() === skip) r.skip(1);
  const what = r.word();
  if (what === 'DATABASE' || what === 'SCHEMA') return rerun('ALTER DATABASE sets options');
  if (what === 'VIEW' || what === 'EVENT') return rerun(`ALTER ${what} replaces its definition`);
  if (what === 'SYSTEM') return rerun('ALTER SYSTEM sets a value');
  if (what !== 'TABLE') return unknown(`ALTER ${what ?? ''} is not read for evidence`.trim());
  r.ifExists();
  if (dialect === 'postgres' && r.peekWord() === 'ONLY') r.skip(1);
  const table = r.name();
  if (!table) return unknown('no table name');
  const out: Expectation[] = [];
  let sawRerun = false;
  for (const clause of r.clauses()) {
    const c = new Reader(clause, dialect);
    const shape = alterClause(c, table, dialect);
    if (shape.kind === 'unknown') return shape;
    if (shape.kind === 'rerun') sawRerun = true;
    else if (shape.kind === 'facts') out.push(...shape.expect);
  }
  if (out.length === 0)
    return sawRerun ? rerun('every clause leaves the same state when run again') : unknown('no clause');
  return facts(out);
}

function alterClause(c: Reader, table: Name, dialect: SqlDialect): Shape {
  const w = c.word();
  if (!w) return unknown('an empty clause');
  if (RERUN_CLAUSES.has(w) || c.peekPunct('=')) return rerun(`${w} sets a definition`);
  if (w === 'ALTER') return rerun('ALTER COLUMN sets a definition');
  if (w === 'ADD') return addClause(c, table, dialect);
  if (w === 'DROP') return dropClause(c, table, dialect);
  if (w === 'RENAME') {
    const kind = c.peekWord();
    if (kind === 'COLUMN' || ((kind === 'INDEX' || kind === 'KEY') && dialect === 'mysql')) {
      c.skip(1);
      const from = c.ident();
      if (!from || c.word() !== 'TO') return unknown('RENAME not read');
      const to = c.ident();
      if (!to) return unknown('RENAME not read');
      const fact = (n: string): Fact => (kind === 'COLUMN' ? columnFact(table, n) : indexFact(table, n));
      return facts(renamed(fact(from), fact(to)));
    }
    if (kind === 'TO' || kind === 'AS' || kind === undefined) {
      if (kind) c.skip(1);
      const to = c.name();
      if (!to) return unknown('RENAME not read');
      return facts(renamed(tableFact(table), tableFact(to)));
    }
    if (dialect === 'postgres') {
      // PostgreSQL's RENAME a TO b renames a column.
      const from = c.ident();
      if (from && c.word() === 'TO') {
        const to = c.ident();
        if (to) return facts(renamed(columnFact(table, from), columnFact(table, to)));
      }
    }
    return unknown('RENAME not read');
  }
  if (w === 'CHANGE') {
    if (c.peekWord() === 'COLUMN') c.skip(1);
    if (c.ifExists()) return rerun('IF EXISTS');
    const from = c.ident();
    const to = c.ident();
    if (!from || !to) return unknown('CHANGE not read');
    if (from === to) return rerun('CHANGE of a column to itself sets its definition');
    return facts(renamed(columnFact(table, from), columnFact(table, to)));
  }
  return unknown(`${w} is not read for evidence`);
}

/**
 * How an ADD (`after`: the object exists afterwards) or a DROP clause of `table` is read when it
 * names one object: past its `IF [NOT] EXISTS`, which makes a second run harmless, to the fact the
 * clause changes, or `unnamed` when no name can be read (`read` says how; `undefined`: none).
 */
function namedObject(c: Reader, table: Name, after: boolean) {
  return (
    fact: (table: Name, name: string) => Fact,
    unnamed: string,
    read: () => string | undefined = () => c.ident(),
  ): Shape => {
    if (after ? c.ifNotExists() : c.ifExists()) return rerun(after ? 'IF NOT EXISTS' : 'IF EXISTS');
    const name = read();
    if (!name) return unknown(unnamed);
    return facts([{ fact: fact(table, name), after }]);
  };
}

function addClause(c: Reader, table: Name, dialect: SqlDialect): Shape {
  const w = c.peekWord();
  // A name that is followed by `(`, not one that is the `(`: `FOREIGN KEY (a)` names nothing.
  const nameBeforeParen = () => (c.peekPunct('(') ? undefined : c.ident());
  const added = namedObject(c, table, true);
  if (w === 'CONSTRAINT') {
    c.skip(1);
    // MySQL files a named PRIMARY KEY as PRIMARY, a UNIQUE as an index; both are in
    // TABLE_CONSTRAINTS, which is where a constraint's name is looked up.
    return added(constraintFact, 'an unnamed constraint cannot be looked up');
  }
  if (w === 'PRIMARY') {
    if (dialect !== 'mysql') return unknown('an unnamed constraint cannot be looked up');
    return facts([{ fact: indexFact(table, 'PRIMARY'), after: true }]);
  }
  if (w === 'FOREIGN') {
    c.skip(2);
    return added(constraintFact, 'an unnamed foreign key cannot be looked up', nameBeforeParen);
  }
  if (w && ['INDEX', 'KEY', 'UNIQUE', 'FULLTEXT', 'SPATIAL'].includes(w)) {
    if (dialect !== 'mysql') return unknown(`ADD ${w} is not read for evidence`);
    c.skip(1);
    if (
      (w === 'UNIQUE' || w === 'FULLTEXT' || w === 'SPATIAL') &&
      ['INDEX', 'KEY'].includes(c.peekWord() ?? '')
    )
      c.skip(1);
    // Without a name, a second run adds a second index: only a person can tell.
    return added(indexFact, 'an unnamed index cannot be looked up', nameBeforeParen);
  }
  if (w === 'PARTITION' || w === 'PERIOD' || w === 'CHECK' || w === 'PROJECTION' || w === 'STATISTICS')
    return unknown(`ADD ${w} is not read for evidence`);
  if (w === 'COLUMN') c.skip(1);
  if (c.ifNotExists()) return rerun('IF NOT EXISTS');
  if (c.peekPunct('(')) return unknown('ADD (…) of several columns is not read for evidence');
  const column = c.ident();
  if (!column) return unknown('ADD not read');
  return facts([{ fact: columnFact(table, column), after: true }]);
}

function dropClause(c: Reader, table: Name, dialect: SqlDialect): Shape {
  const w = c.peekWord();
  const dropped = namedObject(c, table, false);
  if (w === 'CONSTRAINT' || w === 'CHECK' || (w === 'FOREIGN' && c.peekWord(1) === 'KEY')) {
    c.skip(w === 'FOREIGN' ? 2 : 1);
    return dropped(constraintFact, 'DROP not read');
  }
  if (w === 'PRIMARY') {
    if (dialect !== 'mysql') return unknown('DROP PRIMARY not read');
    return facts([{ fact: indexFact(table, 'PRIMARY'), after: false }]);
  }
  if (w === 'INDEX' || w === 'KEY') {
    if (dialect !== 'mysql') return unknown(`DROP ${w} is not read for evidence`);
    c.skip(1);
    return dropped(indexFact, 'DROP not read');
  }
  if (w === 'PARTITION' || w === 'PERIOD' || w === 'PROJECTION' || w === 'SYSTEM')
    return unknown(`DROP ${w} is not read for evidence`);
  if (w === 'DEFAULT') return rerun('DROP DEFAULT');
  if (w === 'COLUMN') c.skip(1);
  return dropped(columnFact, 'DROP not read');
}
