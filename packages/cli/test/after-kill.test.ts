// What `upgradekit status` and the next `run` say right after a run is killed with SIGKILL (issue
// 16, items 2 and 5): a real `upgradekit run` child on MariaDB or PostgreSQL, inside a statement
// that sleeps on the server, a real SIGKILL, then the real `status` and `run` commands. Status must
// tell the truth at once (the run interrupted, its process dead, its step in doubt or resuming by
// itself, exit 3 only when an operator must decide); the next run says each thing once.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateStore } from '@upgradekit/core';
import knexFactory from 'knex';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, requireService, type TestDatabase } from '#test-support';
import { bin, cli, sqlite, writeTree } from './support.js';

const hasMariaDB = await requireService('mariadb');
const hasPostgres = await requireService('postgres');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How often `needle` occurs in `text`. */
const count = (text: string, needle: string) => text.split(needle).length - 1;

/** A release of one SQL task, and a site configuration pointing at `db`. */
function release(db: TestDatabase, type: 'mariadb' | 'postgres', sql: string): string {
  const c = db.connection;
  return writeTree(mkdtempSync(join(tmpdir(), `uk-kill-${type}-`)), {
    'rel/upgradekit.yaml': `component: ledger\ndatasources:\n  main: { type: ${type} }\ndefaults: { datasource: main }\n`,
    'rel/versions/1.1.0/tasks.yaml':
      'tasks:\n  - { id: slow, kind: sql, stage: in_stop, file: slow.sql, compatibleFrom: 1.0.0 }\n',
    'rel/versions/1.1.0/slow.sql': sql,
    'site.yaml': `site: s1\nassessment: { thresholds: { cpuIdlePercent: 0 } }\ndatasources:\n  main: { host: ${c.host}, port: ${c.port}, user: ${c.user}, database: ${c.database}${c.password ? `, password: ${c.password}` : ''} }\n`,
  });
}

const ARGS = ['--config', 'site.yaml', '--release', 'rel', '--from', '1.0.0', '--to', '1.1.0'];

/**
 * `upgradekit run` in the background, as a CI step would start it. With `unreaped`, its parent is
 * a shell that execs `sleep` and never waits: killed, the run stays a zombie until the test ends —
 * the "killed with -9 but not yet reaped" holder of issue 16.
 */
function startRun(cwd: string, options: { unreaped?: boolean } = {}): ChildProcess {
  const env = { ...process.env, CI: 'true', NO_COLOR: '1', UPGRADEKIT_CONFIG: undefined };
  const argv = [bin, 'run', '--yes', ...ARGS];
  if (!options.unreaped) return spawn(process.execPath, argv, { cwd, env, stdio: 'ignore' });
  return spawn('sh', ['-c', '"$@" >/dev/null 2>&1 & exec sleep 120', 'sh', process.execPath, ...argv], {
    cwd,
    env,
    stdio: 'ignore',
  });
}

/** Waits until the state says the task runs and `ready` holds for its saved progress. */
async function runningStep(
  cwd: string,
  ready: (progress: string | null) => boolean,
): Promise<{ runId: string; pid: number }> {
  const file = join(cwd, '.upgradekit/state.sqlite');
  for (let i = 0; i < 100 && !existsSync(file); i++) await sleep(100);
  const state = sqlite(file);
  try {
    for (let i = 0; i < 200; i++) {
      const step = await state('upgradekit_steps')
        .where({ task_id: 'slow' })
        .first()
        .catch(() => undefined);
      if (step?.status === 'running' && ready(step.progress)) {
        const lock = await state('upgradekit_locks').first();
        return { runId: String(step.run_id), pid: Number(lock.pid) };
      }
      await sleep(100);
    }
    throw new Error('the run never reached the task');
  } finally {
    await state.destroy();
  }
}

interface StatusDocument {
  report: {
    counts: Record<string, number>;
    lock: { runId: string; pid: number; stale: boolean; takeoverAt: number; liveness: { state: string } };
    interrupted: { runId: string; host: string; pid: number; liveness: string; why: string };
    steps: Array<{ id: string; status: string; next: { action: string; needsOperator: boolean } }>;
  };
}

describe.runIf(hasMariaDB)('MariaDB: killed inside a statement that commits on its own', () => {
  // One database per test: the killed client's statement goes on on the server (issue 16, item 1)
  // and holds its locks there until it ends.
  const dbs: TestDatabase[] = [];
  const fresh = async () => {
    const db = await createTestDatabase('mariadb', 'uk_kill');
    dbs.push(db);
    return db;
  };
  afterAll(async () => {
    const admin = await mysql.createConnection({ ...dbs[0]?.connection, database: undefined });
    for (const db of dbs) {
      const [rows] = await admin.query('SELECT id FROM information_schema.processlist WHERE db = ?', [
        db.name,
      ]);
      for (const { id } of rows as Array<{ id: number }>) await admin.query(`KILL ${id}`).catch(() => {});
      await db.drop();
    }
    await admin.end();
  });

  it('status at once: interrupted, its process dead (a zombie), the statement IN DOUBT, exit 3; the next run says it once', async () => {
    const dir = release(
      await fresh(),
      'mariadb',
      // A CALL: what it does is hidden from the catalog, so only a person can settle it (a DDL
      // statement would be settled by evidence: test/in-doubt.test.ts).
      'CREATE PROCEDURE slow_p() DO SLEEP(8);\nCALL slow_p();\nCREATE TABLE t (id INT);\n',
    );
    const parent = startRun(dir, { unreaped: true });
    try {
      // Statement 2 is marked started before it runs: the crash leaves exactly it in doubt.
      const { runId, pid } = await runningStep(dir, (p) => /"started":1/.test(p ?? ''));
      await sleep(300); // inside SLEEP(8) on the server
      process.kill(pid, 'SIGKILL');

      const status = cli(['status', ...ARGS], { cwd: dir });
      expect(status.status, status.stdout + status.stderr).toBe(3);
      const out = status.stdout;
      expect(out).toContain(
        'ledger 1.0.0 → 1.1.0 on site s1: 0 done, 0 pending, 0 failed, 0 skipped, 1 in doubt\n',
      );
      // One line names the interrupted run, its dead process and what to do.
      expect(out).toMatch(
        new RegExp(
          `^ {2}INTERRUPTED: run ${runId} \\(\\S+, pid ${pid}\\) stopped without finishing — its process is dead: its process \\(pid ${pid}\\) has exited and is a zombie not yet reaped\\. 1 step needs your decision`,
          'm',
        ),
      );
      expect(count(out, 'INTERRUPTED: run')).toBe(1);
      expect(out).toMatch(
        new RegExp(
          `^ {2}lock: run ${runId} .*: dead — .*zombie.*; the next run takes the lock over at once$`,
          'm',
        ),
      );
      expect(out).toContain(`last run ${runId}: interrupted (recorded as running)`);
      expect(out).toMatch(
        /^ {2}IN_DOUBT {4}preStart {6}slow — statement 2 of 3 \(versions\/1\.1\.0\/slow\.sql:2\) in doubt — interrupted in run \S+: statement 2 of 3 \(versions\/1\.1\.0\/slow\.sql:2\), which commits on its own, was running and may or may not have taken effect; in doubt until resolved \(applied or retry\)$/m,
      );
      expect(out).not.toContain('RUNNING');

      const json = cli(['status', '--json', ...ARGS], { cwd: dir });
      expect(json.status).toBe(3);
      const doc = json.json() as unknown as StatusDocument;
      expect(doc.report.counts).toMatchObject({ inDoubt: 1, interrupted: 0, running: 0, done: 0 });
      expect(doc.report.interrupted).toMatchObject({ runId, pid, liveness: 'dead', why: /zombie/ });
      expect(doc.report.lock).toMatchObject({ runId, pid, stale: true, liveness: { state: 'dead' } });
      expect(doc.report.lock.takeoverAt).toBeGreaterThan(0);
      expect(doc.report.steps[0]).toMatchObject({
        id: 'slow',
        status: 'in_doubt',
        next: { action: 'resume', needsOperator: true },
      });
    } finally {
      parent.kill('SIGKILL'); // the shell-turned-sleep: the zombie is reaped by init
    }

    // The next run takes the lock over, stops on the statement, and says each thing once.
    const next = cli(['run', '--yes', ...ARGS], { cwd: dir });
    expect(next.status, next.stderr).toBe(3);
    const all = next.stdout + next.stderr;
    expect(count(all, 'took over the stale lock of site "s1"')).toBe(1);
    // The whole in-doubt paragraph once; its first line once in the log and once in the summary.
    const headline =
      'Task slow: statement 2 of 3 (versions/1.1.0/slow.sql:2) was running when the upgrade was interrupted and may or may not have taken effect.';
    expect(count(next.stderr, headline)).toBe(1);
    expect(count(next.stdout, headline)).toBe(1);
    expect(
      count(
        all,
        'MySQL/MariaDB commits it on its own, so nothing rolled it back, and the catalog cannot tell (CALL may change data each time it runs).',
      ),
    ).toBe(1);
    // The killed run's CALL went on on the server: the next run waited for it before deciding.
    expect(count(all, 'is still running on the server')).toBe(1);
    expect(count(all, 'An operator must decide about slow: MySQL/MariaDB commits it on its own')).toBe(1);
    expect(count(all, 'If slow took effect: upgradekit resolve slow --applied')).toBe(1);
    expect(count(all, 'If it did not: upgradekit resolve slow --retry')).toBe(1);
    // No "running it again" / "resumes" announced for a step that then stops in doubt, no retry line.
    expect(all).not.toMatch(/idempotent|running it again|; resumes|not retried/);
    expect(next.stderr).toMatch(/^\[preStart\] stage preStart needs-decision in \S+$/m);

    // Its own run declared it in doubt: status says so, in the same words, still exit 3.
    const after = cli(['status', ...ARGS], { cwd: dir });
    expect(after.status).toBe(3);
    expect(after.stdout).not.toContain('INTERRUPTED');
    expect(after.stdout).toMatch(/IN_DOUBT {4}preStart {6}slow — .*in doubt since run \S+: statement 2 of 3/);
  }, 60_000);

  it('killed inside a statement whose progress is exact (DO SLEEP): status says it resumes by itself, exit 0', async () => {
    const dir = release(
      await fresh(),
      'mariadb',
      'CREATE TABLE t2 (id INT);\nDO SLEEP(30);\nINSERT INTO t2 VALUES (1);\n',
    );
    const run = startRun(dir);
    const { runId, pid } = await runningStep(dir, (p) => /"next":1\b/.test(p ?? ''));
    await sleep(300);
    run.kill('SIGKILL');
    await new Promise((resolve) => run.once('exit', resolve)); // reaped: its pid is gone

    const status = cli(['status', ...ARGS], { cwd: dir });
    expect(status.status, status.stdout + status.stderr).toBe(0);
    const out = status.stdout;
    expect(out).toContain('0 done, 0 pending, 0 failed, 0 skipped, 0 in doubt, 1 interrupted\n');
    expect(out).toContain(
      `  INTERRUPTED: run ${runId} (`, // host varies
    );
    expect(out).toMatch(
      new RegExp(
        `pid ${pid}\\) stopped without finishing — its process is dead: no process has pid ${pid} on this machine any more\\. Its step resumes by itself: run again\\.$`,
        'm',
      ),
    );
    expect(out).toMatch(
      /^ {2}INTERRUPTED preStart {6}slow — resumes by itself \(interrupted in run \S+; resumes: statement 2 of 3 \(versions\/1\.1\.0\/slow\.sql:2\) next\)$/m,
    );
    const doc = cli(['status', '--json', ...ARGS], { cwd: dir }).json() as unknown as StatusDocument;
    expect(doc.report.counts).toMatchObject({ inDoubt: 0, interrupted: 1 });
    expect(doc.report.steps[0]).toMatchObject({
      status: 'interrupted',
      next: { action: 'resume', needsOperator: false },
    });
    expect(doc.report.interrupted).toMatchObject({ runId, pid, liveness: 'dead' });
  }, 60_000);
});

describe.runIf(hasPostgres)('PostgreSQL: killed inside a transactional file', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('postgres', 'uk_kill');
  });
  afterAll(() => db?.drop()); // WITH (FORCE): ends the killed client's backend too

  it('status at once: interrupted, its check settles it on the next run — resumes by itself, exit 0', async () => {
    const dir = release(
      db,
      'postgres',
      'CREATE TABLE t (id INT);\nSELECT pg_sleep(30);\nINSERT INTO t VALUES (1);\n',
    );
    const run = startRun(dir);
    const { runId, pid } = await runningStep(dir, () => true);
    // Wait until the server runs pg_sleep for it, so the kill lands inside the transaction.
    const admin = knexFactory(db.config);
    for (let i = 0; i < 100; i++) {
      const { rows } = await admin.raw(
        "SELECT 1 FROM pg_stat_activity WHERE datname = ? AND query LIKE 'SELECT pg_sleep%'",
        [db.name],
      );
      if (rows.length > 0) break;
      await sleep(100);
    }
    await admin.destroy();
    run.kill('SIGKILL');
    await new Promise((resolve) => run.once('exit', resolve));

    const status = cli(['status', ...ARGS], { cwd: dir });
    expect(status.status, status.stdout + status.stderr).toBe(0);
    expect(status.stdout).toContain('0 in doubt, 1 interrupted\n');
    expect(status.stdout).toMatch(
      new RegExp(
        `^ {2}INTERRUPTED: run ${runId} \\(\\S+, pid ${pid}\\) stopped without finishing — its process is dead: no process has pid ${pid}`,
        'm',
      ),
    );
    expect(status.stdout).toMatch(
      /^ {2}INTERRUPTED preStart {6}slow — resumes by itself \(interrupted in run \S+; its check decides\)$/m,
    );
    const doc = cli(['status', '--json', ...ARGS], { cwd: dir }).json() as unknown as StatusDocument;
    expect(doc.report.steps[0]).toMatchObject({
      status: 'interrupted',
      next: { action: 'check', needsOperator: false },
    });
    expect(doc.report.lock).toMatchObject({ stale: true, liveness: { state: 'dead' } });
  }, 60_000);
});

describe('LOCKED: who holds the site, whether it is alive, and when its lock is taken over', () => {
  /** A SQLite release whose one task sleeps for a while: a run that holds the lock. */
  function sleeper(): string {
    return writeTree(mkdtempSync(join(tmpdir(), 'uk-locked-')), {
      'rel/upgradekit.yaml':
        'component: ledger\ndatasources:\n  main: { type: sqlite }\ndefaults: { datasource: main }\n',
      'rel/versions/1.1.0/tasks.yaml':
        'tasks:\n  - { id: slow, kind: tool, stage: in_stop, package: ./nap.mjs, compatibleFrom: 1.0.0 }\n',
      'rel/versions/1.1.0/nap.mjs':
        'export default { run: () => new Promise((r) => setTimeout(r, 20_000)) };\n',
      'site.yaml': 'site: s1\nassessment: { thresholds: { cpuIdlePercent: 0 } }\n',
    });
  }

  it('a live holder: status RUNNING (exit 0); a second run is refused once, saying when takeover happens; after a kill the next run takes over', async () => {
    const dir = sleeper();
    const run = startRun(dir);
    try {
      const { runId, pid } = await runningStep(dir, () => true);
      const status = cli(['status', ...ARGS], { cwd: dir });
      expect(status.status, status.stderr).toBe(0);
      expect(status.stdout).toContain('0 in doubt, 1 running\n');
      expect(status.stdout).not.toContain('INTERRUPTED');
      expect(status.stdout).toMatch(
        new RegExp(
          `^ {2}lock: run ${runId} \\(\\S+, pid ${pid}\\) since \\S+, last heartbeat \\S+: alive — its process \\(pid ${pid}\\) is running on this machine; taken over only if its heartbeat stops, at \\S+ \\(in \\d+ s: last heartbeat \\S+ \\+ TTL 60 s\\) at the earliest$`,
          'm',
        ),
      );
      expect(status.stdout).toMatch(/^ {2}RUNNING {5}preStart {6}slow$/m);

      const second = cli(['run', '--yes', ...ARGS], { cwd: dir });
      expect(second.status).toBe(1);
      const all = second.stdout + second.stderr;
      expect(count(all, 'UPGRADEKIT_LOCKED')).toBe(1);
      expect(count(all, `is being upgraded by run ${runId}`)).toBe(1);
      expect(all).toMatch(
        /Its process is alive: .*\. The lock is taken over only if its heartbeat stops, at \S+ \(in \d+ s: last heartbeat \+ TTL 60 s\) at the earliest\. Wait for run \S+ to finish, or stop it \(pid \d+ on \S+\) and run again\./,
      );
    } finally {
      run.kill('SIGKILL');
      await new Promise((resolve) => (run.exitCode === null ? run.once('exit', resolve) : resolve(null)));
    }
    const status = cli(['status', ...ARGS], { cwd: dir });
    // A tool not marked idempotent: only an operator knows what it did.
    expect(status.status).toBe(3);
    expect(status.stdout).toMatch(/INTERRUPTED: run \S+ .*its process is dead: no process has pid \d+/);
    const next = cli(['run', '--yes', ...ARGS], { cwd: dir });
    expect(next.status).toBe(3);
    expect(next.stdout + next.stderr).not.toContain('UPGRADEKIT_LOCKED');
    expect(count(next.stdout + next.stderr, 'took over the stale lock of site "s1"')).toBe(1);
    expect(next.stderr).toMatch(/its process is dead: no process has pid \d+ on this machine any more\)$/m);
  }, 60_000);

  it('a holder that cannot be checked (another machine sharing the state): refused with the time takeover happens; status RUNNING', async () => {
    const dir = sleeper();
    // What a runner on another machine leaves in a shared state database: another boot id.
    const store = await StateStore.open({ filename: join(dir, '.upgradekit/state.sqlite') });
    const now = Date.now();
    const other = {
      host: 'runner-b',
      pid: 77,
      bootId: 'f00dfeed-0000-4000-8000-000000000000',
      pidNamespace: 'pid:[4026531836]',
      startTime: 1,
    };
    await store.knex('upgradekit_locks').insert({
      component: 'ledger',
      site: 's1',
      run_id: 'run-elsewhere',
      host: other.host,
      pid: other.pid,
      ttl_ms: 60_000,
      boot_id: other.bootId,
      pid_ns: other.pidNamespace,
      pid_start: other.startTime,
      acquired_at: now,
      heartbeat_at: now,
    });
    await store.startRun({
      runId: 'run-elsewhere',
      component: 'ledger',
      site: 's1',
      versionFrom: '1.0.0',
      versionTo: '1.1.0',
      ...other,
      startedAt: now,
    });
    await store.close();

    const refused = cli(['run', '--yes', ...ARGS], { cwd: dir });
    expect(refused.status).toBe(1);
    const all = refused.stdout + refused.stderr;
    expect(count(all, 'UPGRADEKIT_LOCKED')).toBe(1);
    expect(all).toMatch(
      /Whether its process is alive cannot be proven from here: it ran under another kernel boot .*\. So only its heartbeat decides: if it stops, the lock is taken over at \S+ \(in \d+ s: last heartbeat \+ TTL 60 s\)\./,
    );
    expect(all).not.toContain('Wait for run');

    const status = cli(['status', ...ARGS], { cwd: dir });
    expect(status.status).toBe(0);
    expect(status.stdout).not.toContain('INTERRUPTED');
    expect(status.stdout).toMatch(
      /^ {2}lock: run run-elsewhere \(runner-b, pid 77\) .*: cannot be checked — it ran under another kernel boot .*; taken over if its heartbeat stops, at \S+ \(in \d+ s: .*\)$/m,
    );
  }, 60_000);
});
