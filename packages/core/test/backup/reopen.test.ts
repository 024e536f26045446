// After a rollback verifies, the upgrade's steps it undid must run again: a full rollback reopens
// every step the restored backup predates; a compatible one keeps the data steps done.
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

  async function succeeded(taskVersion: string, taskId: string, kind?: string): Promise<void> {
    const logId = await store.beginStep({
      ...key(taskVersion, taskId),
      runId: 'run-1',
      taskName: taskId,
      stage: 'preStart',
      versionFrom: '1.0.0',
      versionTo: '2.0.0',
      attempt: 1,
      startedAt: Date.now(),
      ...(kind ? { kind } : {}),
    });
    await store.endStep(key(taskVersion, taskId), logId, 'succeeded', { endedAt: Date.now(), durationMs: 1 });
  }

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
    await succeeded('0.9.0', 'old-task', 'database'); // before the backup: stays done
    await succeeded('1.5.0', 'add-column', 'database');
    await succeeded('2.0.0', 'backup', 'file');
    await succeeded('2.0.0', 'restart-hook');
    await succeeded('2.1.0', 'later-task', 'database'); // past the version left: not this upgrade's
  });
  afterEach(() => store.close());

  const statuses = async () =>
    Object.fromEntries([...(await store.loadSteps('app', 's1')).values()].map((s) => [s.taskId, s.status]));

  it('a full rollback sets every step between the restored and the left version back to pending', async () => {
    const reopened = await reopenUndoneSteps(store, record('full'));
    expect(reopened.map((s) => s.taskId).sort()).toEqual(['add-column', 'backup', 'restart-hook']);
    expect(await statuses()).toEqual({
      'old-task': 'succeeded',
      'add-column': 'pending',
      backup: 'pending',
      'restart-hook': 'pending',
      'later-task': 'succeeded',
    });
    const log = await store.log({ component: 'app', site: 's1' });
    expect(log.filter((l) => l.status === 'pending').map((l) => l.error)).toEqual(
      Array(3).fill(expect.stringContaining('undone by full rollback rollback_001')),
    );
  });

  it('a compatible rollback keeps the steps that changed data done', async () => {
    const reopened = await reopenUndoneSteps(store, record('compatible'));
    expect(reopened.map((s) => s.taskId).sort()).toEqual(['backup', 'restart-hook']);
    expect((await statuses())['add-column']).toBe('succeeded');
    // Nothing left to reopen: a second call (a continued rollback) changes nothing.
    expect(await reopenUndoneSteps(store, record('compatible'))).toEqual([]);
  });
});
