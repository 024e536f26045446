import { type BeginStep, type StateOptions, StateStore, type StepKey } from '@upgradekit/core';
import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireService } from '#test-support';
import { SCHEMA_VERSION } from '../../src/state/schema.js';
import { stepKeyString } from '../../src/state/types.js';
import { describeBackends, type FreshState } from './fixtures/backends.js';

const hasMariaDB = await requireService('mariadb');
const hasPostgres = await requireService('postgres');

/** Past 2^32: the bigint time columns must come back as the same JavaScript numbers. */
const T0 = 1_700_000_000_123;
const TABLES = [
  'upgrade_log',
  'upgradekit_steps',
  'upgradekit_runs',
  'upgradekit_locks',
  'upgradekit_rollbacks',
];
/** The seed's upgrade_log columns (001 §5.2.5), then the ones resume and diagnosis add. */
const SEED_COLUMNS = [
  'task_id',
  'version_from',
  'version_to',
  'stage',
  'task_name',
  'status',
  'start_time',
  'end_time',
];
const EXTRA_COLUMNS = ['run_id', 'site', 'host', 'attempt', 'checksum', 'error', 'duration_ms'];
const DIALECT = { SQLite: 'sqlite', MariaDB: 'mysql', PostgreSQL: 'postgres' } as const;

function key(component: string, over: Partial<StepKey> = {}): StepKey {
  return { component, site: 'site-1', host: 'db-1', taskVersion: '2.0.0', taskId: 'add-index', ...over };
}

function begin(k: StepKey, over: Partial<BeginStep> = {}): BeginStep {
  return {
    ...k,
    runId: 'run-1',
    taskName: 'Add an index',
    stage: 'preUpgrade',
    versionFrom: '1.0.0',
    versionTo: '2.0.0',
    attempt: 1,
    checksum: 'sha256:abc',
    startedAt: T0,
    ...over,
  };
}

const note = (runId: string, reason: string) => ({
  runId,
  stage: 'postUpgrade',
  taskName: 'Rebuild the cache',
  versionFrom: '1.0.0',
  versionTo: '2.0.0',
  reason,
});

/** An upgrade_log row as stored, with the bigint columns as numbers (pg returns them as strings). */
async function logRow(store: StateStore, id: number): Promise<Record<string, unknown>> {
  const row = await store.knex('upgrade_log').where({ id }).first();
  expect(row).toBeDefined();
  const asNumber = (v: unknown) => (v === null ? null : Number(v));
  return { ...row, start_time: asNumber(row.start_time), end_time: asNumber(row.end_time) };
}

async function count(store: StateStore, table: string, where: Record<string, string> = {}): Promise<number> {
  const [row] = await store.knex(table).where(where).count({ n: '*' });
  return Number(row?.n);
}

/** Several stores opening one database at once: all succeed, and it is migrated exactly once. */
async function migratedOnceByAll(db: FreshState): Promise<void> {
  const stores: StateStore[] = [];
  try {
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => StateStore.open(db.options)));
    for (const r of results) if (r.status === 'fulfilled') stores.push(r.value);
    expect(results.filter((r) => r.status === 'rejected').map((r) => String(r.reason))).toEqual([]);
    const s = stores[0]!;
    expect(await count(s, 'upgradekit_state_migrations')).toBe(SCHEMA_VERSION);
    const locks = await s.knex('upgradekit_state_migrations_lock').select('*');
    expect(locks.map((l) => Number(l.is_locked))).toEqual([0]);
    await Promise.all(
      stores.map((each, i) =>
        each.startRun({
          runId: `run-${i}`,
          component: 'c',
          site: 's',
          versionFrom: '1',
          versionTo: '2',
          host: 'h',
          pid: 1,
          startedAt: T0 + i,
        }),
      ),
    );
    expect((await s.runs('c', 's')).map((r) => r.runId)).toEqual(['run-3', 'run-2', 'run-1', 'run-0']);
    // …and it still opens afterwards.
    stores.push(await StateStore.open(db.options));
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
}

/** A knex of our own on a test database, to set up states a store would not write. */
function rawKnex(options: StateOptions): Knex {
  if ('filename' in options) {
    return knexFactory({
      client: 'better-sqlite3',
      connection: { filename: options.filename },
      useNullAsDefault: true,
    });
  }
  if ('config' in options) return knexFactory(options.config);
  throw new Error('a test database is a file or a config');
}

describeBackends({ mariadb: hasMariaDB, postgres: hasPostgres }, (backend) => {
  describe.runIf(backend.available)('StateStore', () => {
    let fresh: FreshState;
    let store: StateStore;
    const opened: StateStore[] = [];
    const open = async (options = fresh.options) => {
      const s = await StateStore.open(options);
      opened.push(s);
      return s;
    };

    beforeAll(async () => {
      fresh = await backend.fresh();
    });
    afterAll(async () => {
      await Promise.all(opened.map((s) => s.close()));
      await fresh?.drop();
    });

    it('open creates the schema, at schemaVersion, and records its migration', async () => {
      store = await open();
      expect(store.dialect).toBe(DIALECT[backend.name]);
      expect(store.schemaVersion).toBe(SCHEMA_VERSION);
      expect(SCHEMA_VERSION).toBe(5);
      for (const table of TABLES) expect(await store.knex.schema.hasTable(table), table).toBe(true);
      const migrations = await store.knex('upgradekit_state_migrations').select('name', 'batch');
      expect(migrations.map((m) => m.name)).toEqual([
        '0001-initial',
        '0002-rollback-history',
        '0003-step-changes-data',
        '0004-structured-errors',
        '0005-lock-identity',
      ]);
      expect(migrations.map((m) => Number(m.batch))).toEqual([1, 1, 1, 1, 1]);
      for (const table of ['upgradekit_locks', 'upgradekit_runs']) {
        const info = await store.knex(table).columnInfo();
        expect(Object.keys(info), table).toEqual(expect.arrayContaining(['boot_id', 'pid_ns', 'pid_start']));
      }
      const columns = Object.keys(await store.knex('upgrade_log').columnInfo());
      expect(columns).toEqual(expect.arrayContaining([...SEED_COLUMNS, ...EXTRA_COLUMNS]));
      for (const table of TABLES) expect(await count(store, table), table).toBe(0);
    });

    it('opening the same database again is harmless and sees the same state', async () => {
      await store.startRun({
        runId: 'run-reopen',
        component: 'c-reopen',
        site: 'site-1',
        versionFrom: '1.0.0',
        versionTo: '2.0.0',
        host: 'runner-1',
        pid: 4242,
        startedAt: T0,
      });
      const again = await open();
      const third = await open();
      expect(again.schemaVersion).toBe(SCHEMA_VERSION);
      expect(await count(third, 'upgradekit_state_migrations')).toBe(SCHEMA_VERSION);
      expect(await count(third, 'upgradekit_state_migrations_lock')).toBe(1);
      expect((await again.runs('c-reopen', 'site-1')).map((r) => r.runId)).toEqual(['run-reopen']);
    });

    it('stores opening a fresh database at the same moment all succeed and migrate it once', async () => {
      // Repeated: before StateStore.#ensureMigrationLockRow, a round now and then left two knex
      // lock rows behind, and every open failed with "Migration table is already locked" for good.
      for (let round = 0; round < 3; round++) {
        const db = await backend.fresh();
        try {
          await migratedOnceByAll(db);
        } finally {
          await db.drop();
        }
      }
    });

    it("a database left with knex's tables but no lock row opens, by several stores at once", async () => {
      // What a runner killed while knex was creating its tables leaves; and the narrowest form of
      // the race above: every store goes straight to knex's check-then-insert of the lock row.
      for (let round = 0; round < 2; round++) {
        const db = await backend.fresh();
        try {
          const raw = rawKnex(db.options);
          await raw.schema.createTable('upgradekit_state_migrations', (t) => {
            t.increments();
            t.string('name');
            t.integer('batch');
            t.timestamp('migration_time');
          });
          await raw.schema.createTable('upgradekit_state_migrations_lock', (t) => {
            t.increments('index').primary();
            t.integer('is_locked');
          });
          await raw.destroy();
          await migratedOnceByAll(db);
        } finally {
          await db.drop();
        }
      }
    });

    it('stores opening an existing database at the same moment all succeed at once', async () => {
      const started = Date.now();
      const stores = await Promise.all([1, 2, 3, 4].map(() => open()));
      expect(Date.now() - started).toBeLessThan(5_000);
      for (const s of stores) expect(s.schemaVersion).toBe(SCHEMA_VERSION);
      expect(await count(store, 'upgradekit_state_migrations')).toBe(SCHEMA_VERSION);
    });

    it('two stores on one database write at the same time without stalling each other', async () => {
      // On SQLite, before the stores of one process shared one connection per file, the second
      // writer waited out busy_timeout synchronously, freezing the process for 10 s, then failed.
      const [a, b] = await Promise.all([open(), open()]);
      const started = Date.now();
      await Promise.all(
        [a!, b!].map(async (s, j) => {
          for (let i = 0; i < 10; i++) {
            const k = key('c-parallel', { site: `site-${j}`, taskId: `t${i}` });
            const id = await s.beginStep(begin(k));
            await s.saveProgress(k, 'half way');
            await s.endStep(k, id, 'succeeded', { endedAt: T0 + 1, durationMs: 1, clearProgress: true });
          }
        }),
      );
      expect(Date.now() - started).toBeLessThan(5_000);
      for (const site of ['site-0', 'site-1']) {
        const steps = await store.loadSteps('c-parallel', site);
        expect([...steps.values()].map((st) => st.status)).toEqual(Array(10).fill('succeeded'));
      }
      expect(await count(store, 'upgrade_log', { component: 'c-parallel' })).toBe(20);
      // Closing one store leaves the others on the same database working.
      await a!.close();
      await a!.close();
      expect((await b!.loadSteps('c-parallel', 'site-0')).size).toBe(10);
    });

    it('beginStep and endStep write the upgrade_log row and the step state; loadSteps returns it keyed', async () => {
      const k = key('c-begin');
      const logId = await store.beginStep(begin(k));
      expect(logId).toBeGreaterThan(0);
      expect(await logRow(store, logId)).toMatchObject({
        task_id: 'add-index',
        version_from: '1.0.0',
        version_to: '2.0.0',
        stage: 'preUpgrade',
        task_name: 'Add an index',
        status: 'running',
        start_time: T0,
        end_time: null,
        run_id: 'run-1',
        component: 'c-begin',
        site: 'site-1',
        host: 'db-1',
        task_version: '2.0.0',
        attempt: 1,
        checksum: 'sha256:abc',
        error: null,
        duration_ms: null,
      });
      const running = {
        ...k,
        taskName: 'Add an index',
        stage: 'preUpgrade',
        status: 'running',
        runId: 'run-1',
        attempt: 1,
        checksum: 'sha256:abc',
        changesData: false, // the step did not say it changes data
        startedAt: T0,
        logId, // the attempt's own log row: how a resume learns how it ended
      };
      expect(await store.getStep(k)).toEqual(running);

      await store.endStep(k, logId, 'succeeded', { endedAt: T0 + 1500, durationMs: 1499.6 });
      expect(await logRow(store, logId)).toMatchObject({
        status: 'succeeded',
        start_time: T0,
        end_time: T0 + 1500,
        duration_ms: 1500,
        error: null,
      });
      const done = { ...running, status: 'succeeded', endedAt: T0 + 1500 };
      expect(await store.getStep(k)).toEqual(done);

      // A site-wide step (host '') sits next to it under its own key.
      const siteWide = key('c-begin', { host: '', taskId: 'post-check' });
      await store.beginStep(begin(siteWide, { checksum: undefined }));
      const steps = await store.loadSteps('c-begin', 'site-1');
      expect([...steps.keys()].sort()).toEqual([stepKeyString(k), stepKeyString(siteWide)].sort());
      expect(steps.get(stepKeyString(k))).toEqual(done);
      expect(steps.get(stepKeyString(siteWide))).toMatchObject({ host: '', taskId: 'post-check' });
      expect(steps.get(stepKeyString(siteWide))).not.toHaveProperty('checksum');
      expect((await store.loadSteps('c-begin', 'site-2')).size).toBe(0);
      expect((await store.loadSteps('c-other', 'site-1')).size).toBe(0);

      const [record] = await store.log({ runId: 'run-1', component: 'c-begin', taskId: 'add-index' });
      expect(record).toEqual({
        id: logId,
        ...k,
        runId: 'run-1',
        taskName: 'Add an index',
        versionFrom: '1.0.0',
        versionTo: '2.0.0',
        stage: 'preUpgrade',
        status: 'succeeded',
        attempt: 1,
        checksum: 'sha256:abc',
        startTime: T0,
        endTime: T0 + 1500,
        durationMs: 1500,
      });
    });

    it('a second attempt of a step adds a log row and updates the state row', async () => {
      const k = key('c-retry');
      const first = await store.beginStep(begin(k, { runId: 'run-a' }));
      await store.endStep(k, first, 'failed', {
        endedAt: T0 + 100,
        durationMs: 100,
        error: 'connection reset',
      });
      expect(await store.getStep(k)).toMatchObject({
        status: 'failed',
        error: 'connection reset',
        attempt: 1,
      });

      const second = await store.beginStep(
        begin(k, { runId: 'run-b', attempt: 2, checksum: 'sha256:def', startedAt: T0 + 10_000 }),
      );
      expect(second).toBeGreaterThan(first);
      const step = await store.getStep(k);
      expect(step).toMatchObject({
        status: 'running',
        runId: 'run-b',
        attempt: 2,
        checksum: 'sha256:def',
        startedAt: T0 + 10_000,
      });
      // The failed attempt's outcome is not carried into the new one.
      expect(step).not.toHaveProperty('error');
      expect(step).not.toHaveProperty('endedAt');

      await store.endStep(k, second, 'succeeded', { endedAt: T0 + 10_050, durationMs: 50 });
      const log = await store.log({ component: 'c-retry', taskId: 'add-index' });
      expect(log.map((r) => [r.id, r.runId, r.attempt, r.status, r.error ?? null])).toEqual([
        [first, 'run-a', 1, 'failed', 'connection reset'],
        [second, 'run-b', 2, 'succeeded', null],
      ]);
      const steps = await store.loadSteps('c-retry', 'site-1');
      expect(steps.size).toBe(1);
      expect(steps.get(stepKeyString(k))).toMatchObject({
        status: 'succeeded',
        attempt: 2,
        runId: 'run-b',
      });
      expect(await count(store, 'upgradekit_steps', { component: 'c-retry' })).toBe(1);
    });

    it('clips errors longer than 4000 characters, in the log, the step, the run and audit rows', async () => {
      const long = `Error: ${'x'.repeat(4500)} (end)`;
      const clipped = `${long.slice(0, 4000)}…`;
      const k = key('c-clip');
      const logId = await store.beginStep(begin(k));
      await store.endStep(k, logId, 'failed', { endedAt: T0 + 1, durationMs: 1, error: long });
      expect((await logRow(store, logId)).error).toBe(clipped);
      expect((await store.getStep(k))?.error).toBe(clipped);
      expect((await store.log({ component: 'c-clip' }))[0]?.error).toHaveLength(4001);

      const exact = 'y'.repeat(4000);
      const k2 = key('c-clip', { taskId: 'exact' });
      const id2 = await store.beginStep(begin(k2));
      await store.endStep(k2, id2, 'failed', { endedAt: T0 + 1, durationMs: 1, error: exact });
      expect((await store.getStep(k2))?.error).toBe(exact);

      await store.setStepStatus(k2, 'in_doubt', note('run-1', long));
      expect((await store.getStep(k2))?.error).toBe(clipped);
      expect((await store.log({ component: 'c-clip', taskId: 'exact' })).at(-1)?.error).toBe(clipped);

      await store.startRun({
        runId: 'run-clip',
        component: 'c-clip',
        site: 'site-1',
        versionFrom: '1.0.0',
        versionTo: '2.0.0',
        host: 'runner-1',
        pid: 1,
        startedAt: T0,
      });
      await store.finishRun('run-clip', 'failed', long);
      expect((await store.runs('c-clip', 'site-1'))[0]?.error).toBe(clipped);
    });

    it('saveProgress persists; endStep keeps it unless clearProgress is set', async () => {
      const k = key('c-progress');
      const first = await store.beginStep(begin(k));
      await store.saveProgress(k, 'statement 7 of 12 done');
      expect((await store.getStep(k))?.progress).toBe('statement 7 of 12 done');
      const other = await open();
      expect((await other.getStep(k))?.progress).toBe('statement 7 of 12 done');

      await store.endStep(k, first, 'failed', { endedAt: T0 + 1, durationMs: 1, error: 'killed' });
      expect((await store.getStep(k))?.progress).toBe('statement 7 of 12 done');
      // The next attempt resumes inside the step: it finds the progress.
      const second = await store.beginStep(begin(k, { attempt: 2, runId: 'run-2' }));
      expect((await store.getStep(k))?.progress).toBe('statement 7 of 12 done');
      await store.saveProgress(k, 'statement 12 of 12 done');
      expect((await other.getStep(k))?.progress).toBe('statement 12 of 12 done');

      await store.endStep(k, second, 'succeeded', { endedAt: T0 + 2, durationMs: 1, clearProgress: true });
      const step = await other.getStep(k);
      expect(step).toMatchObject({ status: 'succeeded', attempt: 2 });
      expect(step).not.toHaveProperty('progress');
      const raw = await store.knex('upgradekit_steps').where({ component: 'c-progress' }).first();
      expect(raw.progress).toBeNull();
    });

    it('setStepStatus writes an audit row and creates the state row when it is missing', async () => {
      const k = key('c-status', { host: '' });
      const before = Date.now();
      await store.setStepStatus(k, 'skipped', note('run-op', 'operator: not needed on this site'));
      const created = await store.getStep(k);
      expect(created).toMatchObject({
        ...k,
        taskName: 'Rebuild the cache',
        stage: 'postUpgrade',
        status: 'skipped',
        runId: 'run-op',
        attempt: 0,
        error: 'operator: not needed on this site',
      });
      expect(created).not.toHaveProperty('startedAt');
      expect(created?.endedAt).toBeGreaterThanOrEqual(before);
      const [audit] = await store.log({ component: 'c-status' });
      expect(audit).toMatchObject({
        runId: 'run-op',
        status: 'skipped',
        attempt: 0,
        error: 'operator: not needed on this site',
        durationMs: 0,
        versionFrom: '1.0.0',
        versionTo: '2.0.0',
      });
      expect(audit?.endTime).toBe(audit?.startTime);

      // On an existing step it changes the state and keeps the attempt count.
      const logId = await store.beginStep(begin(k, { runId: 'run-2' }));
      await store.endStep(k, logId, 'failed', { endedAt: T0 + 5, durationMs: 5, error: 'boom' });
      await store.setStepStatus(k, 'pending', note('run-3', 'restart requested'));
      expect(await store.getStep(k)).toMatchObject({
        status: 'pending',
        runId: 'run-3',
        attempt: 1,
        error: 'restart requested',
      });
      const log = await store.log({ component: 'c-status' });
      expect(log.map((r) => [r.runId, r.status, r.attempt])).toEqual([
        ['run-op', 'skipped', 0],
        ['run-2', 'failed', 1],
        ['run-3', 'pending', 0],
      ]);
      expect(await count(store, 'upgradekit_steps', { component: 'c-status' })).toBe(1);
    });

    it('startRun, finishRun and runs keep the runs of a site, newest first', async () => {
      const run = (runId: string, site: string, startedAt: number, component = 'c-runs') => ({
        runId,
        component,
        site,
        versionFrom: '1.0.0',
        versionTo: '2.0.0',
        host: 'runner-7',
        pid: 31337,
        startedAt,
      });
      await store.startRun(run('r1', 'site-1', T0));
      await store.startRun(run('r2', 'site-1', T0 + 60_000));
      await store.startRun(run('r3', 'site-2', T0 + 1));
      await store.startRun(run('r4', 'site-1', T0 + 2, 'c-other'));
      expect(await store.runs('c-runs', 'site-1')).toEqual([
        { ...run('r2', 'site-1', T0 + 60_000), status: 'running' },
        { ...run('r1', 'site-1', T0), status: 'running' },
      ]);
      await expect(store.startRun(run('r1', 'site-1', T0))).rejects.toThrow();

      const before = Date.now();
      await store.finishRun('r1', 'succeeded');
      await store.finishRun('r2', 'failed', 'step add-index failed');
      const [r2, r1] = await store.runs('c-runs', 'site-1');
      expect(r2).toMatchObject({ runId: 'r2', status: 'failed', error: 'step add-index failed' });
      expect(r2?.endedAt).toBeGreaterThanOrEqual(before);
      expect(r1).toMatchObject({ runId: 'r1', status: 'succeeded' });
      expect(r1).not.toHaveProperty('error');
      expect(r1?.endedAt).toBeGreaterThanOrEqual(before);
      expect((await store.runs('c-runs', 'site-1', 1)).map((r) => r.runId)).toEqual(['r2']);
      expect((await store.runs('c-runs', 'site-2')).map((r) => r.runId)).toEqual(['r3']);
      expect((await store.runs('c-other', 'site-1')).map((r) => r.runId)).toEqual(['r4']);
    });

    it('log({ runId }) returns that run only, in the order the rows were written', async () => {
      const c = 'c-log';
      const a1 = key(c, { taskId: 's1' });
      const a2 = key(c, { taskId: 's2' });
      const b1 = key(c, { taskId: 's1', site: 'site-2' });
      // Written out of start-time order: the log follows the writes, not the clocks.
      const idA1 = await store.beginStep(begin(a1, { runId: 'A', startedAt: T0 + 500 }));
      const idB1 = await store.beginStep(begin(b1, { runId: 'B', startedAt: T0 + 100 }));
      const idA2 = await store.beginStep(begin(a2, { runId: 'A', startedAt: T0 + 50 }));
      await store.endStep(a1, idA1, 'succeeded', { endedAt: T0 + 600, durationMs: 100 });
      await store.setStepStatus(key(c, { taskId: 's3' }), 'skipped', note('A', 'not applicable'));
      await store.endStep(a2, idA2, 'failed', { endedAt: T0 + 700, durationMs: 650, error: 'x' });

      const logA = await store.log({ runId: 'A' });
      expect(logA.map((r) => r.taskId)).toEqual(['s1', 's2', 's3']);
      expect(logA.every((r) => r.runId === 'A')).toBe(true);
      expect(logA.map((r) => r.id)).toEqual([...logA.map((r) => r.id)].sort((x, y) => x - y));
      expect(logA.slice(0, 2).map((r) => r.id)).toEqual([idA1, idA2]);
      expect(logA.map((r) => r.status)).toEqual(['succeeded', 'failed', 'skipped']);
      expect((await store.log({ runId: 'B' })).map((r) => r.id)).toEqual([idB1]);
      expect((await store.log({ component: c, site: 'site-2' })).map((r) => r.runId)).toEqual(['B']);
      expect((await store.log({ component: c, taskId: 's1' })).map((r) => r.id)).toEqual([idA1, idB1]);
      expect(await store.log({ runId: 'no-such-run' })).toEqual([]);
    });
  });
});
