import { type Lexeme, lexemes } from '../split/classify.js';
import type { SqlDialect } from '../split/types.js';

/** A possibly schema-qualified name, as the server will look it up (case folded where it folds). */
export interface Name {
  readonly schema?: string;
  readonly name: string;
}

/** Something the catalog can say exists or not. */
export type Fact =
  | {
      readonly kind: 'object';
      readonly object: ObjectKind;
      readonly name: Name;
    }
  | { readonly kind: 'column'; readonly table: Name; readonly column: string }
  | { readonly kind: 'index'; readonly table: Name; readonly index: string }
  | { readonly kind: 'constraint'; readonly table: Name; readonly constraint: string };

export type ObjectKind =
  | 'table'
  | 'view'
  | 'procedure'
  | 'function'
  | 'trigger'
  | 'event'
  | 'database'
  | 'sequence'
  | 'index';

/** A fact and whether it holds once the statement has taken effect (it does not hold before). */
export interface Expectation {
  readonly fact: Fact;
  readonly after: boolean;
}

/**
 * What can be known about a statement that may or may not have taken effect:
 * - `rerun`: running it again gives the same end state whether it took effect or not
 *   (`IF [NOT] EXISTS`, `CREATE OR REPLACE`, `MODIFY`, `TRUNCATE`, `VACUUM`, `SET`, …);
 * - `facts`: it took effect exactly when every expectation holds (DDL is atomic on these
 *   servers), and did not when none does;
 * - `concurrent-index`: PostgreSQL's `CREATE INDEX CONCURRENTLY`, which can leave an INVALID index;
 * - `unknown`: only a person can tell (DML outside a transaction, `CALL`, an unnamed index).
 */
export type Shape =
  | { readonly kind: 'rerun'; readonly why: string }
  | { readonly kind: 'facts'; readonly expect: readonly Expectation[] }
  | { readonly kind: 'concurrent-index'; readonly index: Name }
  | { readonly kind: 'unknown'; readonly why: string };

const rerun = (why: string): Shape => ({ kind: 'rerun', why });
const unknown = (why: string): Shape => ({ kind: 'unknown', why });

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
  if (r.peekWord() === 'IF' && r.peekWord(1) === 'NOT') return rerun('IF NOT EXISTS');
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
  if (r.peekWord() === 'IF' && r.peekWord(1) === 'EXISTS') return rerun('IF EXISTS');
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

function rename(r: Reader): Shape {
  if (r.word() !== 'TABLE') return unknown('RENAME of something other than tables');
  const out: Expectation[] = [];
  for (;;) {
    const from = r.name();
    if (!from || r.word() !== 'TO') return unknown('RENAME TABLE not read');
    const to = r.name();
    if (!to) return unknown('RENAME TABLE not read');
    out.push(
      { fact: { kind: 'object', object: 'table', name: from }, after: false },
      { fact: { kind: 'object', object: 'table', name: to }, after: true },
    );
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

function alter(r: Reader, dialect: SqlDialect): Shape {
  for (const skip of ['ONLINE', 'IGNORE']) if (r.peekWord() === skip) r.skip(1);
  const what = r.word();
  if (what === 'DATABASE' || what === 'SCHEMA') return rerun('ALTER DATABASE sets options');
  if (what === 'VIEW' || what === 'EVENT') return rerun(`ALTER ${what} replaces its definition`);
  if (what === 'SYSTEM') return rerun('ALTER SYSTEM sets a value');
  if (what !== 'TABLE') return unknown(`ALTER ${what ?? ''} is not read for evidence`.trim());
  if (r.peekWord() === 'IF' && r.peekWord(1) === 'EXISTS') r.skip(2);
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
      const fact = (n: string): Fact =>
        kind === 'COLUMN' ? { kind: 'column', table, column: n } : { kind: 'index', table, index: n };
      return facts([
        { fact: fact(from), after: false },
        { fact: fact(to), after: true },
      ]);
    }
    if (kind === 'TO' || kind === 'AS' || kind === undefined) {
      if (kind) c.skip(1);
      const to = c.name();
      if (!to) return unknown('RENAME not read');
      return facts([
        { fact: { kind: 'object', object: 'table', name: table }, after: false },
        { fact: { kind: 'object', object: 'table', name: to }, after: true },
      ]);
    }
    if (dialect === 'postgres') {
      // PostgreSQL's RENAME a TO b renames a column.
      const from = c.ident();
      if (from && c.word() === 'TO') {
        const to = c.ident();
        if (to)
          return facts([
            { fact: { kind: 'column', table, column: from }, after: false },
            { fact: { kind: 'column', table, column: to }, after: true },
          ]);
      }
    }
    return unknown('RENAME not read');
  }
  if (w === 'CHANGE') {
    if (c.peekWord() === 'COLUMN') c.skip(1);
    if (c.peekWord() === 'IF' && c.peekWord(1) === 'EXISTS') return rerun('IF EXISTS');
    const from = c.ident();
    const to = c.ident();
    if (!from || !to) return unknown('CHANGE not read');
    if (from === to) return rerun('CHANGE of a column to itself sets its definition');
    return facts([
      { fact: { kind: 'column', table, column: from }, after: false },
      { fact: { kind: 'column', table, column: to }, after: true },
    ]);
  }
  return unknown(`${w} is not read for evidence`);
}

function addClause(c: Reader, table: Name, dialect: SqlDialect): Shape {
  const w = c.peekWord();
  const ifNot = () => {
    if (c.peekWord() === 'IF' && c.peekWord(1) === 'NOT') {
      c.skip(3);
      return true;
    }
    return false;
  };
  if (w === 'CONSTRAINT') {
    c.skip(1);
    if (ifNot()) return rerun('IF NOT EXISTS');
    const name = c.ident();
    if (!name) return unknown('an unnamed constraint cannot be looked up');
    // MySQL files a named PRIMARY KEY as PRIMARY, a UNIQUE as an index; both are in
    // TABLE_CONSTRAINTS, which is where a constraint's name is looked up.
    return facts([{ fact: { kind: 'constraint', table, constraint: name }, after: true }]);
  }
  if (w === 'PRIMARY') {
    if (dialect !== 'mysql') return unknown('an unnamed constraint cannot be looked up');
    return facts([{ fact: { kind: 'index', table, index: 'PRIMARY' }, after: true }]);
  }
  if (w === 'FOREIGN') {
    c.skip(2);
    if (ifNot()) return rerun('IF NOT EXISTS');
    const name = c.peekPunct('(') ? undefined : c.ident();
    if (!name) return unknown('an unnamed foreign key cannot be looked up');
    return facts([{ fact: { kind: 'constraint', table, constraint: name }, after: true }]);
  }
  if (w && ['INDEX', 'KEY', 'UNIQUE', 'FULLTEXT', 'SPATIAL'].includes(w)) {
    if (dialect !== 'mysql') return unknown(`ADD ${w} is not read for evidence`);
    c.skip(1);
    if (
      (w === 'UNIQUE' || w === 'FULLTEXT' || w === 'SPATIAL') &&
      ['INDEX', 'KEY'].includes(c.peekWord() ?? '')
    )
      c.skip(1);
    if (ifNot()) return rerun('IF NOT EXISTS');
    const name = c.peekPunct('(') ? undefined : c.ident();
    // Without a name, a second run adds a second index: only a person can tell.
    if (!name) return unknown('an unnamed index cannot be looked up');
    return facts([{ fact: { kind: 'index', table, index: name }, after: true }]);
  }
  if (w === 'PARTITION' || w === 'PERIOD' || w === 'CHECK' || w === 'PROJECTION' || w === 'STATISTICS')
    return unknown(`ADD ${w} is not read for evidence`);
  if (w === 'COLUMN') c.skip(1);
  if (ifNot()) return rerun('IF NOT EXISTS');
  if (c.peekPunct('(')) return unknown('ADD (…) of several columns is not read for evidence');
  const column = c.ident();
  if (!column) return unknown('ADD not read');
  return facts([{ fact: { kind: 'column', table, column }, after: true }]);
}

function dropClause(c: Reader, table: Name, dialect: SqlDialect): Shape {
  const w = c.peekWord();
  const ifExists = () => {
    if (c.peekWord() === 'IF' && c.peekWord(1) === 'EXISTS') {
      c.skip(2);
      return true;
    }
    return false;
  };
  if (w === 'CONSTRAINT' || w === 'CHECK' || (w === 'FOREIGN' && c.peekWord(1) === 'KEY')) {
    c.skip(w === 'FOREIGN' ? 2 : 1);
    if (ifExists()) return rerun('IF EXISTS');
    const name = c.ident();
    if (!name) return unknown('DROP not read');
    return facts([{ fact: { kind: 'constraint', table, constraint: name }, after: false }]);
  }
  if (w === 'PRIMARY') {
    if (dialect !== 'mysql') return unknown('DROP PRIMARY not read');
    return facts([{ fact: { kind: 'index', table, index: 'PRIMARY' }, after: false }]);
  }
  if (w === 'INDEX' || w === 'KEY') {
    if (dialect !== 'mysql') return unknown(`DROP ${w} is not read for evidence`);
    c.skip(1);
    if (ifExists()) return rerun('IF EXISTS');
    const name = c.ident();
    if (!name) return unknown('DROP not read');
    return facts([{ fact: { kind: 'index', table, index: name }, after: false }]);
  }
  if (w === 'PARTITION' || w === 'PERIOD' || w === 'PROJECTION' || w === 'SYSTEM')
    return unknown(`DROP ${w} is not read for evidence`);
  if (w === 'DEFAULT') return rerun('DROP DEFAULT');
  if (w === 'COLUMN') c.skip(1);
  if (ifExists()) return rerun('IF EXISTS');
  const column = c.ident();
  if (!column) return unknown('DROP not read');
  return facts([{ fact: { kind: 'column', table, column }, after: false }]);
}

function facts(expect: Expectation[]): Shape {
  return { kind: 'facts', expect };
}

/** A cursor over a statement's lexemes. */
class Reader {
  #at = 0;
  constructor(
    private readonly l: readonly Lexeme[],
    private readonly dialect: SqlDialect,
  ) {}

  peekWord(ahead = 0): string | undefined {
    const x = this.l[this.#at + ahead];
    return x?.kind === 'word' ? x.text : undefined;
  }

  peekPunct(p: string): boolean {
    return this.l[this.#at]?.kind === 'punct' && this.l[this.#at]?.text === p;
  }

  word(): string | undefined {
    const w = this.peekWord();
    if (w !== undefined) this.#at++;
    return w;
  }

  skip(n: number): void {
    this.#at += n;
  }

  skipPunct(p: string): boolean {
    if (!this.peekPunct(p)) return false;
    this.#at++;
    return true;
  }

  /** `user@host`, `'user'@'host'`, `CURRENT_USER()` after DEFINER =. */
  skipUser(): void {
    this.#at++;
    if (this.skipPunct('(')) this.skipPunct(')');
    if (this.l[this.#at]?.text === '@' || this.l[this.#at]?.text.startsWith('@')) {
      this.#at++;
      if (this.l[this.#at] && this.l[this.#at]?.kind !== 'word') this.#at++;
      else if (
        this.peekWord() &&
        !['SQL', 'VIEW', 'PROCEDURE', 'FUNCTION', 'TRIGGER', 'EVENT'].includes(this.peekWord()!)
      )
        this.#at++;
    }
  }

  hasWordLater(w: string): boolean {
    return this.l.slice(this.#at).some((x) => x.kind === 'word' && x.text === w);
  }

  /** One identifier, unquoted and case-folded as the server folds it. */
  ident(): string | undefined {
    const x = this.l[this.#at];
    if (!x) return undefined;
    if (x.kind === 'ident') {
      this.#at++;
      const q = x.text[0]!;
      return x.text.slice(1, -1).split(`${q}${q}`).join(q);
    }
    if (x.kind === 'string' && this.dialect === 'mysql' && x.text.startsWith('"')) {
      // With ANSI_QUOTES a "name" is an identifier; without, a string where a name must be: either way, a name.
      this.#at++;
      return x.text.slice(1, -1);
    }
    if (x.kind === 'word') {
      this.#at++;
      const raw = x.raw ?? x.text;
      return this.dialect === 'postgres' ? raw.toLowerCase() : raw;
    }
    return undefined;
  }

  /** `name` or `schema.name`. */
  name(): Name | undefined {
    const first = this.ident();
    if (first === undefined) return undefined;
    if (this.skipPunct('.')) {
      const second = this.ident();
      if (second === undefined) return undefined;
      return { schema: first, name: second };
    }
    return { name: first };
  }

  /** The rest, split at top-level commas. */
  clauses(): Lexeme[][] {
    const out: Lexeme[][] = [[]];
    let depth = 0;
    for (const x of this.l.slice(this.#at)) {
      if (x.kind === 'punct' && x.text === '(') depth++;
      if (x.kind === 'punct' && x.text === ')') depth--;
      if (x.kind === 'punct' && x.text === ';' && depth === 0) break;
      if (x.kind === 'punct' && x.text === ',' && depth === 0) out.push([]);
      else out.at(-1)!.push(x);
    }
    return out.filter((c) => c.length > 0);
  }
}
