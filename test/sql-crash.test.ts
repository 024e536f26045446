import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, requireService, runNode, type TestDatabase, withStore } from '#test-support';

const fixture = fileURLToPath(new URL('./fixtures/sql-upgrade.mjs', import.meta.url));
const hasMariaDB = await requireService('mariadb');
const TABLES = 10;

function writeRelease(dir: string): string[] {
  const ids: string[] = [];
  writeFileSync(
    join(dir, 'upgradekit.yaml'),
    'component: ledger\ndatasources:\n  main: { type: mariadb }\ndefaults:\n  datasource: main\n',
  );
  for (let i = 0; i < TABLES; i++) {
    const version = `1.0.${1 + (i % 3)}`;
    const folder = join(dir, 'versions', version);
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      join(folder, `ddl_${i}.sql`),
      `CREATE TABLE IF NOT EXISTS t${i} (id INT PRIMARY KEY, v INT NOT NULL);\nALTER TABLE t${i} ADD COLUMN IF NOT EXISTS w INT DEFAULT ${i};\nCREATE INDEX IF NOT EXISTS t${i}_v ON t${i} (v);\n`,
    );
    writeFileSync(
      join(folder, `load_${i}.sql`),
      Array.from({ length: 20 }, (_, r) => `INSERT INTO t${i} (id, v) VALUES (${r}, ${r * i});`).join('\n'),
    );
    writeFileSync(
      join(folder, `bump_${i}.sql`),
      `UPDATE t${i} SET v = v + 1;\nUPDATE t${i} SET w = w * 2 WHERE id % 2 = 0;\n`,
    );
  }
  const byVersion = new Map<string, string[]>();
  for (let i = 0; i < TABLES; i++) {
    const version = `1.0.${1 + (i % 3)}`;
    const list = byVersion.get(version) ?? [];
    list.push(
      `  - { id: ddl_${i}, kind: sql, stage: in_stop, file: ddl_${i}.sql, idempotent: true }`,
      `  - { id: load_${i}, kind: sql, stage: in_stop, file: load_${i}.sql }`,
      `  - { id: bump_${i}, kind: sql, stage: in_stop, file: bump_${i}.sql }`,
    );
    ids.push(`ddl_${i}`, `load_${i}`, `bump_${i}`);
    byVersion.set(version, list);
  }
  for (const [version, lines] of byVersion)
    writeFileSync(join(dir, 'versions', version, 'tasks.yaml'), `tasks:\n${lines.join('\n')}\n`);
  return ids;
}

async function runChild(env: Record<string, string>, killAfterMs?: number) {
  const { code, signal, output } = await runNode(fixture, env, killAfterMs);
  return { code, signal, out: output };
}

/** Schema and data of the ten tables, as comparable text. */
async function snapshot(db: TestDatabase): Promise<string> {
  const c = await mysql.createConnection(db.connection);
  const parts: string[] = [];
  for (let i = 0; i < TABLES; i++) {
    const [columns] = await c.query(
      'SELECT COLUMN_NAME, COLUMN_TYPE, COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      [db.name, `t${i}`],
    );
    const [indexes] = await c.query(
      'SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY 1, 2',
      [db.name, `t${i}`],
    );
    const [rows] = await c.query(`SELECT * FROM t${i} ORDER BY id`);
    parts.push(JSON.stringify({ columns, indexes, rows }));
  }
  await c.end();
  return parts.join('\n');
}

async function pool<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: size }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

const TRIALS = Number(process.env.UPGRADEKIT_SQL_CRASH_TRIALS ?? 12);

/** The release run once without a kill on a database of its own: what every trial must end as. */
async function uninterrupted(dir: string): Promise<{ expected: string; fullRunMs: number }> {
  const reference = await createTestDatabase('mariadb', 'uk_ref');
  const started = performance.now();
  const clean = await runChild({
    RELEASE: dir,
    TARGET: JSON.stringify(reference.connection),
    STATE: join(dir, 'reference.sqlite'),
    SITE: 'ref',
  });
  const fullRunMs = performance.now() - started;
  expect(clean.code, clean.out).toBe(0);
  const expected = await snapshot(reference);
  await reference.drop();
  return { expected, fullRunMs };
}

/**
 * One trial of the release in `dir` on a fresh database, as site `site`: `drive` runs the children
 * (with the env that points them at it); afterwards the schema and data must equal `expected` and
 * each of `ids` must be logged as succeeded exactly once. What is not so is added to `problems`.
 */
async function trial(
  dir: string,
  site: string,
  check: { expected: string; ids: readonly string[]; problems: string[] },
  drive: (env: Record<string, string>) => Promise<void>,
): Promise<void> {
  const db = await createTestDatabase('mariadb', 'uk_trial');
  const state = join(dir, `${site}.sqlite`);
  try {
    await drive({ RELEASE: dir, TARGET: JSON.stringify(db.connection), STATE: state, SITE: site });
    if ((await snapshot(db)) !== check.expected)
      check.problems.push(`${site}: schema or data differ from the uninterrupted run`);
    const log = await withStore({ filename: state }, (store) => store.log({ component: 'ledger', site }));
    for (const id of check.ids) {
      const succeeded = log.filter((r) => r.taskId === id && r.status === 'succeeded').length;
      if (succeeded !== 1) check.problems.push(`${site}: ${id} logged as succeeded ${succeeded} times`);
    }
  } finally {
    await db.drop();
  }
}

describe.runIf(hasMariaDB)('SQL tasks under SIGKILL (MariaDB)', () => {
  it(`${TRIALS} trials with random kills converge to the uninterrupted schema and data; each task succeeds exactly once`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uk-sqlcrash-'));
    const ids = writeRelease(dir);
    expect(ids).toHaveLength(30);
    const { expected, fullRunMs } = await uninterrupted(dir);

    const problems: string[] = [];
    let totalKills = 0;
    await pool(
      Array.from({ length: TRIALS }, (_, i) => i),
      3,
      (n) =>
        trial(dir, `trial-${n}`, { expected, ids, problems }, async (env) => {
          let kills = 0;
          for (let round = 0; round < 12; round++) {
            const killAt = kills < 3 ? Math.floor(Math.random() * fullRunMs * 1.2) : undefined;
            const run = await runChild(env, killAt);
            if (run.signal === 'SIGKILL') {
              kills++;
              continue;
            }
            if (run.code !== 0) problems.push(`trial ${n}: exit ${run.code}: ${run.out}`);
            break;
          }
          totalKills += kills;
        }),
    );
    expect(problems).toEqual([]);
    expect(totalKills).toBeGreaterThanOrEqual(30);
  }, 300_000);

  it('a kill right after a task commits, before the state hears of it, is settled by the marker: no task runs twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uk-sqlcrash-'));
    const ids = writeRelease(dir);
    const { expected } = await uninterrupted(dir);
    const problems: string[] = [];
    // 20 transactional tasks: kill after each one's commit in turn.
    await pool(
      Array.from({ length: 20 }, (_, i) => i + 1),
      3,
      (n) =>
        trial(dir, `commit-${n}`, { expected, ids, problems }, async (env) => {
          const killed = await runChild({ ...env, KILL_AFTER_COMMIT: String(n) });
          if (killed.signal !== 'SIGKILL')
            problems.push(`commit ${n}: not killed (${killed.code}) ${killed.out}`);
          const resumed = await runChild(env);
          if (resumed.code !== 0) problems.push(`commit ${n}: resume exited ${resumed.code}: ${resumed.out}`);
        }),
    );
    expect(problems).toEqual([]);
  }, 300_000);
});
