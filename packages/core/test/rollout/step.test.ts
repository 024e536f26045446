// A rollout as a step of an upgrade: per-host rows under the engine's run, its lock, its resume.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createUpgrade,
  isUpgradeKitError,
  type RolloutResult,
  rolloutStep,
  StateStore,
} from '@upgradekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('rolloutStep inside createUpgrade', () => {
  let dir: string;
  let state: StateStore;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'upgradekit-rollout-step-'));
    state = await StateStore.open({ filename: join(dir, 'state.sqlite') });
  });
  afterAll(async () => {
    await state.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs over the upgrade hosts in batches, halts the stage on a bad host, and resumes with the rest', async () => {
    const upgraded: string[] = [];
    const results: RolloutResult[] = [];
    let broken = 'web-3';
    const upgrade = createUpgrade({
      component: 'web',
      from: '1.0.0',
      to: '1.1.0',
      site: 'site-9',
      state,
      hosts: [
        { name: 'web-1', roles: ['primary'] },
        { name: 'web-2' },
        { name: 'web-3' },
        { name: 'web-4' },
        { name: 'web-5' },
      ],
    });
    upgrade.step(
      'preStart',
      rolloutStep({
        id: 'rollout:web',
        serial: [1, '50%'],
        roleOrder: ['*', 'primary'],
        upgrade: ({ host, to }) => {
          if (host.name === broken) throw new Error(`${host.name}: install of ${to} failed (disk full)`);
          upgraded.push(host.name);
        },
        onResult: (r) => void results.push(r),
      }),
    );

    const first = await upgrade.runStage('preStart');
    expect(first.status).toBe('failed');
    expect(isUpgradeKitError(first.error, 'UPGRADEKIT_STEP_FAILED')).toBe(true);
    expect(first.error!.message).toContain('web-3: install of 1.1.0 failed (disk full)');
    expect(first.steps[0]!.error).toMatchObject({ code: 'UPGRADEKIT_ROLLOUT_HALTED' });
    // Batches: [web-2], [web-3, web-4], [web-5, web-1]; web-3 fails → batch 2 halts (web-4 ran beside it).
    expect(results[0]!.batches.map((b) => [b.hosts, b.status])).toEqual([
      [['web-2'], 'succeeded'],
      [['web-3', 'web-4'], 'failed'],
      [['web-5', 'web-1'], 'not-started'],
    ]);
    expect(upgraded).toEqual(['web-2', 'web-4']);
    const rows = await state.log({ component: 'web', site: 'site-9' });
    const runId = results[0]!.runId;
    expect(
      rows.filter((r) => r.host !== '').map((r) => [r.host, r.status, r.runId === runId, r.stage]),
    ).toEqual([
      ['web-2', 'succeeded', true, 'preStart'],
      ['web-3', 'failed', true, 'preStart'],
      ['web-4', 'succeeded', true, 'preStart'],
    ]);

    broken = '';
    const second = await upgrade.runStage('preStart');
    expect(second.status).toBe('succeeded');
    expect(upgraded).toEqual(['web-2', 'web-4', 'web-3', 'web-5', 'web-1']);
    expect(results[1]!.hosts.map((h) => [h.name, h.status])).toEqual([
      ['web-2', 'already-done'],
      ['web-3', 'upgraded'],
      ['web-4', 'already-done'],
      ['web-5', 'upgraded'],
      ['web-1', 'upgraded'],
    ]);
    await upgrade.close();
  });
});
