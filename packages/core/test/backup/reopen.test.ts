// After a rollback verifies, the upgrade's steps it undid must run again: a full rollback reopens
// every step newer than the restored version; a compatible one keeps the steps that changed data.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RollbackRecord, StateStore } from '@upgradekit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reopenUndoneSteps } from '../../src/backup/reopen.js';

describe('reopenUndoneSteps', () => {
  let store: StateStore;
  const key = (taskVersion: string, taskId: string) => ({
    component: 'app',
    site: 's1',
    host: '',
    taskVersion,
    taskId,
  });

  async function succeeded(taskVersion: string, taskId: string, changesData?: boolean): Promise<void> {
    const logId = await store.beginStep({
      ...key(taskVersion, taskId),
      runId: 'run-1',
      taskName: taskId,
      stage: 'preStart',
      versionFrom: '1.0.0',
      versionTo: '2.0.0',
      attempt: 1,
      startedAt: Date.now(),
      ...(changesData ? { changesData } : {}),
    });
    await store.endStep(key(taskVersion, taskId), logId, 'succeeded', { endedAt: Date.now(), durationMs: 1 });
  }

  // The backup held 1.0.0 and was taken before upgrading to 2.0.0.
  const record = (mode: 'full' | 'compatible'): RollbackRecord => ({
    rollbackId: 'rollback_001',
    component: 'app',
    site: 's1',
    host: 'local',
    backupId: 'backup_20260101_000000',
    fromVersion: '2.0.0',
    toVersion: '1.0.0',
    type: 'auto',
    mode,
    status: 'running',
    startedAt: Date.now(),
    steps: {},
  });

  beforeEach(async () => {
    store = await StateStore.open({
      filename: join(mkdtempSync(join(tmpdir(), 'uk-reopen-')), 'state.sqlite'),
    });
    await succeeded('0.9.0', 'old-task', true); // older than the backup: stays done
    await succeeded('1.5.0', 'add-column', true);
    await succeeded('2.0.0', 'backup');
    await succeeded('2.0.0', 'restart-hook');
    // A later upgrade, 2.0.0 → 2.1.0: restoring the 1.0.0 backup undoes it too.
    await succeeded('2.1.0', 'later-task', true);
  });
  afterEach(() => store.close());

  const statuses = async () =>
    Object.fromEntries([...(await store.loadSteps('app', 's1')).values()].map((s) => [s.taskId, s.status]));

  it('a full rollback sets every step newer than the restored version back to pending', async () => {
    const { reopened, unknown } = await reopenUndoneSteps(store, record('full'));
    expect(reopened.map((s) => s.taskId).sort()).toEqual([
      'add-column',
      'backup',
      'later-task',
      'restart-hook',
    ]);
    expect(unknown).toEqual([]);
    expect(await statuses()).toEqual({
      'old-task': 'succeeded',
      'add-column': 'pending',
      backup: 'pending',
      'restart-hook': 'pending',
      'later-task': 'pending',
    });
    const log = await store.log({ component: 'app', site: 's1' });
    expect(log.filter((l) => l.status === 'pending').map((l) => l.error)).toEqual(
      Array(4).fill(expect.stringContaining('undone by full rollback rollback_001')),
    );
  });

  it('a compatible rollback keeps the steps that changed data done', async () => {
    const { reopened } = await reopenUndoneSteps(store, record('compatible'));
    expect(reopened.map((s) => s.taskId).sort()).toEqual(['backup', 'restart-hook']);
    expect(await statuses()).toMatchObject({ 'add-column': 'succeeded', 'later-task': 'succeeded' });
    // Nothing left to reopen: a second call (a continued rollback) changes nothing.
    expect((await reopenUndoneSteps(store, record('compatible'))).reopened).toEqual([]);
  });

  it('a compatible rollback leaves steps of unknown effect (recorded before schema 3) done, and says so', async () => {
    // What an older upgradekit left: the column did not exist, so the row has NULL.
    await store.knex('upgradekit_steps').where({ task_id: 'restart-hook' }).update({ changes_data: null });
    const { reopened, unknown } = await reopenUndoneSteps(store, record('compatible'));
    expect(reopened.map((s) => s.taskId)).toEqual(['backup']);
    expect(unknown.map((s) => s.taskId)).toEqual(['restart-hook']);
    expect((await statuses())['restart-hook']).toBe('succeeded');
  });
});
