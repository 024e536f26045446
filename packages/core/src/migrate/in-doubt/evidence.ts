import type { TaskSession } from '../session.js';
import type { SqlDialect } from '../split/types.js';
import type { Expectation, Fact, Name, ObjectKind, Shape } from './facts.js';

/**
 * What the catalog says of a statement left in doubt:
 * - `applied`: it took effect — continue after it;
 * - `not-applied`: it did not — run it;
 * - `rerun`: running it again is harmless either way — run it;
 * - `unknown`: only a person can tell (the evidence says what was seen).
 */
export interface Verdict {
  readonly verdict: 'applied' | 'not-applied' | 'rerun' | 'unknown';
  /** What was found, in words an operator can check ("column t.c exists"). */
  readonly evidence: string;
  /** SQL the runner must run before the statement (an INVALID index to drop). */
  readonly before?: string;
}

/**
 * Settles a statement by evidence, on the task's new session (restored to the statement's
 * database and search_path, so unqualified names resolve as they did).
 */
export async function settleByEvidence(
  shape: Shape,
  session: TaskSession,
  dialect: SqlDialect,
): Promise<Verdict> {
  switch (shape.kind) {
    case 'rerun':
      return { verdict: 'rerun', evidence: `running it again is harmless (${shape.why})` };
    case 'unknown':
      return { verdict: 'unknown', evidence: shape.why };
    case 'concurrent-index':
      return concurrentIndex(shape.index, session);
    case 'facts': {
      const seen: { e: Expectation; exists: boolean }[] = [];
      for (const e of shape.expect) seen.push({ e, exists: await exists(e.fact, session, dialect) });
      const words = seen
        .map(({ e, exists }) => `${describe(e.fact)} ${exists ? 'exists' : 'does not exist'}`)
        .join(', ');
      if (seen.every(({ e, exists }) => exists === e.after)) return { verdict: 'applied', evidence: words };
      if (seen.every(({ e, exists }) => exists !== e.after))
        return { verdict: 'not-applied', evidence: words };
      return { verdict: 'unknown', evidence: `${words}: partly as before and partly as after` };
    }
  }
}

function describe(f: Fact): string {
  const n = (x: Name) => (x.schema ? `${x.schema}.${x.name}` : x.name);
  switch (f.kind) {
    case 'object':
      return `${f.object} ${n(f.name)}`;
    case 'column':
      return `column ${n(f.table)}.${f.column}`;
    case 'index':
      return `index ${f.index} on ${n(f.table)}`;
    case 'constraint':
      return `constraint ${f.constraint} on ${n(f.table)}`;
  }
}

/** A text value as a literal that no sql_mode or standard_conforming_strings can misread. */
function literal(dialect: SqlDialect, value: string): string {
  const hex = Buffer.from(value, 'utf8').toString('hex');
  if (dialect === 'mysql') return `CONVERT(X'${hex}' USING utf8mb4)`;
  if (dialect === 'postgres') return `convert_from(decode('${hex}', 'hex'), 'UTF8')`;
  return `unhex('${hex}')`;
}

/** Whether a `SELECT COUNT(*)` of the catalog counts anything. */
async function any(session: TaskSession, sql: string): Promise<boolean> {
  const [row] = (await session.query(sql)) as Array<Record<string, unknown>>;
  return Number(Object.values(row ?? {})[0] ?? 0) > 0;
}

/** The information_schema view, schema column and name column of each kind of object (else TABLES). */
const MYSQL_OBJECTS: Partial<Record<ObjectKind, readonly [string, string, string]>> = {
  procedure: ['ROUTINES', 'ROUTINE_SCHEMA', 'ROUTINE_NAME'],
  function: ['ROUTINES', 'ROUTINE_SCHEMA', 'ROUTINE_NAME'],
  trigger: ['TRIGGERS', 'TRIGGER_SCHEMA', 'TRIGGER_NAME'],
  event: ['EVENTS', 'EVENT_SCHEMA', 'EVENT_NAME'],
};

async function exists(f: Fact, session: TaskSession, dialect: SqlDialect): Promise<boolean> {
  const lit = (v: string) => literal(dialect, v);
  if (dialect === 'mysql') {
    const schema = (x: Name) => (x.schema ? lit(x.schema) : 'DATABASE()');
    const where = (x: Name, s: string, n: string) => `${s} = ${schema(x)} AND ${n} = ${lit(x.name)}`;
    switch (f.kind) {
      case 'object': {
        const x = f.name;
        if (f.object === 'database')
          return any(
            session,
            `SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${lit(x.name)}`,
          );
        const [view, s, n] = MYSQL_OBJECTS[f.object] ?? ['TABLES', 'TABLE_SCHEMA', 'TABLE_NAME'];
        const routine =
          f.object === 'procedure' || f.object === 'function'
            ? ` AND ROUTINE_TYPE = '${f.object.toUpperCase()}'`
            : '';
        return any(
          session,
          `SELECT COUNT(*) FROM information_schema.${view} WHERE ${where(x, s, n)}${routine}`,
        );
      }
      case 'column':
        return any(
          session,
          `SELECT COUNT(*) FROM information_schema.COLUMNS WHERE ${where(f.table, 'TABLE_SCHEMA', 'TABLE_NAME')} AND COLUMN_NAME = ${lit(f.column)}`,
        );
      case 'index':
        return any(
          session,
          `SELECT COUNT(*) FROM information_schema.STATISTICS WHERE ${where(f.table, 'TABLE_SCHEMA', 'TABLE_NAME')} AND INDEX_NAME = ${lit(f.index)}`,
        );
      case 'constraint':
        return any(
          session,
          `SELECT COUNT(*) FROM information_schema.TABLE_CONSTRAINTS WHERE ${where(f.table, 'CONSTRAINT_SCHEMA', 'TABLE_NAME')} AND CONSTRAINT_NAME = ${lit(f.constraint)}`,
        );
    }
  }
  if (dialect === 'postgres') {
    const reg = (x: Name) =>
      `to_regclass(${x.schema ? `quote_ident(${lit(x.schema)}) || '.' || ` : ''}quote_ident(${lit(x.name)}))`;
    switch (f.kind) {
      case 'object':
        if (f.object === 'database')
          return any(session, `SELECT COUNT(*) FROM pg_database WHERE datname = ${lit(f.name.name)}`);
        return any(session, `SELECT COUNT(*) FROM (SELECT ${reg(f.name)} AS r) x WHERE r IS NOT NULL`);
      case 'column':
        return any(
          session,
          `SELECT COUNT(*) FROM pg_attribute WHERE attrelid = ${reg(f.table)} AND attname = ${lit(f.column)} AND NOT attisdropped`,
        );
      case 'index':
        return any(
          session,
          `SELECT COUNT(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = ${reg(f.table)} AND c.relname = ${lit(f.index)}`,
        );
      case 'constraint':
        return any(
          session,
          `SELECT COUNT(*) FROM pg_constraint WHERE conrelid = ${reg(f.table)} AND conname = ${lit(f.constraint)}`,
        );
    }
  }
  // ClickHouse
  const db = (x: Name) => (x.schema ? lit(x.schema) : 'currentDatabase()');
  switch (f.kind) {
    case 'object':
      if (f.object === 'database')
        return any(session, `SELECT count() FROM system.databases WHERE name = ${lit(f.name.name)}`);
      return any(
        session,
        `SELECT count() FROM system.tables WHERE database = ${db(f.name)} AND name = ${lit(f.name.name)}`,
      );
    case 'column':
      return any(
        session,
        `SELECT count() FROM system.columns WHERE database = ${db(f.table)} AND table = ${lit(f.table.name)} AND name = ${lit(f.column)}`,
      );
    default:
      throw new Error(`no ClickHouse evidence for ${f.kind}`);
  }
}

/**
 * `CREATE INDEX CONCURRENTLY`: valid → applied; absent → run it; INVALID (the build was
 * interrupted: PostgreSQL leaves the index behind, unusable) → drop it, then run it again.
 */
async function concurrentIndex(index: Name, session: TaskSession): Promise<Verdict> {
  const lit = (v: string) => literal('postgres', v);
  const qualified = `${index.schema ? `quote_ident(${lit(index.schema)}) || '.' || ` : ''}quote_ident(${lit(index.name)})`;
  const [row] = (await session.query(
    `SELECT i.indisvalid AS valid, ${qualified} AS name FROM pg_index i WHERE i.indexrelid = to_regclass(${qualified})`,
  )) as Array<{ valid: boolean; name: string }>;
  const name = index.schema ? `${index.schema}.${index.name}` : index.name;
  if (!row) return { verdict: 'not-applied', evidence: `index ${name} does not exist` };
  if (row.valid) return { verdict: 'applied', evidence: `index ${name} exists and is valid` };
  return {
    verdict: 'not-applied',
    evidence: `index ${name} exists but is INVALID (its build was interrupted): it is dropped and built again`,
    before: `DROP INDEX CONCURRENTLY IF EXISTS ${row.name}`,
  };
}
