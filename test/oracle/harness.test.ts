// The oracle harness must be able to fail. Each public dump is loaded with the database's own
// client into two fresh databases: their snapshots must be equal. Then the second one is changed in
// small ways that an upgrade tool could get wrong (one row, one value, NULL vs '', one byte of a
// BLOB, a routine's sql_mode, an index, a view); after each change the diff must name exactly that
// change, and at the end the diff against the first load must still name every one of them.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  type DumpFixture,
  diffSnapshots,
  dumpFixture,
  dumpFixtures,
  fixtureFiles,
  loadWithClient,
  requireDump,
  requireService,
  type Snapshot,
  settings,
  snapshot,
  type TestDatabase,
  withoutBodyComments,
} from '#test-support';

const hasMariaDB = await requireService('mariadb');
const hasPostgres = await requireService('postgres');

/** Runs SQL on the changed database; resolves to the rows a data change touched, if it is one. */
type Sql = (sql: string) => Promise<{ rows: Record<string, unknown>[]; affected: number }>;

interface Mutation {
  readonly what: string;
  readonly apply: (sql: Sql) => Promise<void>;
  /** Every diff line must match one of these, and each must match a line. */
  readonly expect: readonly RegExp[];
  /**
   * How the diff against the first load names the object at the end, when later changes may have
   * changed how (a table whose row count changed no longer reports its checksum).
   */
  readonly names: string;
}

/** A data change that must touch exactly one row, or the test proves nothing. */
const oneRow =
  (...statements: string[]) =>
  async (sql: Sql) => {
    for (const [i, statement] of statements.entries()) {
      const { affected } = await sql(statement);
      if (i === statements.length - 1) expect(affected, statement).toBe(1);
    }
  };

/** A change made by one statement. */
const statement = (sql: string) => async (run: Sql) => void (await run(sql));

/** Dropping index `name` (`table.index`) with `sql`: the diff says that index is missing. */
const dropIndex = (name: string, sql: string): Mutation => ({
  what: 'drop an index',
  apply: statement(sql),
  expect: [new RegExp(`^missing index ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)],
  names: `index ${name}`,
});

const cases: { fixture: string; available: boolean; check: (s: Snapshot) => void; mutations: Mutation[] }[] =
  [
    {
      fixture: 'sakila',
      available: hasMariaDB,
      check: (s) => {
        expect(Object.keys(s.objects.routine ?? {})).toHaveLength(6);
        expect(Object.keys(s.objects.trigger ?? {})).toHaveLength(6);
        expect(Object.keys(s.objects.view ?? {})).toHaveLength(7);
        expect(s.data.payment?.rows).toBe(16049);
        expect(s.data.film_text?.rows).toBe(1000); // filled by the ins_film trigger during the load
      },
      mutations: [
        {
          what: 'delete one row',
          apply: oneRow('DELETE FROM payment WHERE payment_id = 1'),
          expect: [/^table payment: 16049 rows ≠ 16048$/],
          names: 'table payment',
        },
        {
          what: 'update one value (last_update kept)',
          apply: oneRow(
            "UPDATE actor SET first_name = 'PENELOPA', last_update = last_update WHERE actor_id = 1",
          ),
          expect: [/^table actor: rows differ \(checksum \w+ ≠ \w+\)$/],
          names: 'table actor',
        },
        {
          what: "NULL becomes '' in a BLOB",
          apply: oneRow(
            "UPDATE staff SET picture = '', last_update = last_update WHERE staff_id = 2 AND picture IS NULL",
          ),
          expect: [/^table staff: rows differ/],
          names: 'table staff',
        },
        {
          what: 'one byte of a BLOB',
          apply: oneRow(
            'UPDATE staff SET picture = INSERT(picture, 1001, 1, IF(SUBSTRING(picture, 1001, 1) = 0x00, 0x01, 0x00)), last_update = last_update WHERE staff_id = 1',
          ),
          expect: [/^table staff: rows differ/],
          names: 'table staff',
        },
        {
          what: "a routine's sql_mode",
          apply: async (sql) => {
            const { rows } = await sql('SHOW CREATE PROCEDURE film_in_stock');
            await sql("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'");
            await sql('DROP PROCEDURE film_in_stock');
            await sql(String(rows[0]!['Create Procedure']));
          },
          expect: [/^routine film_in_stock: SQL_MODE 'STRICT_TRANS_TABLES,.*' ≠ 'NO_ENGINE_SUBSTITUTION'$/],
          names: 'routine film_in_stock',
        },
        dropIndex('actor.idx_actor_last_name', 'DROP INDEX idx_actor_last_name ON actor'),
        {
          what: 'change a view',
          apply: async (sql) => {
            const { rows } = await sql(
              "SELECT VIEW_DEFINITION AS d FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'staff_list'",
            );
            await sql(`ALTER VIEW staff_list AS ${rows[0]!.d} LIMIT 1`);
          },
          expect: [/^view staff_list: /],
          names: 'view staff_list',
        },
      ],
    },
    {
      fixture: 'dolibarr-3.3.0',
      available: hasMariaDB,
      check: (s) => {
        expect(Object.keys(s.objects.table ?? {}).length).toBeGreaterThan(150);
        expect(s.data.llx_const?.rows).toBeGreaterThan(100);
      },
      mutations: [
        {
          what: 'delete one row',
          apply: oneRow('DELETE FROM llx_document_model WHERE rowid = 9'),
          expect: [/^table llx_document_model: 12 rows ≠ 11$/],
          names: 'table llx_document_model',
        },
        {
          what: 'update one value',
          apply: oneRow('UPDATE llx_cotisation SET cotisation = 21, tms = tms WHERE rowid = 1'),
          expect: [/^table llx_cotisation: rows differ/],
          names: 'table llx_cotisation',
        },
        {
          what: "'' becomes NULL",
          apply: oneRow("UPDATE llx_don SET nom = NULL, tms = tms WHERE rowid = 1 AND nom = ''"),
          expect: [/^table llx_don: rows differ/],
          names: 'table llx_don',
        },
        dropIndex(
          'llx_element_element.idx_element_element_fk_target',
          'DROP INDEX idx_element_element_fk_target ON llx_element_element',
        ),
        {
          what: "change a column's default",
          apply: statement('ALTER TABLE llx_don ALTER COLUMN amount SET DEFAULT 1'),
          expect: [/^column llx_don\.amount: COLUMN_DEFAULT '0' ≠ '1'$/],
          names: 'column llx_don.amount',
        },
      ],
    },
    {
      fixture: 'pagila',
      available: hasPostgres,
      check: (s) => {
        expect(Object.keys(s.objects.function ?? {}).length).toBeGreaterThanOrEqual(8);
        expect(Object.keys(s.objects.trigger ?? {})).toHaveLength(15);
        expect(Object.keys(s.objects.view ?? {})).toHaveLength(7);
        expect(Object.keys(s.objects.sequence ?? {})).toHaveLength(13);
        expect(s.objects.type?.['public.mpaa_rating']?.definition).toBe("'G', 'PG', 'PG-13', 'R', 'NC-17'");
        expect(s.data['public.rental']?.rows).toBe(16044);
      },
      mutations: [
        {
          what: 'delete one row',
          apply: oneRow(
            'DELETE FROM public.payment_p2022_07 WHERE payment_id = (SELECT min(payment_id) FROM public.payment_p2022_07)',
          ),
          expect: [/^table public\.payment_p2022_07: (\d+) rows ≠ \d+$/],
          names: 'table public.payment_p2022_07',
        },
        {
          what: 'update one value',
          apply: oneRow(
            'UPDATE public.payment_p2022_01 SET amount = amount + 0.01 WHERE payment_id = (SELECT min(payment_id) FROM public.payment_p2022_01)',
          ),
          expect: [/^table public\.payment_p2022_01: rows differ/],
          names: 'table public.payment_p2022_01',
        },
        {
          what: "NULL becomes '' (triggers off for the session)",
          apply: oneRow(
            'SET session_replication_role = replica',
            "UPDATE public.address SET address2 = '' WHERE address_id = (SELECT min(address_id) FROM public.address WHERE address2 IS NULL)",
          ),
          expect: [/^table public\.address: rows differ/],
          names: 'table public.address',
        },
        {
          what: 'one byte of a bytea',
          apply: oneRow(
            'SET session_replication_role = replica',
            'UPDATE public.staff SET picture = set_byte(picture, length(picture) - 1, (get_byte(picture, length(picture) - 1) + 1) % 256) WHERE staff_id = 1',
          ),
          expect: [/^table public\.staff: rows differ/],
          names: 'table public.staff',
        },
        {
          what: "a function's configuration",
          apply: statement(
            'ALTER FUNCTION public.last_day(timestamp with time zone) SET search_path = pg_catalog',
          ),
          expect: [/^function public\.last_day\(timestamp with time zone\): (config|definition) /],
          names: 'function public.last_day(timestamp with time zone)',
        },
        dropIndex('public.idx_actor_last_name', 'DROP INDEX public.idx_actor_last_name'),
        {
          what: 'change a view',
          apply: async (sql) => {
            const { rows } = await sql("SELECT pg_get_viewdef('public.sales_by_store'::regclass) AS d");
            const definition = String(rows[0]!.d).replace(/;\s*$/, '');
            await sql(
              `CREATE OR REPLACE VIEW public.sales_by_store AS SELECT * FROM (${definition}) s LIMIT 1`,
            );
          },
          expect: [/^view public\.sales_by_store: definition /],
          names: 'view public.sales_by_store',
        },
      ],
    },
    {
      fixture: 'sourcify',
      available: hasPostgres,
      check: (s) => {
        expect(Object.keys(s.objects.extension ?? {}).sort()).toEqual(['pg_trgm', 'pgcrypto', 'plpgsql']);
        expect(Object.keys(s.objects.function ?? {}).length).toBeGreaterThan(40);
        expect(Object.keys(s.objects.trigger ?? {}).length).toBeGreaterThan(40);
        expect(s.data['public.schema_migrations']?.rows).toBe(18);
      },
      mutations: [
        {
          what: 'delete one row',
          apply: oneRow("DELETE FROM public.schema_migrations WHERE version = '20250717103432'"),
          expect: [/^table public\.schema_migrations: 18 rows ≠ 17$/],
          names: 'table public.schema_migrations',
        },
        {
          what: 'update one value',
          apply: oneRow(
            "UPDATE public.schema_migrations SET version = '20250722133558' WHERE version = '20250722133557'",
          ),
          expect: [/^table public\.schema_migrations: rows differ/],
          names: 'table public.schema_migrations',
        },
        {
          what: "a function's configuration",
          apply: statement('ALTER FUNCTION public.is_jsonb_array(jsonb) SET search_path = pg_catalog'),
          expect: [/^function public\.is_jsonb_array\(obj jsonb\): (config|definition) /],
          names: 'function public.is_jsonb_array(obj jsonb)',
        },
        dropIndex('public.idx_code_code_first_75', 'DROP INDEX public.idx_code_code_first_75'),
        {
          what: 'disable a trigger',
          apply: statement('ALTER TABLE public.code DISABLE TRIGGER insert_set_created_at'),
          expect: [/^trigger public\.code\.insert_set_created_at: enabled 'O' ≠ 'D'$/],
          names: 'trigger public.code.insert_set_created_at',
        },
        {
          what: 'populate a materialized view',
          apply: statement('REFRESH MATERIALIZED VIEW public.signature_stats'),
          expect: [
            /^materialized view public\.signature_stats: (populated 'f' ≠ 't'|not populated ≠ \d+ rows)$/,
          ],
          names: 'materialized view public.signature_stats',
        },
      ],
    },
  ];

async function connect(
  fixture: DumpFixture,
  db: TestDatabase,
): Promise<{ sql: Sql; close(): Promise<void> }> {
  if (fixture.engine === 'mariadb') {
    // The client's session: utf8mb4 with its default collation, so a recreated routine differs
    // from the loaded one only in what the mutation changes.
    const c = await mysql.createConnection({
      ...settings.mariadb,
      database: db.name,
      charset: 'UTF8MB4_GENERAL_CI',
    });
    return {
      sql: async (text) => {
        const [result] = await c.query(text);
        return Array.isArray(result)
          ? { rows: result as Record<string, unknown>[], affected: 0 }
          : { rows: [], affected: (result as mysql.ResultSetHeader).affectedRows };
      },
      close: () => c.end(),
    };
  }
  const c = new pg.Client({ ...settings.postgres, database: db.name });
  await c.connect();
  return {
    sql: async (text) => {
      const result = await c.query(text);
      return { rows: result.rows, affected: result.rowCount ?? 0 };
    },
    close: () => c.end(),
  };
}

for (const { fixture: name, available, check, mutations } of cases) {
  const fixture = dumpFixture(name);
  describe.runIf(available && requireDump(fixture))(`oracle harness on ${name}`, () => {
    const dbs: TestDatabase[] = [];
    let work = '';
    let first: Snapshot;
    let second: Snapshot;

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), `oracle-${name}-`));
      dbs.push(
        await createTestDatabase(fixture.engine, 'oracle'),
        await createTestDatabase(fixture.engine, 'oracle'),
      );
      await Promise.all(
        dbs.map(async (db) => {
          const dir = mkdtempSync(join(work, 'load-'));
          await loadWithClient(fixture.engine, db.name, await fixtureFiles(fixture, db.name, dir));
        }),
      );
      first = await snapshot(fixture.engine, dbs[0]!.name);
      second = await snapshot(fixture.engine, dbs[1]!.name);
    });

    afterAll(async () => {
      await Promise.all(dbs.map((db) => db.drop()));
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('sees the same database after two loads with the client', () => {
      check(first);
      expect(diffSnapshots(first, second)).toEqual([]);
    });

    it("leaves upgradekit's own tables out unless told otherwise", async () => {
      const session = await connect(fixture, dbs[1]!);
      const prefix = fixture.engine === 'postgres' ? 'public.' : '';
      try {
        await session.sql('CREATE TABLE upgradekit_applied (id INT PRIMARY KEY, task VARCHAR(100))');
        await session.sql("INSERT INTO upgradekit_applied VALUES (1, 'a')");
        await session.sql('CREATE TABLE upgrade_log (id INT)');
        expect(diffSnapshots(first, await snapshot(fixture.engine, dbs[1]!.name))).toEqual([]);
        const all = diffSnapshots(
          first,
          await snapshot(fixture.engine, dbs[1]!.name, { exclude: ['upgrade_log'] }),
        );
        expect(all).toContain(`unexpected table ${prefix}upgradekit_applied`);
        expect(all).toContain(`unexpected column ${prefix}upgradekit_applied.task`);
        expect(all.filter((line) => line.includes('upgrade_log'))).toEqual([]);
      } finally {
        await session.sql('DROP TABLE upgradekit_applied');
        await session.sql('DROP TABLE upgrade_log');
        await session.close();
      }
    });

    it('names each change made to the second load, and nothing else', async () => {
      const session = await connect(fixture, dbs[1]!);
      let before = second;
      try {
        for (const mutation of mutations) {
          await mutation.apply(session.sql);
          const after = await snapshot(fixture.engine, dbs[1]!.name);
          const lines = diffSnapshots(before, after);
          expect(lines.length, mutation.what).toBeGreaterThan(0);
          for (const line of lines)
            expect(
              mutation.expect.some((re) => re.test(line)),
              `${mutation.what}: unexpected line ${line}`,
            ).toBe(true);
          for (const re of mutation.expect)
            expect(
              lines.some((line) => re.test(line)),
              `${mutation.what}: no line matches ${re}`,
            ).toBe(true);
          before = after;
        }
      } finally {
        await session.close();
      }
      const all = diffSnapshots(first, before);
      for (const mutation of mutations)
        expect(
          all.some((line) => line.startsWith(`${mutation.names}:`) || line === `missing ${mutation.names}`),
          `against the first load, ${mutation.what}: nothing names ${mutation.names}`,
        ).toBe(true);
    });
  });
}

const presentDumps = dumpFixtures.filter((f) => requireDump(f));
describe.runIf(presentDumps.length > 0)('dump fixtures', () => {
  it.each(presentDumps.map((f) => [f.name, f] as const))(
    '%s: every file is the bytes its README records',
    (_, fixture) => {
      // A Debian-shipped dump is the bytes the package had, as scripts/dumps-from-debian.sh wrote
      // them down (a newer Debian revision may change them; the README names the one seen here).
      const readme = readFileSync(
        join(fixture.dir, fixture.source === 'debian' ? 'SOURCE' : 'README.md'),
        'utf8',
      );
      for (const file of fixture.files) {
        const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
        expect(readme, `${file} (a checkout that rewrote line endings?)`).toContain(sha256);
      }
    },
  );
});

describe.each([
  {
    engine: 'mariadb' as const,
    available: hasMariaDB,
    error: /ERROR 1146 .* at line 2: Table '.*no_such_table' doesn't exist/,
  },
  { engine: 'postgres' as const, available: hasPostgres, error: /relation "no_such_table" does not exist/ },
])('loadWithClient on $engine', ({ engine, available, error }) => {
  it.runIf(available)("fails with the client's own error message", async () => {
    const db = await createTestDatabase(engine, 'oracle');
    const dir = mkdtempSync(join(tmpdir(), 'oracle-bad-'));
    try {
      const file = join(dir, 'bad.sql');
      writeFileSync(file, 'SELECT 1;\nSELECT * FROM no_such_table;\n');
      await expect(loadWithClient(engine, db.name, [file])).rejects.toThrow(error);
    } finally {
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('withoutBodyComments', () => {
  const routine = (body: string): Snapshot => ({
    engine: 'mariadb',
    objects: {
      routine: { f: { ROUTINE_DEFINITION: body, SQL_MODE: 'X' } },
      view: { v: { VIEW_DEFINITION: '/* a */ 1' } },
    },
    data: {},
  });
  it('equates bodies that differ only in comments and blanks', () => {
    const sent = "BEGIN\n  -- MariaDB version\n  SET x = '-- kept'; # note\n  /* block */ RETURN x;\nEND";
    const stripped = "BEGIN\n  \n  SET x = '-- kept'; \n  RETURN x;\nEND";
    expect(diffSnapshots(routine(sent), routine(stripped))).toHaveLength(1);
    expect(diffSnapshots(withoutBodyComments(routine(sent)), withoutBodyComments(routine(stripped)))).toEqual(
      [],
    );
  });
  it('still tells bodies apart that differ in code, in strings or in a versioned comment', () => {
    const base = withoutBodyComments(routine("BEGIN SET x = '-- a'; /*!50001 SET y = 1 */ END"));
    for (const other of [
      "BEGIN SET x = '-- b'; /*!50001 SET y = 1 */ END",
      "BEGIN SET x = '-- a'; /*!50001 SET y = 2 */ END",
      "BEGIN SET z = '-- a'; /*!50001 SET y = 1 */ END",
    ])
      expect(diffSnapshots(base, withoutBodyComments(routine(other))), other).toHaveLength(1);
  });
  it('leaves everything but bodies alone', () => {
    expect(withoutBodyComments(routine('x')).objects.view).toEqual({ v: { VIEW_DEFINITION: '/* a */ 1' } });
  });
});
