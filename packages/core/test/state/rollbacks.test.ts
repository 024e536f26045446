// The rollback history table (schema version 2) on SQLite, MariaDB and PostgreSQL: a version-1
// state database migrates itself forward on open with its data intact, and the history keeps
// rollbacks, their six steps and their outcome.
import { StateStore } from '@upgradekit/core';
import { expect, it } from 'vitest';
import { requireService } from '#test-support';
import { RollbackHistory } from '../../src/state/rollbacks.js';
import { SCHEMA_VERSION } from '../../src/state/schema.js';
import { describeBackends } from './fixtures/backends.js';

const hasMariaDB = await requireService('mariadb');
const hasPostgres = await requireService('postgres');

const record = (over: Partial<Parameters<RollbackHistory['start']>[0]> = {}) => ({
  component: 'app',
  site: 's1',
  host: 'local',
  backupId: 'backup_20240101_120000',
  fromVersion: '2.2.0',
  toVersion: '2.1.0',
  type: 'auto' as const,
  mode: 'full' as const,
  steps: { 1: { status: 'pending' as const }, 2: { status: 'pending' as const } },
  ...over,
});

describeBackends({ mariadb: hasMariaDB, postgres: hasPostgres }, (backend) => {
  it.runIf(backend.available)(
    'a version-1 state database gains the rollback history and the changes_data column on open, keeping its data',
    async () => {
      const fresh = await backend.fresh();
      try {
        const first = await StateStore.open(fresh.options);
        await first.startRun({
          runId: 'r1',
          component: 'app',
          site: 's1',
          versionFrom: '1',
          versionTo: '2',
          host: 'h',
          pid: 1,
          startedAt: 1,
        });
        // Back to what version 1 left: no history table, one migration recorded.
        await first.knex.schema.dropTable('upgradekit_rollbacks');
        await first.knex.schema.alterTable('upgradekit_steps', (t) => t.dropColumn('changes_data'));
        for (const table of ['upgrade_log', 'upgradekit_steps']) {
          await first.knex.schema.alterTable(table, (t) => t.dropColumn('error_detail'));
        }
        for (const table of ['upgradekit_locks', 'upgradekit_runs']) {
          await first.knex.schema.alterTable(table, (t) => t.dropColumns('boot_id', 'pid_ns', 'pid_start'));
        }
        await first
          .knex('upgradekit_state_migrations')
          .whereIn('name', [
            '0002-rollback-history',
            '0003-step-changes-data',
            '0004-structured-errors',
            '0005-lock-identity',
          ])
          .del();
        await first.close();

        const reopened = await StateStore.open(fresh.options);
        try {
          expect(SCHEMA_VERSION).toBe(5);
          expect(await reopened.knex.schema.hasTable('upgradekit_rollbacks')).toBe(true);
          const names = await reopened.knex('upgradekit_state_migrations').orderBy('id').pluck('name');
          expect(names).toEqual([
            '0001-initial',
            '0002-rollback-history',
            '0003-step-changes-data',
            '0004-structured-errors',
            '0005-lock-identity',
          ]);
          expect(await reopened.knex.schema.hasColumn('upgradekit_steps', 'changes_data')).toBe(true);
          expect(await reopened.knex.schema.hasColumn('upgradekit_locks', 'pid_start')).toBe(true);
          expect(await reopened.knex.schema.hasColumn('upgradekit_runs', 'boot_id')).toBe(true);
          expect(await reopened.knex.schema.hasColumn('upgrade_log', 'error_detail')).toBe(true);
          expect((await reopened.runs('app', 's1')).map((r) => r.runId)).toEqual(['r1']);
        } finally {
          await reopened.close();
        }
      } finally {
        await fresh.drop();
      }
    },
  );

  it.runIf(backend.available)('keeps rollbacks with per-site ids, step states and outcomes', async () => {
    const fresh = await backend.fresh();
    const store = await StateStore.open(fresh.options);
    try {
      const history = new RollbackHistory(store);
      const a = await history.start(record({ startedAt: 1_700_000_000_000 }));
      expect(a).toMatchObject({
        rollbackId: 'rollback_001',
        status: 'running',
        steps: { 1: { status: 'pending' } },
      });
      expect(await history.unfinished('app', 's1')).toMatchObject({ rollbackId: 'rollback_001' });
      await history.setStep('app', 's1', a.rollbackId, 1, { status: 'running', startedAt: 10 });
      await history.setStep('app', 's1', a.rollbackId, 1, { status: 'succeeded', endedAt: 20 });
      await history.setStep('app', 's1', a.rollbackId, 2, {
        status: 'failed',
        error: 'x'.repeat(5000),
        progress: '{"db":"aside"}',
      });
      await history.finish('app', 's1', a.rollbackId, 'failed', 'step 2 failed');
      const failed = await history.get('app', 's1', a.rollbackId);
      expect(failed?.steps[1]).toEqual({ status: 'succeeded', startedAt: 10, endedAt: 20 });
      expect(failed?.steps[2]).toMatchObject({ status: 'failed', progress: '{"db":"aside"}' });
      expect(failed).toMatchObject({ status: 'failed', error: 'step 2 failed' });
      expect(failed?.durationMs).toBeGreaterThan(0);
      // A failed rollback is still unfinished: it can be continued.
      expect((await history.unfinished('app', 's1'))?.rollbackId).toBe('rollback_001');
      await history.finish('app', 's1', a.rollbackId, 'completed');
      expect(await history.unfinished('app', 's1')).toBeUndefined();

      const b = await history.start(
        record({ type: 'manual', mode: 'compatible', startedAt: 1_700_000_000_500 }),
      );
      const other = await history.start(record({ site: 's2' }));
      expect(b.rollbackId).toBe('rollback_002');
      expect(other.rollbackId).toBe('rollback_001');
      const list = await history.list('app', 's1');
      expect(list.map((r) => [r.rollbackId, r.type, r.mode, r.status])).toEqual([
        ['rollback_002', 'manual', 'compatible', 'running'],
        ['rollback_001', 'auto', 'full', 'completed'],
      ]);
      expect(list[1]!.startedAt).toBe(1_700_000_000_000);
    } finally {
      await store.close();
      await fresh.drop();
    }
  });
});
