/**
 * Issue 16: a statement left in doubt by a killed run is settled by evidence. The killed client's
 * statement goes on on the server, so the resume first waits for it (or cancels it with
 * --kill-in-doubt), then reads the catalog — and asks nobody for the DDL it can prove.
 * Real `upgradekit run` processes, real SIGKILLs, a 2,000,000-row table.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireService, suiteDatabase, type TestDatabase } from '#test-support';
import { bin, cli, relaxed, writeTree } from '../packages/cli/test/support.js';

const [hasMariaDB, hasPostgres] = await Promise.all([requireService('mariadb'), requireService('postgres')]);

/** A release with one non-idempotent task `ddl` running `sql`, and a site configuration for `db`. */
function release(db: TestDatabase, type: 'mariadb' | 'postgres', sql: string): string {
  const c = db.connection as { host: string; port: number; user: string; database: string };
  return writeTree(mkdtempSync(join(tmpdir(), 'uk-in-doubt-')), {
    'release/upgradekit.yaml': `component: big\ndatasources:\n  main: { type: ${type} }\ndefaults: { datasource: main }\n`,
    'release/versions/2.0.0/tasks.yaml':
      'tasks:\n  - { id: ddl, kind: sql, stage: in_stop, file: ddl.sql, compatibleFrom: 1.0.0 }\n',
    'release/versions/2.0.0/ddl.sql': sql,
    'site.yaml': `assessment: { thresholds: { cpuIdlePercent: 0 } }\ndatasources:\n  main: { host: ${c.host}, port: ${c.port}, user: ${c.user}, database: ${c.database} }\n`,
  });
}

const args = ['--config', 'site.yaml', '--release', 'release', '--from', '1.0.0', '--to', '2.0.0', '--yes'];

function startRun(dir: string): ChildProcess {
  return spawn(process.execPath, [bin, 'run', ...args], {
    cwd: dir,
    env: { ...process.env, CI: 'true', NO_COLOR: '1', UPGRADEKIT_CONFIG: relaxed },
    stdio: 'ignore',
  });
}

/** SIGKILLs the run as soon as the server shows `pattern` running; resolves once it is dead. */
async function killWhenRunning(child: ChildProcess, running: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + 60_000;
  while (!(await running())) {
    if (Date.now() > until || child.exitCode !== null)
      throw new Error('the statement never showed up on the server');
    await new Promise((r) => setTimeout(r, 20));
  }
  const dead = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await dead;
}

describe.runIf(hasMariaDB)('MariaDB: an ALTER left running by a killed run', () => {
  const db = suiteDatabase('mariadb', 'uk_doubt');
  const { knex } = db;

  const alter = 'ALTER TABLE big ADD INDEX big_v (v), ADD COLUMN w INT DEFAULT 0, ALGORITHM=COPY';
  const file = `${alter};\nCREATE TABLE after_alter (i INT);\n`;
  const running = async () =>
    Number(
      (
        await knex.raw(
          "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE 'ALTER TABLE big ADD INDEX%'",
        )
      )[0][0].n,
    ) > 0;
  const fresh = async () => {
    await knex.raw('DROP TABLE IF EXISTS big, after_alter');
    await knex.raw('CREATE TABLE big (id INT PRIMARY KEY, v INT)');
    await knex.raw('INSERT INTO big SELECT seq, seq % 1000 FROM seq_1_to_2000000');
  };
  const indexes = async () =>
    (
      await knex.raw(
        "SELECT COUNT(*) AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'big' AND INDEX_NAME = 'big_v'",
      )
    )[0][0].n;

  it('1. the resume waits while the old ALTER still runs, then finds its index and column and continues: no decision asked', async () => {
    await fresh();
    const dir = release(db, 'mariadb', file);
    await killWhenRunning(startRun(dir), running);
    const resumed = cli(['run', ...args], { cwd: dir });
    const text = resumed.stdout + resumed.stderr;
    expect(resumed.status, text).toBe(0);
    expect(text).toMatch(/statement 1 of 2 \(versions\/2\.0\.0\/ddl\.sql:1\) is still running on the server/);
    expect(text).toMatch(/it took effect \(index big_v on big exists, column big\.w exists\)/);
    expect(Number(await indexes())).toBe(1);
    expect(await knex.schema.hasTable('after_alter')).toBe(true);
  }, 90_000);

  it('1b. --kill-in-doubt cancels the old ALTER on the server; the catalog shows it undone, and it runs again', async () => {
    await fresh();
    const dir = release(db, 'mariadb', file);
    await killWhenRunning(startRun(dir), running);
    const resumed = cli(['run', '--kill-in-doubt', ...args], { cwd: dir });
    const text = resumed.stdout + resumed.stderr;
    expect(resumed.status, text).toBe(0);
    expect(text).toMatch(/cancelling it \(--kill-in-doubt\)/);
    expect(text).toMatch(
      /it did not take effect \(index big_v on big does not exist, column big\.w does not exist\); running it again/,
    );
    expect(Number(await indexes())).toBe(1);
    expect(await knex.schema.hasColumn('big', 'w')).toBe(true);
  }, 90_000);
});

describe.runIf(hasPostgres)('PostgreSQL: CREATE INDEX CONCURRENTLY left running by a killed run', () => {
  const db = suiteDatabase('postgres', 'uk_doubt');
  const { knex } = db;
  beforeAll(async () => {
    await knex.raw('CREATE TABLE big AS SELECT g AS id, g % 1000 AS v FROM generate_series(1, 2000000) g');
  }, 60_000);

  it('1c. --kill-in-doubt leaves an INVALID index: it is dropped and built again, and the file goes on', async () => {
    const dir = release(
      db,
      'postgres',
      'CREATE INDEX CONCURRENTLY big_v ON big (v, id);\nCREATE TABLE after_index (i int);\n',
    );
    const running = async () =>
      Number(
        (
          await knex.raw(
            "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX CONCURRENTLY big_v%' AND state = 'active'",
          )
        ).rows[0].n,
      ) > 0;
    // A transaction holding an older snapshot keeps the build waiting (CREATE INDEX CONCURRENTLY
    // waits for older snapshots before it finishes): on a fast machine it would otherwise finish in
    // the moment between the kill and the resume, and there would be nothing left to cancel.
    const blocker = await knex.transaction({ isolationLevel: 'repeatable read' });
    await blocker.raw('SELECT 1');
    let released = false;
    const unblock = async () => {
      if (released) return;
      released = true;
      await blocker.commit().catch(() => {});
    };
    try {
      await killWhenRunning(startRun(dir), running);
      const resume = spawn(process.execPath, [bin, 'run', '--kill-in-doubt', ...args], {
        cwd: dir,
        env: { ...process.env, CI: 'true', NO_COLOR: '1', UPGRADEKIT_CONFIG: relaxed },
      });
      let text = '';
      resume.stdout?.on('data', (d: Buffer) => {
        text += d.toString();
      });
      resume.stderr?.on('data', (d: Buffer) => {
        text += d.toString();
      });
      const exited = new Promise<number | null>((r) => resume.once('exit', (code) => r(code)));
      // Once the resume has cancelled the old build, the rebuild may go on.
      const until = Date.now() + 60_000;
      while (!text.includes('is dropped and built again') && resume.exitCode === null && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50));
      await unblock();
      expect(await exited, text).toBe(0);
      expect(text).toMatch(
        /index big_v exists but is INVALID \(its build was interrupted\): it is dropped and built again/,
      );
    } finally {
      await unblock();
    }
    const index = (
      await knex.raw("SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass('big_v')")
    ).rows;
    expect(index).toEqual([{ valid: true }]);
    expect(await knex.schema.hasTable('after_index')).toBe(true);
  }, 90_000);
});
