// A rollback that fails at a step leaves the site no worse: every path and database is either
// restored, untouched, or kept aside at a place the result names (with the command that puts a
// path back). Failures are real: a stop command that exits 1, the database connection cut while
// the dump loads (a TCP proxy), a start command that exits 1, a health check that fails. Each
// rollback is then continued to the end and must equal the backup. A rollback whose history was
// lost (a fresh state file gives the same id, rollback_001) must not collide with, nor drop, what
// the failed one kept aside.
import { execFile } from 'node:child_process';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import {
  createBackup,
  localRunner,
  Rollback,
  type RollbackHooks,
  type RollbackOptions,
  StateStore,
  startService,
} from '@upgradekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy, requireService, settings, suiteDatabase } from '#test-support';
import { clientMessage } from '../../src/backup/databases.js';
import {
  asideDatabases,
  backupWorkspace,
  canonicalDump,
  databaseSpec,
  dropAsides,
  makeApp,
  snapshot,
  withKnex,
} from './support.js';

const run = promisify(execFile);
const hasMariaDB = await requireService('mariadb');
const notArchived = (rel: string) => /^(logs|tmp)(\/|$)|\.pid$/.test(rel);
/** A hook whose command fails as a real one does: `stderr` on stderr, exit 1. */
const failsWith = (stderr: string) => async () => {
  await run('sh', ['-c', `echo "${stderr}" >&2; exit 1`]);
};

describe.runIf(hasMariaDB)('a rollback that fails at a step, on MariaDB', () => {
  const db = suiteDatabase('mariadb', 'uk_fail');
  const ws = backupWorkspace('rollback-failures', { state: true, asidesOf: db });
  let proxy: FaultProxy;
  let dumpBefore: string;
  let appBefore: Record<string, string>;
  const component = 'billing';
  const site = 'site-f';
  const app = () => join(ws.work, 'root', 'opt', 'billing');
  const unit = () => join(ws.work, 'root', 'etc', 'billing.conf');
  const root = () => ws.root;

  /** Through the proxy: the rollback's connections can be cut. */
  const spec = () =>
    databaseSpec(db, 'mariadb', { host: proxy.host, port: proxy.port, password: db.connection.password });

  async function upgrade(): Promise<void> {
    await withKnex(db, async (knex) => {
      await knex.raw('ALTER TABLE invoices ADD COLUMN IF NOT EXISTS currency CHAR(3)');
      await knex('invoices').where('id', '<', 100).del();
    });
    await makeApp(app(), '4.1.0');
    await writeFile(join(app(), 'logs', 'app.log'), 'a log line\nwritten by 4.1.0\n');
    await writeFile(unit(), 'version=4.1.0\n');
  }

  async function expectRestored(): Promise<void> {
    expect(await canonicalDump(db, 'mariadb')).toBe(dumpBefore);
    expect(await snapshot(app(), notArchived)).toEqual(appBefore);
    expect(await readFile(unit(), 'utf8')).toBe('version=4.0.0\n');
    // The logs written before the rollback are in the restored directory.
    expect(await readFile(join(app(), 'logs', 'app.log'), 'utf8')).toContain('written by 4.1.0');
  }

  async function expectUpgraded(): Promise<void> {
    expect(await readFile(unit(), 'utf8')).toBe('version=4.1.0\n');
    expect(await readFile(join(app(), 'conf', 'application.properties'), 'utf8')).toContain('version=4.1.0');
  }

  /** Nothing the rollback wrote beside a path is left over (staging or aside). */
  async function leftovers(): Promise<string[]> {
    const names = [
      ...(await readdir(dirname(app()))).map((n) => join(dirname(app()), n)),
      ...(await readdir(dirname(unit()))).map((n) => join(dirname(unit()), n)),
    ];
    return names.filter((n) => n.includes('.upgradekit-'));
  }

  function rollback(hooks: RollbackHooks = {}, more: Partial<RollbackOptions> = {}): Rollback {
    return new Rollback({
      state: ws.state,
      component,
      site,
      root: root(),
      programDir: app(),
      databases: [spec()],
      yes: true,
      hooks,
      ...more,
    });
  }

  beforeAll(async () => {
    proxy = await FaultProxy.start({ host: db.connection.host, port: db.connection.port });
    await withKnex(db, async (knex) => {
      await knex.raw(
        'CREATE TABLE invoices (id INT AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(64), amount DECIMAL(10,2), note TEXT)',
      );
      // Enough rows that the dump is a few hundred KB: the proxy cuts its load part-way.
      const rows = Array.from({ length: 2000 }, (_, i) => ({
        customer: `customer-${i % 97}`,
        amount: (i * 7.31).toFixed(2),
        note: `${'n'.repeat(120)} ${i}`,
      }));
      await knex.batchInsert('invoices', rows, 500);
    });
    await makeApp(app(), '4.0.0');
    await run('mkdir', ['-p', dirname(unit())]);
    await writeFile(unit(), 'version=4.0.0\n');
    const backup = await createBackup({
      root: root(),
      component,
      site,
      versionFrom: '4.0.0',
      versionTo: '4.1.0',
      programDir: app(),
      config: { root: join(ws.work, 'root'), paths: [unit()] },
      databases: [{ ...spec(), host: db.connection.host, port: db.connection.port }],
    });
    expect(backup.error).toBeUndefined();
    dumpBefore = await canonicalDump(db, 'mariadb');
    appBefore = await snapshot(app(), notArchived);
  });
  afterAll(() => proxy?.close());

  it('step 1 fails (the stop command exits 1): nothing is changed; continuing completes', async () => {
    await upgrade();
    const failed = await rollback({
      stopServices: failsWith('Failed to stop billing.service: Access denied'),
    }).auto('latest');
    expect(failed).toMatchObject({ status: 'failed', nextStep: 1, asides: [], kept: [] });
    expect(failed.message).toContain('Failed to stop billing.service: Access denied');
    await expectUpgraded();
    expect(await leftovers()).toEqual([]);

    const resumed = await rollback({ stopServices: () => {} }).auto('latest');
    expect(resumed.error).toBeUndefined();
    expect(resumed).toMatchObject({ status: 'completed', continued: true, kept: [] });
    await expectRestored();
    expect(await leftovers()).toEqual([]);
  });

  it('step 2 fails (the connection is cut while the dump loads): the database kept aside is named; files are restored', async () => {
    await upgrade();
    const { size } = (await latestDump())[0]!;
    expect(size).toBeGreaterThan(100_000);
    // Every query is a connection of its own and far smaller than this; only the load reaches it.
    proxy.set({ cutAfterBytes: Math.floor(size / 3) });
    let failed: Awaited<ReturnType<Rollback['auto']>>;
    try {
      failed = await rollback().auto('latest');
    } finally {
      proxy.set({});
    }
    expect(failed.status, failed.message).toBe('failed');
    expect(failed.steps.map((s) => s.status)).toEqual([
      'skipped',
      'failed',
      'succeeded',
      'succeeded',
      'pending',
      'pending',
    ]);
    const aside = `${db.name}_uk${failed.rollbackId!.replace(/\D/g, '')}`;
    // The client's own reason, and where the tables from before the rollback are.
    expect(failed.steps[1]!.error).toMatch(
      /^restore of mariadb database \S+ on local failed \(exit 1\): ERROR 2013/,
    );
    expect(failed.steps[1]!.error).toContain(`kept in database ${aside} until the rollback verifies`);
    expect(failed.kept).toEqual([
      expect.objectContaining({
        kind: 'path',
        original: app(),
        aside: `${app()}.upgradekit-aside-${failed.rollbackId}`,
      }),
      expect.objectContaining({ kind: 'path', original: unit() }),
      { kind: 'database', original: db.name, aside, host: 'local' },
    ]);
    const [[kept]] = await withKnex(db, (knex) =>
      knex.raw(`SELECT COUNT(*) AS n FROM \`${aside}\`.invoices`),
    );
    expect(Number(kept.n)).toBe(1901);

    const resumed = await rollback().auto('latest');
    expect(resumed.error).toBeUndefined();
    expect(resumed).toMatchObject({ status: 'completed', continued: true, kept: [] });
    await expectRestored();
    expect(await leftovers()).toEqual([]);
  }, 60_000);

  it('step 5 fails (the start command exits 1): files restored, copies named with how to put them back; continuing completes with the logs', async () => {
    await upgrade();
    const pidFile = join(ws.work, 'billing.pid');
    const start = (command: string) => (ctx: { signal: AbortSignal }) =>
      startService({
        runner: localRunner(),
        command: ['sh', '-c', command],
        cwd: app(),
        // Under the program directory, as the documented layout has it: restored at step 3.
        log: join(app(), 'logs', 'server.log'),
        pidFile,
        health: { command: ['grep', '-q', 'listening', join(app(), 'logs', 'server.log')] },
        intervalMs: 100,
        timeoutMs: 10_000,
        signal: ctx.signal,
      });
    const failed = await rollback({
      startServices: start('echo "bind: address already in use"; exit 1'),
    }).auto('latest');
    expect(failed).toMatchObject({ status: 'failed', nextStep: 5 });
    expect(failed.message).toMatch(
      /exited before it became healthy\nlast lines of .*server\.log:\nbind: address already in use/,
    );
    const id = failed.rollbackId!;
    expect(failed.kept).toEqual([
      {
        kind: 'path',
        original: app(),
        aside: `${app()}.upgradekit-aside-${id}`,
        host: 'local',
        putBack: `mv -T -- ${app()} ${app()}.upgradekit-restored-${id} && mv -T -- ${app()}.upgradekit-aside-${id} ${app()}`,
      },
      expect.objectContaining({ kind: 'path', original: unit(), aside: `${unit()}.upgradekit-aside-${id}` }),
      expect.objectContaining({ kind: 'database', aside: `${db.name}_uk${id.replace(/\D/g, '')}` }),
    ]);
    expect(await readFile(`${unit()}.upgradekit-aside-${id}`, 'utf8')).toBe('version=4.1.0\n');
    await expectRestored();

    const resumed = await rollback({
      startServices: start(
        'echo "listening on 8080 ($(grep version conf/application.properties))"; exec sleep 30',
      ),
    }).auto('latest');
    try {
      expect(resumed.error).toBeUndefined();
      expect(resumed).toMatchObject({ status: 'completed', kept: [] });
      await expectRestored();
      const log = await readFile(join(app(), 'logs', 'server.log'), 'utf8');
      expect(log).toContain('bind: address already in use');
      expect(log).toContain('listening on 8080 (version=4.0.0)');
      expect(await leftovers()).toEqual([]);
    } finally {
      process.kill(Number(await readFile(pidFile, 'utf8')), 'SIGKILL');
    }
  }, 60_000);

  it('step 6 fails (the health check fails): the printed command puts a kept path back exactly', async () => {
    await upgrade();
    const failed = await rollback({ verify: failsWith('GET /health: 503') }).auto('latest');
    expect(failed).toMatchObject({ status: 'failed', nextStep: 6 });
    await expectRestored();
    const config = failed.kept.find((k) => k.original === unit())!;
    // The operator decides to undo the configuration by hand.
    await run('sh', ['-c', config.putBack!]);
    expect(await readFile(unit(), 'utf8')).toBe('version=4.1.0\n');
    expect(await readFile(`${unit()}.upgradekit-restored-${failed.rollbackId}`, 'utf8')).toBe(
      'version=4.0.0\n',
    );
    await rm(`${unit()}.upgradekit-restored-${failed.rollbackId}`);

    const resumed = await rollback().auto('latest');
    expect(resumed).toMatchObject({ status: 'completed', kept: [] });
    // Step 4 was done: the configuration stays as the operator put it.
    expect(await readFile(unit(), 'utf8')).toBe('version=4.1.0\n');
    await writeFile(unit(), 'version=4.0.0\n');
    await expectRestored();
    expect(await leftovers()).toEqual([]);
  }, 60_000);

  it('a second rollback after a failed one whose history is lost: same id, no collision, the first one’s copies kept', async () => {
    await upgrade();
    // Each with a history of its own, as two state files (or two directories the CLI ran in) have.
    const histories = [join(ws.work, 'first-state.sqlite'), join(ws.work, 'second-state.sqlite')];
    const [firstState, secondState] = await Promise.all(
      histories.map((filename) => StateStore.open({ filename })),
    );
    try {
      const first = await rollback(
        { startServices: failsWith('Job for billing.service failed') },
        { state: firstState! },
      ).auto('latest');
      expect(first).toMatchObject({ status: 'failed', nextStep: 5, rollbackId: 'rollback_001' });
      const keptByFirst = first.kept.map((k) => k.aside);
      expect(keptByFirst).toEqual([
        `${app()}.upgradekit-aside-rollback_001`,
        `${unit()}.upgradekit-aside-rollback_001`,
        `${db.name}_uk001`,
      ]);
      // The new version is put back in place by hand, and the rollback is run again elsewhere.
      await upgrade();
      const second = await rollback({}, { state: secondState! }).auto('latest');
      expect(second.error).toBeUndefined();
      expect(second).toMatchObject({ status: 'completed', rollbackId: 'rollback_001', kept: [] });
      await expectRestored();
      // What the first rollback kept aside was neither filled, reused nor removed.
      const [asides, count] = await withKnex(db, async (knex) => {
        const [[row]] = await knex.raw(`SELECT COUNT(*) AS n FROM \`${db.name}_uk001\`.invoices`);
        return [await asideDatabases(knex, db), row as { n: number }] as const;
      });
      expect(asides).toEqual([`${db.name}_uk001`]);
      expect(Number(count.n)).toBe(1901);
      expect(await readFile(`${unit()}.upgradekit-aside-rollback_001`, 'utf8')).toBe('version=4.1.0\n');
      // The first rollback, still open in its own history, finds its copies where it left them.
      const status = await rollback({}, { state: firstState! }).status();
      expect(status.kept.map((k) => k.aside)).toEqual(keptByFirst);
      await rollback({}, { state: firstState! }).abandon();
    } finally {
      await Promise.all([firstState?.close(), secondState?.close()]);
    }
    await dropAsides(db);
    await rm(`${app()}.upgradekit-aside-rollback_001`, { recursive: true });
    await rm(`${unit()}.upgradekit-aside-rollback_001`);
    expect(await leftovers()).toEqual([]);
  }, 60_000);

  /** The database dumps of the backups, newest first. */
  async function latestDump(): Promise<{ file: string; size: number }[]> {
    const { backups } = await rollback().list();
    return Promise.all(
      backups.map(async (b) => {
        const file = join(b.dir, 'database_backup.sql');
        return { file, size: (await stat(file)).size };
      }),
    );
  }
});

describe.runIf(hasMariaDB)('the mariadb client’s error, as a message', () => {
  it('leads with the ERROR line, not the echo of the statement between separator lines', async () => {
    const { host, port, user, password } = settings.mariadb;
    const result = await run(
      'mariadb',
      [
        `--host=${host}`,
        `--port=${port}`,
        `--user=${user}`,
        '--batch',
        '--execute=SELECT * FROM no_such_db.t',
      ],
      { env: { ...process.env, MYSQL_PWD: password } },
    ).catch((error: { stderr: string }) => error);
    const stderr = (result as { stderr: string }).stderr;
    expect(stderr.split('\n')[0]).toMatch(/^(-{14}|ERROR)/); // 10.11 echoes; older clients may not
    const message = clientMessage(stderr);
    expect(message.split('\n')[0]).toBe("ERROR 1146 (42S02) at line 1: Table 'no_such_db.t' doesn't exist");
    expect(message).not.toContain('--------------');
  });
});
