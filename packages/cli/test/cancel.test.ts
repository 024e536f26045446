// Ctrl-C that does what it says (issue 16): the built `upgradekit` in a child process, real
// SIGINT/SIGTERM, real MariaDB and PostgreSQL. Each case asserts what the database holds after the
// signal — the running statement really stopped on the server, nothing half-committed — the exit
// code and time, the words printed, and that the next run resumes to an end state with each row once.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import { requireService, suiteDatabase, type TestDatabase } from '#test-support';
import { bin, cli, relaxed, writeTree } from './support.js';

interface Finished {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** performance.now() when the process exited. */
  readonly exitedAt: number;
}

interface Running {
  readonly child: ChildProcess;
  readonly done: Promise<Finished>;
  /** What the process printed so far. */
  output(): string;
}

/** `upgradekit …` as a CI step runs it, left running so that a test can signal it. */
function start(args: readonly string[], cwd: string): Running {
  const env: Record<string, string | undefined> = { ...process.env, CI: 'true', NO_COLOR: '1' };
  env.UPGRADEKIT_CONFIG = relaxed;
  delete env.UPGRADEKIT_SITE;
  const child = spawn(process.execPath, [bin, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<Finished>((resolve) => {
    child.once('exit', (status, signal) => {
      const exitedAt = performance.now();
      child.once('close', () => resolve({ status, signal, stdout, stderr, exitedAt }));
    });
  });
  return { child, done, output: () => stdout + stderr };
}

/** Polls `probe` every 50 ms until it is true; fails after `ms`, with what the run printed. */
async function until(what: string, probe: () => Promise<boolean> | boolean, run: Running, ms = 15_000) {
  const deadline = performance.now() + ms;
  while (!(await probe())) {
    if (performance.now() > deadline || run.child.exitCode !== null)
      throw new Error(`never saw ${what}; the run printed:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Signals the run and waits for it: the exit and how long after the signal it came. */
async function signalAndWait(run: Running, signal: NodeJS.Signals): Promise<Finished & { afterMs: number }> {
  const sentAt = performance.now();
  run.child.kill(signal);
  const finished = await run.done;
  return { ...finished, afterMs: finished.exitedAt - sentAt };
}

/** The statements of this database running now on the MariaDB server (the server's own view). */
async function mariadbRunning(admin: Knex, database: string, like: string): Promise<string[]> {
  const [rows] = (await admin.raw(
    "SELECT INFO AS info FROM information_schema.PROCESSLIST WHERE DB = ? AND COMMAND = 'Query' AND INFO LIKE ?",
    [database, like],
  )) as [Array<{ info: string }>];
  return rows.map((r) => r.info);
}

/** Whether a process runs (a zombie, dead but not yet reaped by its new parent, does not). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function release(dir: string, component: string, type: string, tasks: string, files: Record<string, string>) {
  return writeTree(dir, {
    'release/upgradekit.yaml': `component: ${component}\ndatasources:\n  main: { type: ${type} }\ndefaults: { datasource: main }\n`,
    'release/versions/2.0.0/tasks.yaml': `tasks:\n${tasks}`,
    ...Object.fromEntries(Object.entries(files).map(([path, text]) => [`release/${path}`, text])),
  });
}

function site(dir: string, c: TestDatabase['connection'] | undefined): string {
  // The children inherit it: a password never goes into the file.
  if (c?.password) process.env.UK_CANCEL_PW = c.password;
  const datasource = c
    ? `datasources:\n  main: { host: ${c.host}, port: ${c.port}, user: ${c.user}, database: ${c.database}${c.password ? `, passwordEnv: UK_CANCEL_PW` : ''} }\n`
    : '';
  writeTree(dir, {
    'site.yaml': `site: site-1\nassessment: { thresholds: { cpuIdlePercent: 0 } }\n${datasource}`,
  });
  return join(dir, 'site.yaml');
}

const ARGS = ['--release', 'release', '--from', '1.0.0', '--to', '2.0.0', '--yes'];

const hasMariaDB = await requireService('mariadb');
const hasPostgres = await requireService('postgres');

describe.runIf(hasMariaDB)('Ctrl-C during MariaDB tasks', () => {
  const target = suiteDatabase('mariadb', 'uk_cancel');
  const { knex: admin } = target;

  it('during a transactional task (INSERT …; DO SLEEP(15);): the sleep is killed on the server, nothing commits, exit 130; the next run applies it once', async () => {
    await admin.raw('CREATE TABLE tx_rows (id INT PRIMARY KEY)');
    // While `slow` has a row the task sleeps 15 s; the resume runs it without the wait.
    await admin.raw('CREATE TABLE slow (x INT)');
    await admin.raw('INSERT INTO slow VALUES (1)');
    const dir = release(
      mkdtempSync(join(tmpdir(), 'uk-cancel-tx-')),
      'cancel_tx',
      'mariadb',
      '  - { id: fill, kind: sql, stage: in_stop, file: fill.sql, compatibleFrom: 1.0.0 }\n',
      {
        'versions/2.0.0/fill.sql':
          'INSERT INTO tx_rows VALUES (1);\nDO SLEEP((SELECT COUNT(*) FROM slow) * 15);\n',
      },
    );
    const config = site(dir, target.connection);
    const run = start(['run', '--config', config, ...ARGS], dir);
    await until(
      'the sleep running on the server',
      async () => (await mariadbRunning(admin, target.name, 'DO SLEEP%')).length > 0,
      run,
    );

    const r = await signalAndWait(run, 'SIGINT');
    expect(r.status, r.stdout + r.stderr).toBe(130);
    // Bounded: the server stops the sleep at once, the rollback is immediate.
    expect(r.afterMs).toBeLessThan(3000);
    expect(await mariadbRunning(admin, target.name, 'DO SLEEP%')).toEqual([]);
    // Rolled back: neither the row nor the marker of the task.
    expect(await admin('tx_rows').select('id')).toEqual([]);
    expect(await admin('upgradekit_applied').where({ task_id: 'fill' })).toEqual([]);
    expect(r.stderr).toContain('received SIGINT: stopping: fill is cancelled');
    expect(r.stdout).toContain('[ABORTED] versions/2.0.0/fill.sql');
    expect(r.stdout).toContain(
      'rolled back: nothing of task fill was committed; statement 2 of 2 (versions/2.0.0/fill.sql:2) was running and was stopped on the server; the next run runs it again',
    );
    expect(r.stderr).toContain('Stopped on SIGINT (fill: see above). Run the same command again to resume');
    // The summary's time is the time the work took to stop, not that of the signal alone.
    expect(r.stdout).toMatch(/on site site-1: aborted in /);
    console.info(`transactional task: exit ${r.status} ${Math.round(r.afterMs)} ms after SIGINT`);
    // Stopped, not interrupted: status shows it so, with nothing in doubt.
    const status = cli(['status', '--config', config, ...ARGS.slice(0, 2)], { cwd: dir });
    expect(status.status, status.stdout + status.stderr).toBe(0);
    expect(status.stdout).toContain('0 in doubt');
    expect(status.stdout).toMatch(
      /ABORTED\s+preStart\s+fill — fill was cancelled \(received SIGINT\): rolled back/,
    );

    await admin('slow').delete();
    const again = cli(['run', '--config', config, ...ARGS], { cwd: dir });
    expect(again.status, again.stdout + again.stderr).toBe(0);
    expect(await admin('tx_rows').select('id')).toEqual([{ id: 1 }]);
    expect(await admin('upgradekit_applied').where({ task_id: 'fill' }).count({ n: '*' })).toEqual([
      { n: 1 },
    ]);
  });

  it('during a DDL task run statement by statement (ALTER … ALGORITHM=COPY on 300,000 rows): the ALTER is killed on the server and rolled back, statement 1 stays; the next run resumes at statement 2', async () => {
    await admin.raw('CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(100))');
    await admin.raw("INSERT INTO big SELECT seq, REPEAT('x', 100) FROM seq_1_to_300000");
    const dir = release(
      mkdtempSync(join(tmpdir(), 'uk-cancel-ddl-')),
      'cancel_ddl',
      'mariadb',
      '  - { id: ddl, kind: sql, stage: in_stop, file: ddl.sql, compatibleFrom: 1.0.0 }\n',
      {
        'versions/2.0.0/ddl.sql': [
          'CREATE TABLE audit (id INT PRIMARY KEY);',
          'ALTER TABLE big ADD COLUMN flag INT, ALGORITHM=COPY;',
          'INSERT INTO audit VALUES (1);',
          '',
        ].join('\n'),
      },
    );
    const config = site(dir, target.connection);
    const columns = async () =>
      ((await admin.raw('SHOW COLUMNS FROM big')) as [Array<{ Field: string }>])[0].map((c) => c.Field);
    const run = start(['run', '--config', config, ...ARGS], dir);
    // The copy is under way on the server: the statement that commits on its own is running.
    await until(
      'the ALTER copying rows',
      async () => {
        const [rows] = (await admin.raw(
          "SELECT STATE AS state FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE 'ALTER TABLE%'",
          [target.name],
        )) as [Array<{ state: string }>];
        return rows.some((r) => /copy/i.test(r.state));
      },
      run,
    );

    const r = await signalAndWait(run, 'SIGINT');
    expect(r.status, r.stdout + r.stderr).toBe(130);
    expect(r.afterMs).toBeLessThan(3000);
    expect(await mariadbRunning(admin, target.name, 'ALTER TABLE%')).toEqual([]);
    expect(await columns()).toEqual(['id', 'pad']);
    expect(await admin('audit').select('id')).toEqual([]); // statement 1 committed: the table is there
    expect(r.stdout).toContain(
      'rolled back: statement 2 of 3 (versions/2.0.0/ddl.sql:2) was stopped on the server before it took effect; statement 1 is committed; the next run resumes at statement 2',
    );
    console.info(`DDL task: exit ${r.status} ${Math.round(r.afterMs)} ms after SIGINT`);
    const status = cli(['status', '--json', '--config', config, ...ARGS.slice(0, 2)], { cwd: dir });
    expect(status.status, status.stdout + status.stderr).toBe(0);
    expect(status.json().report).toMatchObject({
      counts: { inDoubt: 0 },
      steps: [
        {
          id: 'ddl',
          status: 'aborted',
          next: { action: 'resume', reason: expect.stringContaining('statement 2 of 3') },
        },
      ],
    });

    const again = cli(['run', '--config', config, ...ARGS], { cwd: dir });
    expect(again.status, again.stdout + again.stderr).toBe(0);
    expect(await columns()).toEqual(['id', 'pad', 'flag']);
    expect(await admin('audit').select('id')).toEqual([{ id: 1 }]);
  });
});

describe.runIf(hasPostgres)('PostgreSQL tasks run statement by statement', () => {
  const target = suiteDatabase('postgres', 'uk_cancel');
  const { knex: admin } = target;

  it('SIGTERM exits 143: pg_sleep is cancelled on the server, the table made before it stays; the next run resumes at the sleep', async () => {
    await admin.raw('CREATE TABLE slow (x INT)');
    await admin.raw('INSERT INTO slow VALUES (1)');
    const dir = release(
      mkdtempSync(join(tmpdir(), 'uk-cancel-pg-')),
      'cancel_pg',
      'postgres',
      '  - { id: steps, kind: sql, stage: in_stop, file: steps.sql, compatibleFrom: 1.0.0, transaction: false }\n',
      {
        'versions/2.0.0/steps.sql': [
          'CREATE TABLE made (id INT PRIMARY KEY);',
          'SELECT pg_sleep((SELECT count(*) FROM slow) * 15);',
          'INSERT INTO made VALUES (1);',
          '',
        ].join('\n'),
      },
    );
    const config = site(dir, target.connection);
    const sleeping = async () =>
      (
        await admin.raw(
          "SELECT pid FROM pg_stat_activity WHERE datname = ? AND state = 'active' AND query LIKE 'SELECT pg_sleep%'",
          [target.name],
        )
      ).rows.length > 0;
    const run = start(['run', '--config', config, ...ARGS], dir);
    await until('pg_sleep running on the server', sleeping, run);

    const r = await signalAndWait(run, 'SIGTERM');
    expect(r.status, r.stdout + r.stderr).toBe(143);
    expect(r.afterMs).toBeLessThan(3000);
    expect(await sleeping()).toBe(false);
    expect(await admin('made').select('id')).toEqual([]);
    expect(r.stderr).toContain('received SIGTERM: stopping: steps is cancelled');
    expect(r.stdout).toContain(
      'rolled back: statement 2 of 3 (versions/2.0.0/steps.sql:2) was stopped on the server before it took effect; statement 1 is committed; the next run resumes at statement 2',
    );
    expect(r.stderr).toContain('Stopped on SIGTERM');
    console.info(`SIGTERM: exit ${r.status} ${Math.round(r.afterMs)} ms after it`);

    await admin('slow').delete();
    const again = cli(['run', '--config', config, ...ARGS], { cwd: dir });
    expect(again.status, again.stdout + again.stderr).toBe(0);
    expect(await admin('made').select('id')).toEqual([{ id: 1 }]);
  });
});

describe.runIf(hasPostgres)('Ctrl-C during CREATE INDEX CONCURRENTLY', () => {
  const target = suiteDatabase('postgres', 'uk_cancel');
  const { knex: admin } = target;

  it('a cancel that may leave part of the work is reported in doubt; the next run settles it from the catalog (the INVALID index is dropped and built again)', async () => {
    await admin.raw('CREATE TABLE items (id INT PRIMARY KEY, name TEXT)');
    await admin.raw("INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 1000) g");
    await admin.raw('CREATE TABLE done (id INT PRIMARY KEY)');
    const dir = release(
      mkdtempSync(join(tmpdir(), 'uk-cancel-cic-')),
      'cancel_cic',
      'postgres',
      '  - { id: index, kind: sql, stage: in_stop, file: index.sql, compatibleFrom: 1.0.0 }\n',
      {
        'versions/2.0.0/index.sql':
          'CREATE INDEX CONCURRENTLY items_name ON items (name);\nINSERT INTO done VALUES (1);\n',
      },
    );
    const config = site(dir, target.connection);
    // An open transaction with a snapshot: the index build, its catalog row already committed,
    // waits for it — as it does for a long report on a live site.
    const reader = await admin.client.acquireConnection();
    await admin.raw('BEGIN ISOLATION LEVEL REPEATABLE READ').connection(reader);
    await admin.raw('SELECT count(*) FROM items').connection(reader);
    try {
      const run = start(['run', '--config', config, ...ARGS], dir);
      await until(
        'the index build waiting on the server',
        async () =>
          (
            await admin.raw(
              "SELECT 1 FROM pg_stat_activity WHERE datname = ? AND query LIKE 'CREATE INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'",
              [target.name],
            )
          ).rows.length > 0,
        run,
      );
      const r = await signalAndWait(run, 'SIGINT');
      expect(r.status, r.stdout + r.stderr).toBe(130);
      expect(r.afterMs).toBeLessThan(3000);
      expect(r.stdout).toContain(
        'in doubt: statement 1 of 2 (versions/2.0.0/index.sql:1) may have been applied: it was running when the run was cancelled, PostgreSQL (outside a transaction block) commits it on its own, and cancelled there, it may leave part of its work behind (CREATE INDEX CONCURRENTLY leaves an invalid index)',
      );
      console.info(`CREATE INDEX CONCURRENTLY: exit ${r.status} ${Math.round(r.afterMs)} ms after SIGINT`);
    } finally {
      await admin.raw('ROLLBACK').connection(reader);
      await admin.client.releaseConnection(reader);
    }
    // It did leave something: the index, invalid.
    const index = async () =>
      (
        await admin.raw(
          "SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'items_name'",
        )
      ).rows as Array<{ valid: boolean }>;
    expect(await index()).toEqual([{ valid: false }]);
    // No operator needed: the catalog shows the index INVALID, so it is dropped and built again.
    const done = cli(['run', '--config', config, ...ARGS], { cwd: dir });
    expect(done.status, done.stdout + done.stderr).toBe(0);
    expect(done.stdout + done.stderr).toContain(
      'statement 1 of 2 (versions/2.0.0/index.sql:1) was in doubt: it did not take effect (index items_name exists but is INVALID (its build was interrupted): it is dropped and built again); running it again',
    );
    expect(await index()).toEqual([{ valid: true }]);
    expect(await admin('done').select('id')).toEqual([{ id: 1 }]);
  });
});

describe('a tool that ignores its signal', () => {
  it('a command trapping SIGTERM is killed, with what it started, after its stopGrace; exit 130, the step in doubt', async () => {
    const dir = release(
      mkdtempSync(join(tmpdir(), 'uk-cancel-tool-')),
      'cancel_tool',
      'sqlite',
      '  - { id: stubborn, kind: command, stage: in_stop, command: [sh, ./stubborn.sh], stopGrace: 2s, compatibleFrom: 1.0.0 }\n',
      {
        // The shell ignores TERM, and so does its sleep (an ignored signal is inherited).
        'stubborn.sh': "trap '' TERM\nsleep 60 &\necho $! > sleep.pid\necho started\nwait\n",
      },
    );
    const config = site(dir, undefined);
    const run = start(['run', '--config', config, ...ARGS], dir);
    const pidFile = join(dir, 'release/sleep.pid');
    await until('the tool started', () => run.output().includes('started') && existsSync(pidFile), run);

    const r = await signalAndWait(run, 'SIGINT');
    expect(r.status, r.stdout + r.stderr).toBe(130);
    // The grace (2 s), then the kill: not the tool's 60 s.
    expect(r.afterMs).toBeGreaterThanOrEqual(1900);
    expect(r.afterMs).toBeLessThan(4500);
    expect(r.stdout).toMatch(
      /stubborn was cancelled \(received SIGINT\): sh \(pid \d+\) ignored SIGTERM for 2s and was killed \(SIGKILL, with everything it started\); what it did is in doubt/,
    );
    const sleepPid = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(sleepPid)).toBe(false);
    console.info(`tool ignoring SIGTERM: exit ${r.status} ${Math.round(r.afterMs)} ms after SIGINT`);

    // A program's effects are unknown: the next run asks, as it says.
    const next = cli(['run', '--config', config, ...ARGS], { cwd: dir });
    expect(next.status, next.stdout + next.stderr).toBe(3);
    expect(next.stdout).toContain('[IN DOUBT] stubborn');
  });

  it('a second Ctrl-C while it waits exits at once (130), saying the tool is in doubt, and kills it on the way out', async () => {
    const dir = release(
      mkdtempSync(join(tmpdir(), 'uk-cancel-twice-')),
      'cancel_twice',
      'sqlite',
      // The default stop grace: 5 s to wait, unless the operator will not.
      '  - { id: stubborn, kind: command, stage: in_stop, command: [sh, ./stubborn.sh], compatibleFrom: 1.0.0 }\n',
      {
        // Stubborn only while `slow` exists: the run after the decision finishes at once.
        'stubborn.sh':
          "[ -e slow ] || exit 0\ntrap '' TERM\nsleep 60 &\necho $! > sleep.pid\necho started\nwait\n",
        slow: '',
      },
    );
    const config = site(dir, undefined);
    const run = start(['run', '--config', config, ...ARGS], dir);
    const pidFile = join(dir, 'release/sleep.pid');
    await until('the tool started', () => run.output().includes('started') && existsSync(pidFile), run);
    run.child.kill('SIGINT');
    await until(
      'the first signal taken',
      () => run.output().includes('received SIGINT: stopping'),
      run,
      3000,
    );

    const r = await signalAndWait(run, 'SIGINT');
    expect(r.status, r.stdout + r.stderr).toBe(130);
    expect(r.afterMs).toBeLessThan(1000);
    expect(r.stderr).toContain(
      'received SIGINT again: exiting now, without waiting for the running step to stop. What may be left:',
    );
    expect(r.stderr).toMatch(
      /- stubborn \(stage preStart\): sh \(pid \d+\) is running: it is killed as upgradekit exits, and what it did is in doubt until you resolve the task \(applied or retry\)/,
    );
    expect(alive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
    console.info(`second Ctrl-C: exit ${r.status} ${Math.round(r.afterMs)} ms after it`);

    // The state is that of a crash, and the next run says what was said: in doubt until resolved.
    const next = cli(['run', '--config', config, ...ARGS], { cwd: dir });
    expect(next.status, next.stdout + next.stderr).toBe(3);
    expect(next.stdout).toContain('[IN DOUBT] stubborn');
    rmSync(join(dir, 'release/slow'));
    expect(cli(['resolve', 'stubborn', '--retry', '--config', config, ...ARGS], { cwd: dir }).status).toBe(0);
    const done = cli(['run', '--config', config, ...ARGS], { cwd: dir });
    expect(done.status, done.stdout + done.stderr).toBe(0);
  });

  it('a tool module ignoring ctx.signal: the run stops waiting after its stopGrace and exits 130, saying it may still be running', async () => {
    const dir = release(
      mkdtempSync(join(tmpdir(), 'uk-cancel-module-')),
      'cancel_module',
      'sqlite',
      '  - { id: deaf, kind: tool, stage: in_stop, package: ./deaf.mjs, stopGrace: 1s, compatibleFrom: 1.0.0 }\n',
      {
        'versions/2.0.0/deaf.mjs':
          "export default { run: (ctx) => { ctx.log.info('deaf started'); return new Promise((r) => setTimeout(r, 60_000)); } };\n",
      },
    );
    const config = site(dir, undefined);
    const run = start(['run', '--config', config, ...ARGS], dir);
    await until('the tool started', () => run.output().includes('deaf started'), run);
    const r = await signalAndWait(run, 'SIGINT');
    expect(r.status, r.stdout + r.stderr).toBe(130);
    expect(r.afterMs).toBeLessThan(3000);
    expect(r.stdout).toContain(
      'deaf was cancelled (received SIGINT) but did not stop within 1s: it may still be running, so what it did is in doubt',
    );
  });
});
