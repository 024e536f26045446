import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import mysql from 'mysql2';
import pg from 'pg';
import { settings } from './services.js';

/**
 * The oracle: what the database's own client makes of a set of files, described so that two loads
 * can be compared object by object and row by row. Tests load a file once with `mariadb`/`psql` and
 * once with upgradekit, then `diffSnapshots` must come back empty.
 */

export type OracleEngine = 'mariadb' | 'postgres';

/** One catalog object's properties: plain values only, so a snapshot is JSON-able and comparable. */
export type ObjectProps = Record<string, string | number | boolean | null>;

export interface TableData {
  readonly rows: number;
  /** sha256 over every row in primary-key order (see `snapshot`), hex. */
  readonly checksum: string;
}

export interface Snapshot {
  readonly engine: OracleEngine;
  /** kind ('table', 'column', 'routine', …) → object name → properties. */
  readonly objects: Record<string, Record<string, ObjectProps>>;
  /** table name → row count and checksum. */
  readonly data: Record<string, TableData>;
}

export interface SnapshotOptions {
  /**
   * Tables left out of the snapshot, with their columns, indexes, constraints, triggers and rows;
   * SQL LIKE patterns (`%`, `_`) on the table name. Default: upgradekit's own bookkeeping tables.
   */
  readonly exclude?: readonly string[];
}

/** Placeholder for the database name wherever the catalog spells it out (view definitions, FKs). */
export const DATABASE_PLACEHOLDER = '<database>';

const DEFAULT_EXCLUDE = ['upgradekit_applied', 'upgrade_log', 'upgradekit_%'];

/**
 * Loads files into `database` with the engine's own command-line client, exactly as an operator
 * would: `mariadb --default-character-set=utf8mb4 -h … -P … -u … <database> < file` and
 * `psql -X -v ON_ERROR_STOP=1 -h … -p … -U … -d <database> -f file`, one client run per file, in
 * order. The password goes through the environment (MYSQL_PWD / PGPASSWORD), never the arguments.
 * Throws with the client's stderr when it exits non-zero.
 *
 * @example
 * await loadWithClient('mariadb', db.name, ['sakila-schema.sql', 'sakila-data.sql']);
 */
export async function loadWithClient(
  engine: OracleEngine,
  database: string,
  files: string[],
  options: {
    /**
     * `mariadb --comments`: send comments to the server. The client strips them by default, so the
     * routines it creates lose the comments in their bodies; upgradekit sends every byte.
     */
    readonly comments?: boolean;
  } = {},
): Promise<void> {
  for (const file of files) {
    if (engine === 'mariadb') {
      const s = settings.mariadb;
      const args = [
        '--default-character-set=utf8mb4',
        ...(options.comments ? ['--comments'] : []),
        '-h',
        s.host,
        '-P',
        String(s.port),
        '-u',
        s.user,
        database,
      ];
      await runClient('mariadb', args, s.password ? { MYSQL_PWD: s.password } : {}, file, file);
    } else {
      const s = settings.postgres;
      const args = [
        '-X',
        '-v',
        'ON_ERROR_STOP=1',
        '-h',
        s.host,
        '-p',
        String(s.port),
        '-U',
        s.user,
        '-d',
        database,
      ];
      await runClient(
        'psql',
        [...args, '-f', file],
        s.password ? { PGPASSWORD: s.password } : {},
        undefined,
        file,
      );
    }
  }
}

function runClient(
  command: string,
  args: string[],
  env: Record<string, string>,
  stdinFile: string | undefined,
  file: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: [stdinFile ? 'pipe' : 'ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      if (stderr.length < 64_000) stderr += chunk;
    });
    if (stdinFile) {
      const input = createReadStream(stdinFile);
      input.on('error', (error) => {
        child.kill();
        reject(error);
      });
      // The client may exit (on an error) before it has read all of a large file.
      child.stdin!.on('error', () => {});
      input.pipe(child.stdin!);
    }
    child.on('error', (error) => reject(new Error(`${command} could not be started: ${error.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `${command} ${args.join(' ')} failed on ${file} (${signal ?? `exit ${code}`}):\n${stderr.trim()}`,
          ),
        );
    });
  });
}

/**
 * Describes everything a load produced in `database`: the catalog (tables, columns, indexes,
 * constraints, routines, triggers, views, events / schemas, functions, sequences, types,
 * extensions, comments, …) and, per table, the row count and a checksum over all rows.
 *
 * Rows are hashed in primary-key order, each value as the server renders it in text (bytes as
 * stored for MariaDB, `character_set_results` off; PostgreSQL's text output, `bytea` in hex), with
 * NULL and '' kept apart and values length-prefixed, so any change to any byte shows. A table
 * without a primary key is hashed as the sorted list of its row digests: the same as ordering by all
 * columns, without depending on collations (or `max_sort_length`) to break ties.
 *
 * @example
 * const before = await snapshot('mariadb', db.name);
 */
export async function snapshot(
  engine: OracleEngine,
  database: string,
  options: SnapshotOptions = {},
): Promise<Snapshot> {
  const exclude = likeMatcher(options.exclude ?? DEFAULT_EXCLUDE);
  const result =
    engine === 'mariadb'
      ? await mariadbSnapshot(database, exclude)
      : await postgresSnapshot(database, exclude);
  return replaceInStrings(result, database, DATABASE_PLACEHOLDER);
}

/**
 * What differs between two snapshots, one readable line per difference ("routine film_in_stock:
 * SQL_MODE 'X' ≠ 'Y'", "table actor: 200 rows ≠ 199", "missing table x"); empty when equal.
 * `expected` is the oracle's side.
 *
 * @example
 * expect(diffSnapshots(await snapshot('mariadb', a), await snapshot('mariadb', b))).toEqual([]);
 */
export function diffSnapshots(expected: Snapshot, actual: Snapshot): string[] {
  const lines: string[] = [];
  if (expected.engine !== actual.engine) lines.push(`engine ${expected.engine} ≠ ${actual.engine}`);
  const kinds = [...new Set([...Object.keys(expected.objects), ...Object.keys(actual.objects)])].sort();
  for (const kind of kinds) {
    const a = expected.objects[kind] ?? {};
    const b = actual.objects[kind] ?? {};
    for (const name of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const pa = a[name];
      const pb = b[name];
      if (!pb) lines.push(`missing ${kind} ${name}`);
      else if (!pa) lines.push(`unexpected ${kind} ${name}`);
      else {
        for (const prop of [...new Set([...Object.keys(pa), ...Object.keys(pb)])].sort()) {
          const va = pa[prop] ?? null;
          const vb = pb[prop] ?? null;
          if (va !== vb) lines.push(`${kind} ${name}: ${prop} ${formatPair(va, vb)}`);
        }
      }
    }
  }
  for (const name of [...new Set([...Object.keys(expected.data), ...Object.keys(actual.data)])].sort()) {
    const a = expected.data[name];
    const b = actual.data[name];
    const kind =
      expected.objects['materialized view']?.[name] || actual.objects['materialized view']?.[name]
        ? 'materialized view'
        : 'table';
    if (!a || !b) {
      // Only a materialized view has rows on one side only (populated there); a table that one
      // side lacks altogether is already reported as missing or unexpected.
      if (expected.objects[kind]?.[name] && actual.objects[kind]?.[name])
        lines.push(
          `${kind} ${name}: ${a ? `${a.rows} rows` : 'not populated'} ≠ ${b ? `${b.rows} rows` : 'not populated'}`,
        );
    } else if (a.rows !== b.rows) lines.push(`${kind} ${name}: ${a.rows} rows ≠ ${b.rows}`);
    else if (a.checksum !== b.checksum)
      lines.push(
        `${kind} ${name}: rows differ (checksum ${a.checksum.slice(0, 12)} ≠ ${b.checksum.slice(0, 12)})`,
      );
  }
  return lines;
}

/**
 * The snapshot with comments taken out of routine, trigger and event bodies and runs of blanks made
 * one space — for a dump the client can load only with its default `--skip-comments` (which strips
 * the comments before sending, so they never reach the server), compared with upgradekit, which
 * sends every byte. Nothing else is touched.
 */
export function withoutBodyComments(s: Snapshot): Snapshot {
  const bodies: Record<string, readonly string[]> = {
    routine: ['ROUTINE_DEFINITION'],
    trigger: ['ACTION_STATEMENT'],
    event: ['EVENT_DEFINITION', 'EVENT_BODY'],
  };
  // Quoted text is kept whole; `-- ` and `#` comments end at the line, `/* */` unless `/*!`.
  const lexeme =
    /'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|`[^`]*`|--(?=\s)[^\n]*|#[^\n]*|\/\*(?!!)[\s\S]*?\*\//g;
  const strip = (text: string) =>
    text
      .replace(lexeme, (m) => (/^['"`]/.test(m) ? m : ' '))
      .replace(/\s+/g, ' ')
      .trim();
  const objects = Object.fromEntries(
    Object.entries(s.objects).map(([kind, byName]) => [
      kind,
      Object.fromEntries(
        Object.entries(byName).map(([name, props]) => [
          name,
          Object.fromEntries(
            Object.entries(props).map(([k, v]) => [
              k,
              typeof v === 'string' && bodies[kind]?.includes(k) ? strip(v) : v,
            ]),
          ),
        ]),
      ),
    ]),
  );
  return { ...s, objects };
}

function formatPair(a: unknown, b: unknown): string {
  // Definitions (views, routines, triggers) are long and multi-line: show where they part.
  const long = (s: string) => s.length > 160 || s.includes('\n');
  if (typeof a === 'string' && typeof b === 'string' && (long(a) || long(b))) {
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    const from = Math.max(0, i - 25);
    const cut = (s: string) =>
      `${from > 0 ? '…' : ''}${quote(s.slice(from, i + 45))}${s.length > i + 45 ? '…' : ''}`;
    return `${cut(a)} ≠ ${cut(b)} (from character ${i + 1})`;
  }
  return `${quote(a)} ≠ ${quote(b)}`;
}

function quote(value: unknown): string {
  if (typeof value !== 'string') return String(value);
  return `'${JSON.stringify(value).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`;
}

function likeMatcher(patterns: readonly string[]): (name: string) => boolean {
  const regexes = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .split('')
          .map((c) => (c === '%' ? '.*' : c === '_' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
          .join('')}$`,
        'i',
      ),
  );
  return (name) => regexes.some((r) => r.test(name));
}

function replaceInStrings(s: Snapshot, from: string, to: string): Snapshot {
  const objects: Snapshot['objects'] = {};
  for (const [kind, byName] of Object.entries(s.objects)) {
    const out: Record<string, ObjectProps> = {};
    for (const [name, props] of Object.entries(byName)) {
      const p: ObjectProps = {};
      for (const [k, v] of Object.entries(props)) p[k] = typeof v === 'string' ? v.split(from).join(to) : v;
      out[name.split(from).join(to)] = p;
    }
    objects[kind] = out;
  }
  return { ...s, objects };
}

/** Hashes rows as they stream in; a table without a key is hashed as its sorted row digests. */
class RowHasher {
  rows = 0;
  readonly #ordered: boolean;
  readonly #hash = createHash('sha256');
  readonly #digests: Buffer[] = [];

  constructor(ordered: boolean) {
    this.#ordered = ordered;
  }

  add(values: readonly (Buffer | string | null)[]): void {
    this.rows++;
    const target = this.#ordered ? this.#hash : createHash('sha256');
    for (const value of values) {
      if (value === null) target.update(Buffer.from([0]));
      else {
        const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
        const header = Buffer.alloc(5);
        header[0] = 1;
        header.writeUInt32BE(bytes.length, 1);
        target.update(header);
        target.update(bytes);
      }
    }
    if (!this.#ordered) this.#digests.push((target as ReturnType<typeof createHash>).digest());
    else this.#hash.update(Buffer.from([0xff])); // row boundary
  }

  result(): TableData {
    if (!this.#ordered) for (const d of this.#digests.sort(Buffer.compare)) this.#hash.update(d);
    return { rows: this.rows, checksum: this.#hash.digest('hex') };
  }
}

// ---------------------------------------------------------------------------------------------
// MariaDB

type Row = Record<string, unknown>;

function pick(row: Row, keys: readonly string[]): ObjectProps {
  const out: ObjectProps = {};
  for (const key of keys) {
    if (!(key in row)) continue;
    const v = row[key];
    out[key] =
      v === null || v === undefined ? null : typeof v === 'number' || typeof v === 'boolean' ? v : String(v);
  }
  return out;
}

const MARIADB = {
  table: [
    'TABLE_TYPE',
    'ENGINE',
    'ROW_FORMAT',
    'TABLE_COLLATION',
    'TABLE_COMMENT',
    'AUTO_INCREMENT',
    'CREATE_OPTIONS',
  ],
  column: [
    'ORDINAL_POSITION',
    'COLUMN_TYPE',
    'IS_NULLABLE',
    'COLUMN_DEFAULT',
    'EXTRA',
    'CHARACTER_SET_NAME',
    'COLLATION_NAME',
    'COLUMN_COMMENT',
    'IS_GENERATED',
    'GENERATION_EXPRESSION',
  ],
  index: ['NON_UNIQUE', 'INDEX_TYPE', 'COMMENT', 'INDEX_COMMENT', 'IGNORED'],
  routine: [
    'ROUTINE_TYPE',
    'DTD_IDENTIFIER',
    'ROUTINE_BODY',
    'ROUTINE_DEFINITION',
    'IS_DETERMINISTIC',
    'SQL_DATA_ACCESS',
    'SECURITY_TYPE',
    'SQL_MODE',
    'ROUTINE_COMMENT',
    'DEFINER',
    'CHARACTER_SET_CLIENT',
    'COLLATION_CONNECTION',
    'DATABASE_COLLATION',
  ],
  trigger: [
    'EVENT_MANIPULATION',
    'EVENT_OBJECT_TABLE',
    'ACTION_ORDER',
    'ACTION_CONDITION',
    'ACTION_STATEMENT',
    'ACTION_ORIENTATION',
    'ACTION_TIMING',
    'SQL_MODE',
    'DEFINER',
    'CHARACTER_SET_CLIENT',
    'COLLATION_CONNECTION',
    'DATABASE_COLLATION',
  ],
  view: [
    'VIEW_DEFINITION',
    'CHECK_OPTION',
    'IS_UPDATABLE',
    'DEFINER',
    'SECURITY_TYPE',
    'CHARACTER_SET_CLIENT',
    'COLLATION_CONNECTION',
    'ALGORITHM',
  ],
  event: [
    'DEFINER',
    'TIME_ZONE',
    'EVENT_BODY',
    'EVENT_DEFINITION',
    'EVENT_TYPE',
    'EXECUTE_AT',
    'INTERVAL_VALUE',
    'INTERVAL_FIELD',
    'SQL_MODE',
    'STARTS',
    'ENDS',
    'STATUS',
    'ON_COMPLETION',
    'EVENT_COMMENT',
    'CHARACTER_SET_CLIENT',
    'COLLATION_CONNECTION',
    'DATABASE_COLLATION',
  ],
} as const;

function mariadbConnection(database: string): mysql.Connection {
  return mysql.createConnection({
    host: settings.mariadb.host,
    port: settings.mariadb.port,
    user: settings.mariadb.user,
    password: settings.mariadb.password,
    database,
    charset: 'utf8mb4',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
}

async function mariadbSnapshot(database: string, excluded: (name: string) => boolean): Promise<Snapshot> {
  const connection = mariadbConnection(database);
  const db = connection.promise();
  try {
    await db.query("SET SESSION time_zone = '+00:00'");
    const q = async (sql: string): Promise<Row[]> => (await db.query(sql, [database]))[0] as Row[];
    const objects: Record<string, Record<string, ObjectProps>> = {};
    const put = (kind: string, name: string, props: ObjectProps) => {
      const byName = objects[kind] ?? {};
      byName[name] = props;
      objects[kind] = byName;
    };

    for (const r of await q(
      'SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
    ))
      put('database', '(default)', pick(r, ['DEFAULT_CHARACTER_SET_NAME', 'DEFAULT_COLLATION_NAME']));

    const tables = await q(
      'SELECT * FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME',
    );
    const baseTables: string[] = [];
    for (const r of tables) {
      const name = String(r.TABLE_NAME);
      if (excluded(name)) continue;
      if (r.TABLE_TYPE === 'VIEW') continue; // in 'view'
      put('table', name, pick(r, MARIADB.table));
      baseTables.push(name);
    }

    for (const r of await q('SELECT * FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?')) {
      if (!excluded(String(r.TABLE_NAME)))
        put('column', `${r.TABLE_NAME}.${r.COLUMN_NAME}`, pick(r, MARIADB.column));
    }

    const indexColumns = new Map<string, string[]>();
    for (const r of await q(
      'SELECT * FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX',
    )) {
      if (excluded(String(r.TABLE_NAME))) continue;
      const name = `${r.TABLE_NAME}.${r.INDEX_NAME}`;
      const part = `${r.COLUMN_NAME}${r.SUB_PART === null ? '' : `(${r.SUB_PART})`}${r.COLLATION === 'D' ? ' DESC' : ''}`;
      indexColumns.set(name, [...(indexColumns.get(name) ?? []), part]);
      put('index', name, { ...pick(r, MARIADB.index), COLUMNS: indexColumns.get(name)!.join(', ') });
    }

    const keyColumns = new Map<string, Row[]>();
    for (const r of await q(
      'SELECT * FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION',
    )) {
      const name = `${r.TABLE_NAME}.${r.CONSTRAINT_NAME}`;
      keyColumns.set(name, [...(keyColumns.get(name) ?? []), r]);
    }
    const referential = new Map<string, Row>();
    for (const r of await q(
      'SELECT * FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?',
    ))
      referential.set(`${r.TABLE_NAME}.${r.CONSTRAINT_NAME}`, r);
    const checks = new Map<string, Row>();
    for (const r of await q('SELECT * FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?'))
      checks.set(`${r.TABLE_NAME}.${r.CONSTRAINT_NAME}`, r);
    for (const r of await q(
      'SELECT * FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?',
    )) {
      if (excluded(String(r.TABLE_NAME))) continue;
      const name = `${r.TABLE_NAME}.${r.CONSTRAINT_NAME}`;
      const keys = keyColumns.get(name) ?? [];
      const ref = referential.get(name);
      const check = checks.get(name);
      const props: ObjectProps = { CONSTRAINT_TYPE: String(r.CONSTRAINT_TYPE) };
      if (keys.length > 0) {
        props.COLUMNS = keys.map((k) => k.COLUMN_NAME).join(', ');
        if (keys[0]!.REFERENCED_TABLE_NAME !== null) {
          props.REFERENCED_TABLE = `${keys[0]!.REFERENCED_TABLE_SCHEMA}.${keys[0]!.REFERENCED_TABLE_NAME}`;
          props.REFERENCED_COLUMNS = keys.map((k) => k.REFERENCED_COLUMN_NAME).join(', ');
        }
      }
      if (ref)
        Object.assign(
          props,
          pick(ref, ['UNIQUE_CONSTRAINT_NAME', 'MATCH_OPTION', 'UPDATE_RULE', 'DELETE_RULE']),
        );
      if (check) Object.assign(props, pick(check, ['LEVEL', 'CHECK_CLAUSE']));
      put('constraint', name, props);
    }

    const parameters = new Map<string, string[]>();
    for (const r of await q(
      'SELECT * FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = ? AND ORDINAL_POSITION > 0 ORDER BY SPECIFIC_NAME, ROUTINE_TYPE, ORDINAL_POSITION',
    )) {
      const key = `${r.ROUTINE_TYPE} ${r.SPECIFIC_NAME}`;
      const mode = r.PARAMETER_MODE === null ? '' : `${r.PARAMETER_MODE} `;
      parameters.set(key, [...(parameters.get(key) ?? []), `${mode}${r.PARAMETER_NAME} ${r.DTD_IDENTIFIER}`]);
    }
    const routines = await q('SELECT * FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?');
    const routineNames = routines.map((r) => String(r.ROUTINE_NAME));
    for (const r of routines) {
      const name = String(r.ROUTINE_NAME);
      // A function and a procedure may share a name; only then does the key carry the type.
      const key = routineNames.filter((n) => n === name).length > 1 ? `${name} (${r.ROUTINE_TYPE})` : name;
      put('routine', key, {
        ...pick(r, MARIADB.routine),
        PARAMETERS: (parameters.get(`${r.ROUTINE_TYPE} ${name}`) ?? []).join(', '),
      });
    }

    for (const r of await q('SELECT * FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?')) {
      if (!excluded(String(r.EVENT_OBJECT_TABLE)))
        put('trigger', String(r.TRIGGER_NAME), pick(r, MARIADB.trigger));
    }
    for (const r of await q('SELECT * FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?')) {
      if (!excluded(String(r.TABLE_NAME))) put('view', String(r.TABLE_NAME), pick(r, MARIADB.view));
    }
    for (const r of await q('SELECT * FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?'))
      put('event', String(r.EVENT_NAME), pick(r, MARIADB.event));

    const primaryKeys = new Map<string, string[]>();
    for (const r of await q(
      "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND INDEX_NAME = 'PRIMARY' ORDER BY TABLE_NAME, SEQ_IN_INDEX",
    )) {
      const t = String(r.TABLE_NAME);
      primaryKeys.set(t, [...(primaryKeys.get(t) ?? []), String(r.COLUMN_NAME)]);
    }
    const data: Record<string, TableData> = {};
    const dataConnection = mariadbConnection(database);
    try {
      // Bytes exactly as stored: no conversion of results to the connection's character set.
      await dataConnection.promise().query("SET SESSION time_zone = '+00:00', character_set_results = NULL");
      for (const table of baseTables) {
        const pk = primaryKeys.get(table) ?? [];
        const order = pk.length > 0 ? ` ORDER BY ${pk.map(quoteMariadb).join(', ')}` : '';
        data[table] = await mariadbTableData(
          dataConnection,
          `SELECT * FROM ${quoteMariadb(table)}${order}`,
          pk.length > 0,
        );
      }
    } finally {
      await dataConnection.promise().end();
    }
    return { engine: 'mariadb', objects, data };
  } finally {
    await db.end();
  }
}

function quoteMariadb(identifier: string): string {
  return `\`${identifier.replace(/`/g, '``')}\``;
}

function mariadbTableData(connection: mysql.Connection, sql: string, ordered: boolean): Promise<TableData> {
  return new Promise((resolve, reject) => {
    const hasher = new RowHasher(ordered);
    connection
      .query({ sql, rowsAsArray: true, typeCast: (field) => field.buffer() })
      .stream()
      .on('data', (row: (Buffer | null)[]) => hasher.add(row))
      .on('error', reject)
      .on('end', () => resolve(hasher.result()));
  });
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

const SYSTEM_SCHEMAS =
  "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'";

/** Not a member of an extension: the extension itself stands for its objects. */
function notInExtension(catalog: string, oid: string): string {
  return `NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '${catalog}'::regclass AND e.objid = ${oid} AND e.deptype = 'e')`;
}

async function postgresSnapshot(database: string, excluded: (name: string) => boolean): Promise<Snapshot> {
  // Every value as PostgreSQL's text output: nothing parsed, nothing rounded.
  const client = new pg.Client({
    ...settings.postgres,
    database,
    types: { getTypeParser: () => (value: string) => value },
  });
  await client.connect();
  try {
    await client.query(
      "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex'; SET search_path = pg_catalog",
    );
    const q = async (sql: string): Promise<Row[]> => (await client.query(sql)).rows as Row[];
    const objects: Record<string, Record<string, ObjectProps>> = {};
    const put = (kind: string, name: string, props: ObjectProps) => {
      const byName = objects[kind] ?? {};
      byName[name] = props;
      objects[kind] = byName;
    };
    const props = (r: Row, skip: string[]) => {
      const out: ObjectProps = {};
      for (const [k, v] of Object.entries(r)) if (!skip.includes(k)) out[k] = v === null ? null : String(v);
      return out;
    };

    for (const r of await q(`
      SELECT n.nspname AS name, pg_get_userbyid(n.nspowner) AS owner, n.nspacl::text AS acl
      FROM pg_namespace n WHERE ${SYSTEM_SCHEMAS}`))
      put('schema', String(r.name), props(r, ['name']));

    for (const r of await q(`
      SELECT extname AS name, extversion AS version, n.nspname AS schema
      FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace`))
      put('extension', String(r.name), props(r, ['name']));

    const relations = await q(`
      SELECT c.oid, n.nspname, c.relname, c.relkind, c.relpersistence, pg_get_userbyid(c.relowner) AS owner,
             c.relacl::text AS acl, c.reloptions::text AS options, c.relrowsecurity AS row_security,
             c.relispopulated AS populated,
             CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
             pg_get_expr(c.relpartbound, c.oid) AS partition_bound,
             (SELECT string_agg(pn.nspname || '.' || p.relname, ', ' ORDER BY i.inhseqno)
                FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace
               WHERE i.inhrelid = c.oid) AS parents,
             CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS definition
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ${SYSTEM_SCHEMAS} AND ${notInExtension('pg_class', 'c.oid')}
      ORDER BY 2, 3`);
    const kept = new Set<string>();
    const left = new Set<string>();
    const dataRelations: { oid: string; name: string; kind: string }[] = [];
    for (const r of relations) {
      if (excluded(String(r.relname))) {
        left.add(String(r.oid));
        continue;
      }
      const name = `${r.nspname}.${r.relname}`;
      kept.add(String(r.oid));
      const common = { owner: r.owner, acl: r.acl } as Row;
      if (r.relkind === 'v')
        put('view', name, props({ ...common, definition: r.definition, options: r.options }, []));
      else if (r.relkind === 'm') {
        put(
          'materialized view',
          name,
          props({ ...common, definition: r.definition, populated: r.populated }, []),
        );
        if (r.populated === 't') dataRelations.push({ oid: String(r.oid), name, kind: 'm' });
      } else {
        put('table', name, props(r, ['oid', 'nspname', 'relname', 'definition', 'populated']));
        if (r.relkind === 'r') dataRelations.push({ oid: String(r.oid), name, kind: 'r' });
      }
    }

    for (const r of await q(`
      SELECT a.attrelid AS oid, n.nspname || '.' || c.relname || '.' || a.attname AS name, a.attnum AS position,
             format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
             pg_get_expr(d.adbin, d.adrelid) AS "default", a.attidentity AS identity, a.attgenerated AS generated,
             CASE WHEN a.attcollation <> t.typcollation THEN co.collname END AS collation
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      LEFT JOIN pg_collation co ON co.oid = a.attcollation
      WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ${SYSTEM_SCHEMAS}`)) {
      if (kept.has(String(r.oid))) put('column', String(r.name), props(r, ['oid', 'name']));
    }

    for (const r of await q(`
      SELECT i.indrelid AS oid, n.nspname || '.' || ic.relname AS name, pg_get_indexdef(i.indexrelid) AS definition,
             i.indisvalid AS valid, i.indisclustered AS clustered, i.indisreplident AS replica_identity
      FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
      WHERE ${SYSTEM_SCHEMAS}`)) {
      if (kept.has(String(r.oid))) put('index', String(r.name), props(r, ['oid', 'name']));
    }

    for (const r of await q(`
      SELECT co.conrelid AS oid, n.nspname || '.' || COALESCE(c.relname, t.typname) || '.' || co.conname AS name,
             co.contype AS type, pg_get_constraintdef(co.oid) AS definition, co.condeferrable AS deferrable,
             co.condeferred AS deferred, co.convalidated AS validated
      FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace
      LEFT JOIN pg_class c ON c.oid = co.conrelid LEFT JOIN pg_type t ON t.oid = co.contypid
      WHERE ${SYSTEM_SCHEMAS} AND ${notInExtension('pg_constraint', 'co.oid')}`)) {
      if (r.oid === '0' || kept.has(String(r.oid)))
        put('constraint', String(r.name), props(r, ['oid', 'name']));
    }

    for (const r of await q(`
      SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS name,
             p.prokind AS kind, pg_get_userbyid(p.proowner) AS owner, p.proacl::text AS acl, p.proconfig::text AS config,
             CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END AS definition,
             a.aggkind, a.aggtransfn::text AS transfn, a.aggfinalfn::text AS finalfn,
             format_type(a.aggtranstype, NULL) AS transtype, a.agginitval AS initcond
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace LEFT JOIN pg_aggregate a ON a.aggfnoid = p.oid
      WHERE ${SYSTEM_SCHEMAS} AND ${notInExtension('pg_proc', 'p.oid')}`)) {
      const { aggkind, transfn, finalfn, transtype, initcond, ...rest } = r;
      put(
        r.kind === 'p' ? 'procedure' : r.kind === 'a' ? 'aggregate' : 'function',
        String(r.name),
        props(r.kind === 'a' ? { ...rest, aggkind, transfn, finalfn, transtype, initcond } : rest, ['name']),
      );
    }

    for (const r of await q(`
      SELECT t.tgrelid AS oid, n.nspname || '.' || c.relname || '.' || t.tgname AS name,
             pg_get_triggerdef(t.oid) AS definition, t.tgenabled AS enabled
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT t.tgisinternal AND ${SYSTEM_SCHEMAS}`)) {
      if (kept.has(String(r.oid))) put('trigger', String(r.name), props(r, ['oid', 'name']));
    }

    for (const r of await q(`
      SELECT r.ev_class AS oid, n.nspname || '.' || c.relname || '.' || r.rulename AS name,
             pg_get_ruledef(r.oid) AS definition, r.ev_enabled AS enabled
      FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE r.rulename <> '_RETURN' AND ${SYSTEM_SCHEMAS}`)) {
      if (kept.has(String(r.oid))) put('rule', String(r.name), props(r, ['oid', 'name']));
    }

    for (const r of await q(`
      SELECT p.polrelid AS oid, n.nspname || '.' || c.relname || '.' || p.polname AS name, p.polcmd AS command,
             p.polpermissive AS permissive, p.polroles::regrole[]::text AS roles,
             pg_get_expr(p.polqual, p.polrelid) AS using, pg_get_expr(p.polwithcheck, p.polrelid) AS with_check
      FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${SYSTEM_SCHEMAS}`)) {
      if (kept.has(String(r.oid))) put('policy', String(r.name), props(r, ['oid', 'name']));
    }

    const sequences = await q(`
      SELECT c.oid, n.nspname, c.relname, format_type(s.seqtypid, NULL) AS type, s.seqstart AS start,
             s.seqincrement AS increment, s.seqmin AS min, s.seqmax AS max, s.seqcache AS cache, s.seqcycle AS cycle,
             (SELECT dn.nspname || '.' || dc.relname || '.' || da.attname
                FROM pg_depend d JOIN pg_class dc ON dc.oid = d.refobjid
                JOIN pg_namespace dn ON dn.oid = dc.relnamespace
                JOIN pg_attribute da ON da.attrelid = d.refobjid AND da.attnum = d.refobjsubid
               WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')
                 AND d.refclassid = 'pg_class'::regclass) AS owned_by
      FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${SYSTEM_SCHEMAS} AND ${notInExtension('pg_class', 'c.oid')}`);
    for (const r of sequences) {
      if (excluded(String(r.relname))) continue;
      const [state] = await q(
        `SELECT last_value, is_called FROM ${quotePostgres(String(r.nspname))}.${quotePostgres(String(r.relname))}`,
      );
      put('sequence', `${r.nspname}.${r.relname}`, props({ ...r, ...state }, ['oid', 'nspname', 'relname']));
    }

    for (const r of await q(`
      SELECT n.nspname || '.' || t.typname AS name, t.typtype AS type,
             CASE t.typtype
               WHEN 'e' THEN (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                                FROM pg_enum e WHERE e.enumtypid = t.oid)
               WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod)
               WHEN 'c' THEN (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                                FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)
               WHEN 'r' THEN (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid)
             END AS definition,
             t.typnotnull AS not_null, t.typdefault AS "default", pg_get_userbyid(t.typowner) AS owner
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE ${SYSTEM_SCHEMAS} AND ${notInExtension('pg_type', 't.oid')} AND t.typcategory <> 'A'
        AND (t.typtype IN ('e', 'd', 'r', 'm', 'b')
             OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))`)) {
      put('type', String(r.name), props(r, ['name']));
    }

    for (const r of await q(`
      SELECT pg_describe_object(d.classoid, d.objoid, d.objsubid) AS name, d.description AS text,
             CASE WHEN d.classoid = 'pg_class'::regclass THEN d.objoid END AS oid
      FROM pg_description d
      WHERE (d.objoid >= 16384 OR (d.classoid = 'pg_namespace'::regclass
                                   AND d.objoid IN (SELECT n.oid FROM pg_namespace n WHERE ${SYSTEM_SCHEMAS})))
        AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = d.classoid AND e.objid = d.objoid AND e.deptype = 'e')`)) {
      // Comments on any relation (indexes and sequences too), unless on a table left out.
      if (r.oid === null || !left.has(String(r.oid)))
        put('comment', String(r.name), props(r, ['name', 'oid']));
    }

    const primaryKeys = new Map<string, string[]>();
    for (const r of await q(`
      SELECT i.indrelid AS oid, a.attname, k.n
      FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indisprimary ORDER BY 1, 3`)) {
      const oid = String(r.oid);
      primaryKeys.set(oid, [...(primaryKeys.get(oid) ?? []), String(r.attname)]);
    }
    const data: Record<string, TableData> = {};
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    for (const relation of dataRelations) {
      const [schema, ...rest] = relation.name.split('.');
      const target = `${relation.kind === 'r' ? 'ONLY ' : ''}${quotePostgres(schema!)}.${quotePostgres(rest.join('.'))}`;
      const pk = primaryKeys.get(relation.oid) ?? [];
      const order = pk.length > 0 ? ` ORDER BY ${pk.map(quotePostgres).join(', ')}` : '';
      data[relation.name] = await postgresTableData(client, `SELECT * FROM ${target}${order}`, pk.length > 0);
    }
    await client.query('COMMIT');
    return { engine: 'postgres', objects, data };
  } finally {
    await client.end();
  }
}

function quotePostgres(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

async function postgresTableData(client: pg.Client, sql: string, ordered: boolean): Promise<TableData> {
  const hasher = new RowHasher(ordered);
  await client.query(`DECLARE oracle_rows NO SCROLL CURSOR FOR ${sql}`);
  for (;;) {
    const batch = await client.query<(string | null)[]>({
      text: 'FETCH 5000 FROM oracle_rows',
      rowMode: 'array',
    });
    for (const row of batch.rows) hasher.add(row);
    if (batch.rows.length < 5000) break;
  }
  await client.query('CLOSE oracle_rows');
  return hasher.result();
}
