// Issue 16's SIGKILL trials, shared by `npm test` (a seeded few) and `npm run test:soak` (30 per
// engine): a job scheduler's schema upgrade on a 1,000,000-row log table — long ALTERs, index
// builds and UPDATEs — run by a real `upgradekit run` that is SIGKILLed at a random moment, then
// `status` at once, then `run` again until done. Every trial must end equal to the database's own
// client running the same files once; nothing applied twice; every operator decision is counted
// (the goal: none for DDL the catalog can settle).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, cli, relaxed, writeTree } from '../../packages/cli/test/support.js';
import {
  createTestDatabase,
  diffSnapshots,
  loadWithClient,
  type Snapshot,
  settings,
  snapshot,
  type TestDatabase,
} from '../support/index.js';

export type Engine = 'mariadb' | 'postgres' | 'clickhouse';

interface Scenario {
  /** The schema and `ROWS` log rows before the upgrade, loaded by the client into every database. */
  readonly base: string;
  /** The upgrade's files, in task order: id → SQL. */
  readonly tasks: Readonly<Record<string, string>>;
  /** A table an INSERT fills → its name at the end (an operator compares its rows with the oracle's). */
  readonly finalNames?: Readonly<Record<string, string>>;
}

const mariadb: Scenario = {
  base: `CREATE TABLE jobs (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, legacy_flag TINYINT DEFAULT 0);
INSERT INTO jobs SELECT seq, CONCAT('job-', seq), seq % 2 FROM seq_1_to_100;
CREATE TABLE job_log (id BIGINT PRIMARY KEY, job_id INT NOT NULL, status VARCHAR(20) NOT NULL, msg VARCHAR(200) NOT NULL, created DATETIME NOT NULL, legacy TEXT);
INSERT INTO job_log SELECT seq, seq % 100 + 1, ELT(seq % 3 + 1, 'ok', 'failed', 'running'), CONCAT('run ', seq), '2024-01-01' + INTERVAL (seq % 100000) MINUTE, NULL FROM seq_1_to_ROWS;
CREATE TABLE old_runs (id INT);
`,
  tasks: {
    schema: `ALTER TABLE job_log ADD COLUMN duration_ms INT NULL, ALGORITHM=COPY;
CREATE INDEX job_log_status ON job_log (status, created);
ALTER TABLE jobs CHANGE name title VARCHAR(150) NOT NULL;
ALTER TABLE job_log DROP COLUMN legacy;
ALTER TABLE jobs DROP COLUMN legacy_flag, ADD COLUMN paused TINYINT NOT NULL DEFAULT 0;
CREATE TABLE job_stats (job_id INT PRIMARY KEY, runs INT NOT NULL, failures INT NOT NULL);
DROP TABLE old_runs;
RENAME TABLE job_log TO job_runs;
`,
    data: `UPDATE job_runs SET duration_ms = (id * 7) % 60000 WHERE duration_ms IS NULL;
UPDATE job_runs SET msg = CONCAT(msg, ' (v3)');
INSERT INTO job_stats SELECT job_id, COUNT(*), SUM(status = 'failed') FROM job_runs GROUP BY job_id;
`,
    finish: `ALTER TABLE job_stats ADD INDEX job_stats_runs (runs);
UPDATE jobs SET paused = 1 WHERE id % 10 = 0;
UPDATE job_runs SET status = 'lost' WHERE status = 'running' AND id % 2 = 0;
CREATE VIEW failing_jobs AS SELECT job_id FROM job_stats WHERE failures > 0;
`,
  },
};

const postgres: Scenario = {
  base: `CREATE TABLE jobs (id int PRIMARY KEY, name varchar(100) NOT NULL, legacy_flag smallint DEFAULT 0);
INSERT INTO jobs SELECT g, 'job-' || g, g % 2 FROM generate_series(1, 100) g;
CREATE TABLE job_log (id bigint PRIMARY KEY, job_id int NOT NULL, status varchar(20) NOT NULL, msg varchar(200) NOT NULL, created timestamp NOT NULL, legacy text);
INSERT INTO job_log SELECT g, g % 100 + 1, (ARRAY['ok', 'failed', 'running'])[g % 3 + 1], 'run ' || g, timestamp '2024-01-01' + (g % 100000) * interval '1 minute', NULL FROM generate_series(1, ROWS) g;
CREATE TABLE old_runs (id int);
`,
  tasks: {
    schema: `ALTER TABLE job_log ADD COLUMN duration_ms int;
CREATE INDEX CONCURRENTLY job_log_status ON job_log (status, created);
ALTER TABLE jobs RENAME COLUMN name TO title;
ALTER TABLE job_log DROP COLUMN legacy;
ALTER TABLE jobs DROP COLUMN legacy_flag, ADD COLUMN paused smallint NOT NULL DEFAULT 0;
CREATE TABLE job_stats (job_id int PRIMARY KEY, runs int NOT NULL, failures int NOT NULL);
DROP TABLE old_runs;
ALTER TABLE job_log RENAME TO job_runs;
`,
    data: `UPDATE job_runs SET duration_ms = (id * 7) % 60000 WHERE duration_ms IS NULL;
UPDATE job_runs SET msg = msg || ' (v3)';
INSERT INTO job_stats SELECT job_id, count(*), count(*) FILTER (WHERE status = 'failed') FROM job_runs GROUP BY job_id;
`,
    finish: `CREATE INDEX CONCURRENTLY job_runs_created ON job_runs (created);
UPDATE jobs SET paused = 1 WHERE id % 10 = 0;
UPDATE job_runs SET status = 'lost' WHERE status = 'running' AND id % 2 = 0;
CREATE VIEW failing_jobs AS SELECT job_id FROM job_stats WHERE failures > 0;
`,
  },
};

const clickhouse: Scenario = {
  base: `CREATE TABLE job_log (id UInt64, job_id UInt32, status String, msg String, created DateTime) ENGINE = MergeTree ORDER BY id;
INSERT INTO job_log SELECT number, number % 100 + 1, ['ok', 'failed', 'running'][number % 3 + 1], concat('run ', toString(number)), toDateTime('2024-01-01 00:00:00') + (number % 100000) * 60 FROM numbers(ROWS);
CREATE TABLE old_runs (id UInt32) ENGINE = Memory;
`,
  tasks: {
    schema: `ALTER TABLE job_log ADD COLUMN duration_ms UInt32 DEFAULT 0;
CREATE TABLE job_runs (id UInt64, job_id UInt32, status String, msg String, created DateTime, duration_ms UInt32) ENGINE = MergeTree ORDER BY (job_id, id);
DROP TABLE old_runs;
`,
    data: `INSERT INTO job_runs SELECT id, job_id, status, concat(msg, ' (v3)'), created, (id * 7) % 60000 FROM job_log;
CREATE TABLE job_stats (job_id UInt32, runs UInt64) ENGINE = MergeTree ORDER BY job_id;
INSERT INTO job_stats SELECT job_id, count() FROM job_runs GROUP BY job_id;
`,
    finish: `DROP TABLE job_log;
OPTIMIZE TABLE job_runs FINAL;
RENAME TABLE job_runs TO job_log_v3;
`,
  },
  finalNames: { job_runs: 'job_log_v3' },
};

export const scenarios: Record<Engine, Scenario> = { mariadb, postgres, clickhouse };

export interface Target {
  readonly name: string;
  readonly site: string;
  load(sql: string): Promise<void>;
  snapshot(): Promise<Snapshot>;
  drop(): Promise<void>;
}

export async function target(engine: Engine, label: string): Promise<Target> {
  if (engine === 'clickhouse') {
    const name = `uk_${label}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const admin = createClient(settings.clickhouse);
    await admin.command({ query: `CREATE DATABASE ${name}` });
    await admin.close();
    return {
      name,
      site: `datasources:\n  main: { url: 'http://127.0.0.1:8123', database: ${name} }\n`,
      load: async (sql) => {
        const file = join(mkdtempSync(join(tmpdir(), 'uk-ch-load-')), 'load.sql');
        writeFileSync(file, sql);
        const r = spawnSync('sh', ['-c', `clickhouse-client --database ${name} --multiquery < "$0"`, file], {
          encoding: 'utf8',
        });
        if (r.status !== 0) throw new Error(`clickhouse-client: ${r.stderr}`);
      },
      snapshot: () => clickhouseSnapshot(name),
      drop: async () => {
        const c = createClient(settings.clickhouse);
        await c.command({ query: `DROP DATABASE IF EXISTS ${name}` });
        await c.close();
      },
    };
  }
  const db: TestDatabase = await createTestDatabase(engine, label);
  const c = db.connection as { host: string; port: number; user: string; database: string };
  return {
    name: db.name,
    site: `datasources:\n  main: { host: ${c.host}, port: ${c.port}, user: ${c.user}, database: ${c.database} }\n`,
    load: async (sql) => {
      const file = join(mkdtempSync(join(tmpdir(), 'uk-load-')), 'load.sql');
      writeFileSync(file, sql);
      await loadWithClient(engine, db.name, [file]);
    },
    snapshot: () => snapshot(engine, db.name),
    drop: () => db.drop(),
  };
}

/** ClickHouse's catalog and rows, in the shape of the other engines' snapshots. */
async function clickhouseSnapshot(database: string): Promise<Snapshot> {
  const c = createClient(settings.clickhouse);
  try {
    const rows = async <T>(query: string) =>
      (await (await c.query({ query, format: 'JSONEachRow' })).json()) as T[];
    const tables = await rows<{ name: string; engine: string; sorting_key: string }>(
      `SELECT name, engine, sorting_key FROM system.tables WHERE database = '${database}' ORDER BY name`,
    );
    const columns = await rows<{ table: string; name: string; type: string; default_expression: string }>(
      `SELECT table, name, type, default_expression FROM system.columns WHERE database = '${database}' ORDER BY table, name`,
    );
    const objects: Snapshot['objects'] = { table: {}, column: {} };
    const data: Snapshot['data'] = {};
    for (const t of tables) {
      objects.table![t.name] = { engine: t.engine, sorting_key: t.sorting_key };
      const [agg] = await rows<{ n: string; h: string }>(
        `SELECT count() AS n, toString(sum(cityHash64(*))) AS h FROM ${database}.${t.name}`,
      );
      data[t.name] = { rows: Number(agg?.n ?? 0), checksum: String(agg?.h ?? '') };
    }
    for (const col of columns)
      objects.column![`${col.table}.${col.name}`] = { type: col.type, default: col.default_expression };
    return { engine: 'mariadb', objects, data };
  } finally {
    await c.close();
  }
}

export function writeUpgrade(engine: Engine, t: Target): string {
  const s = scenarios[engine];
  const type = engine === 'clickhouse' ? 'clickhouse' : engine;
  const kind = engine === 'clickhouse' ? 'clickhouse' : 'sql';
  const files: Record<string, string> = {
    'release/upgradekit.yaml': `component: scheduler\ndatasources:\n  main: { type: ${type} }\ndefaults: { datasource: main }\n`,
    'release/versions/3.0.0/tasks.yaml': `tasks:\n${Object.keys(s.tasks)
      .map((id) => `  - { id: ${id}, kind: ${kind}, stage: in_stop, file: ${id}.sql, compatibleFrom: 2.4.0 }`)
      .join('\n')}\n`,
    'site.yaml': `assessment: { thresholds: { cpuIdlePercent: 0 } }\n${t.site}`,
  };
  for (const [id, sql] of Object.entries(s.tasks)) files[`release/versions/3.0.0/${id}.sql`] = sql;
  return writeTree(mkdtempSync(join(tmpdir(), `uk-sigkill-${engine}-`)), files);
}

export const args = ['--config', 'site.yaml', '--release', 'release', '--from', '2.4.0', '--to', '3.0.0'];

export function startRun(dir: string): ChildProcess {
  return spawn(process.execPath, [bin, 'run', '--yes', ...args], {
    cwd: dir,
    env: { ...process.env, CI: 'true', NO_COLOR: '1', UPGRADEKIT_CONFIG: relaxed },
    stdio: 'ignore',
  });
}

export interface TrialOutcome {
  readonly killedAtMs: number;
  /** The run had finished before the kill. */
  readonly finishedFirst: boolean;
  readonly statusExit: number | null;
  readonly runs: number;
  readonly decisions: readonly string[];
}

/** Everything the trials did, for the soak's figures. */
export const outcomes: Record<Engine, TrialOutcome[]> = { mariadb: [], postgres: [], clickhouse: [] };

/**
 * `count` trials on `engine`, killed at seeded moments over the length of one clean run.
 * ClickHouse INSERTs in doubt are the decisions the catalog cannot make: the trial's operator
 * checks the row count against the oracle's and answers.
 */
export function sigkillTrials(
  engine: Engine,
  count: number,
  seed: number,
  rows = 1_000_000,
  /** Trials before this one are skipped (run by an earlier piece); their kill moments are still drawn. */
  from = 0,
): void {
  const base = scenarios[engine].base.replaceAll('ROWS', String(rows));
  describe(`${engine}: SIGKILL at a random moment of a ${rows.toLocaleString('en')}-row schema upgrade, then status, then run again`, () => {
    let oracle: Snapshot;
    let cleanMs = 0;
    beforeAll(async () => {
      const o = await target(engine, 'oracle');
      try {
        const s = scenarios[engine];
        await o.load(base + Object.values(s.tasks).join(''));
        oracle = await o.snapshot();
      } finally {
        await o.drop();
      }
      // One clean run through upgradekit: how long a run is, so kills land all along it.
      const t = await target(engine, 'clean');
      try {
        await t.load(base);
        const dir = writeUpgrade(engine, t);
        const started = performance.now();
        const r = cli(['run', '--yes', ...args], { cwd: dir, timeoutMs: 900_000 });
        cleanMs = performance.now() - started;
        expect(r.status, (r.stdout + r.stderr).slice(-4000)).toBe(0);
        expect(diffSnapshots(oracle, await t.snapshot())).toEqual([]);
      } finally {
        await t.drop();
      }
    }, 600_000);
    afterAll(() => {
      const o = outcomes[engine];
      const decisions = o.flatMap((x) => x.decisions);
      process.stderr.write(
        `\n[sigkill ${engine}] ${o.length} trials, clean run ${Math.round(cleanMs)} ms; finished before the kill: ${o.filter((x) => x.finishedFirst).length}; operator decisions: ${decisions.length}${decisions.length ? ` (${decisions.join('; ')})` : ''}\n`,
      );
    });

    let rng = seed;
    const random = () => {
      rng = (rng * 1103515245 + 12345) % 2 ** 31;
      return rng / 2 ** 31;
    };
    for (let i = 0; i < count; i++) {
      const fraction = random();
      if (i < from) continue;
      it(`trial ${i + 1}: killed at ${Math.round(fraction * 100)}% of a clean run`, async () => {
        const t = await target(engine, 'trial');
        try {
          await t.load(base);
          const dir = writeUpgrade(engine, t);
          const killAt = Math.max(150, fraction * cleanMs);
          const child = startRun(dir);
          const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
          const timer = setTimeout(() => child.kill('SIGKILL'), killAt);
          const code = await exited;
          clearTimeout(timer);
          const finishedFirst = code === 0;

          // Status right after the kill: it must answer, and agree with itself.
          const status = cli(['status', '--json', ...args], { cwd: dir, timeoutMs: 900_000 });
          expect([0, 3], status.stdout + status.stderr).toContain(status.status);
          const report = status.json() as { report: { counts: { inDoubt: number } } };
          if (report.report.counts.inDoubt > 0) expect(status.status).toBe(3);

          const decisions: string[] = [];
          let runs = 0;
          for (;;) {
            runs++;
            const r = cli(['run', '--yes', '--json', ...args], { cwd: dir, timeoutMs: 900_000 });
            if (r.status === 0) break;
            expect(r.status, (r.stdout + r.stderr).slice(-4000)).toBe(3);
            expect(runs, 'runs to converge').toBeLessThan(6);
            const decided = await decide(engine, t, oracle, r.json());
            decisions.push(decided.what);
            const resolved = cli(['resolve', decided.task, decided.flag, ...args], {
              cwd: dir,
              timeoutMs: 900_000,
            });
            expect(resolved.status, resolved.stdout + resolved.stderr).toBe(0);
          }
          outcomes[engine].push({
            killedAtMs: Math.round(killAt),
            finishedFirst,
            statusExit: status.status,
            runs,
            decisions,
          });
          // A long soak's figures as it goes: one JSON line per trial.
          if (process.env.UPGRADEKIT_SOAK_LOG)
            appendFileSync(
              process.env.UPGRADEKIT_SOAK_LOG,
              `${JSON.stringify({ engine, ...outcomes[engine].at(-1) })}\n`,
            );
          expect(diffSnapshots(oracle, await t.snapshot())).toEqual([]);
          // The DDL of these files is settled by the catalog, ClickHouse's INSERTs by its query log:
          // no decision may be asked.
          expect(decisions).toEqual([]);
        } finally {
          await t.drop();
        }
      }, 600_000);
    }
  });
}

/** What an operator does with a ClickHouse INSERT in doubt: compare the row count with what it should be. */
async function decide(
  engine: Engine,
  t: Target,
  oracle: Snapshot,
  result: Record<string, unknown>,
): Promise<{ task: string; flag: string; what: string }> {
  const error = (result.error ?? {}) as { message?: string; context?: { task?: string; statement?: number } };
  const task = error.context?.task;
  if (!task || engine !== 'clickhouse') throw new Error(`a decision was asked: ${error.message}`);
  const sql = scenarios[engine].tasks[task] ?? '';
  const statement = sql.split(';\n')[(error.context?.statement ?? 1) - 1] ?? '';
  const into = /^INSERT INTO (\w+)/.exec(statement)?.[1];
  if (!into) throw new Error(`a decision was asked for a statement the trial cannot judge: ${statement}`);
  const now = (await t.snapshot()).data[into]?.rows ?? 0;
  const expected = oracle.data[scenarios[engine].finalNames?.[into] ?? into]?.rows ?? 0;
  if (now !== 0 && now !== expected)
    throw new Error(`${into} has ${now} rows of ${expected}: a partial INSERT`);
  return {
    task,
    flag: now === expected ? '--applied' : '--retry',
    what: `${task} statement ${error.context?.statement} (INSERT INTO ${into}): ${now === expected ? 'applied' : 'not applied'}`,
  };
}
