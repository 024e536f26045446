import { lexemes } from '../split/classify.js';
import type { SqlDialect } from '../split/types.js';
import { facts, type Name, type ObjectKind, rerun, type Shape, unknown } from './facts.js';
import { Reader } from './reader.js';
import { alter, rename } from './shape-alter.js';

export type { Expectation, Fact, Name, ObjectKind, Shape } from './facts.js';

/** Statements whose second run leaves what the first left. */
const RERUN_FIRST = new Set([
  'SET',
  'USE',
  'SELECT',
  'DO',
  'SHOW',
  'TRUNCATE',
  'OPTIMIZE',
  'ANALYZE',
  'REPAIR',
  'CHECK',
  'CHECKSUM',
  'FLUSH',
  'GRANT',
  'REVOKE',
  'LOCK',
  'UNLOCK',
  'VACUUM',
  'REINDEX',
  'CLUSTER',
  'COMMENT',
]);

const OBJECTS: Record<string, ObjectKind> = {
  TABLE: 'table',
  VIEW: 'view',
  PROCEDURE: 'procedure',
  FUNCTION: 'function',
  TRIGGER: 'trigger',
  EVENT: 'event',
  DATABASE: 'database',
  SCHEMA: 'database',
  SEQUENCE: 'sequence',
  INDEX: 'index',
  DICTIONARY: 'table',
};

/**
 * Reads a statement left in doubt for what the catalog can settle.
 *
 * @example
 * statementShape('ALTER TABLE t ADD COLUMN c INT, ADD INDEX i (c)', 'mysql')
 * // { kind: 'facts', expect: [{ fact: column t.c, after: true }, { fact: index t.i, after: true }] }
 */
export function statementShape(sql: string, dialect: SqlDialect): Shape {
  const l = lexemes(sql, dialect, 4096);
  const r = new Reader(l, dialect);
  const first = r.word();
  if (!first) return unknown('no statement');
  // PostgreSQL's DO runs a block of code; MySQL's only evaluates expressions.
  if (RERUN_FIRST.has(first) && !(first === 'DO' && dialect !== 'mysql'))
    return rerun(`${first} leaves the same state when run again`);
  if (first === 'CREATE') return create(r, dialect);
  if (first === 'DROP') return drop(r, dialect);
  if (first === 'RENAME') return rename(r);
  if (first === 'ALTER') return alter(r, dialect);
  return unknown(`${first} may change data each time it runs`);
}

function create(r: Reader, dialect: SqlDialect): Shape {
  for (;;) {
    const w = r.peekWord();
    if (w === 'OR' && r.peekWord(1) === 'REPLACE') return rerun('CREATE OR REPLACE replaces what is there');
    if (w === 'TEMPORARY' || w === 'TEMP') return unknown('a temporary object belongs to the lost session');
    if (w === 'ALGORITHM' || w === 'DEFINER') {
      r.skip(1);
      r.skipPunct('=');
      r.skipUser();
      continue;
    }
    if (w === 'SQL' && r.peekWord(1) === 'SECURITY') {
      r.skip(3);
      continue;
    }
    if (w === 'MATERIALIZED' && r.peekWord(1) === 'VIEW') {
      // ClickHouse POPULATE / PostgreSQL WITH DATA: existence says nothing of the rows.
      return unknown('a materialized view may exist before its rows are in');
    }
    if (
      w &&
      ['UNIQUE', 'FULLTEXT', 'SPATIAL', 'AGGREGATE', 'ONLINE', 'OFFLINE', 'RECURSIVE', 'OR'].includes(w)
    ) {
      r.skip(1);
      continue;
    }
    break;
  }
  const objectWord = r.word();
  const object = objectWord ? OBJECTS[objectWord] : undefined;
  if (!object) return unknown(`CREATE ${objectWord ?? ''} is not read for evidence`.trim());
  if (object === 'index' && dialect === 'postgres' && r.peekWord() === 'CONCURRENTLY') {
    r.skip(1);
    if (r.peekWord() === 'IF') r.skip(3);
    if (r.peekWord() === 'ON') return unknown('an unnamed index cannot be looked up');
    const index = r.name();
    return index ? { kind: 'concurrent-index', index } : unknown('no index name');
  }
  if (r.ifNotExists()) return rerun('IF NOT EXISTS');
  const name = r.name();
  if (!name) return unknown('an unnamed object cannot be looked up');
  if (object === 'index') {
    if (r.peekWord() !== 'ON') return unknown('no ON <table> after the index name');
    r.skip(1);
    const table = r.name();
    if (!table) return unknown('no table');
    return facts([{ fact: { kind: 'index', table, index: name.name }, after: true }]);
  }
  if (object === 'table' && dialect === 'clickhouse' && r.hasWordLater('SELECT')) {
    return unknown('a table made from a SELECT may exist before its rows are in');
  }
  return facts([{ fact: { kind: 'object', object, name }, after: true }]);
}

function drop(r: Reader, dialect: SqlDialect): Shape {
  const objectWord = r.word();
  if (objectWord === 'TEMPORARY') return unknown('a temporary object belongs to the lost session');
  const object = objectWord ? OBJECTS[objectWord] : undefined;
  if (!object) return unknown(`DROP ${objectWord ?? ''} is not read for evidence`.trim());
  if (dialect === 'postgres' && r.peekWord() === 'CONCURRENTLY') r.skip(1);
  if (r.ifExists()) return rerun('IF EXISTS');
  const names: Name[] = [];
  for (;;) {
    const name = r.name();
    if (!name) break;
    names.push(name);
    if (!r.skipPunct(',')) break;
  }
  if (names.length === 0) return unknown('no name');
  if (object === 'index' && dialect !== 'postgres') {
    if (r.peekWord() !== 'ON') return unknown('no ON <table> after the index name');
    r.skip(1);
    const table = r.name();
    if (!table) return unknown('no table');
    return facts(names.map((n) => ({ fact: { kind: 'index', table, index: n.name }, after: false })));
  }
  return facts(names.map((name) => ({ fact: { kind: 'object', object, name }, after: false })));
}
