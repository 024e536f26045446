// Rolling and gray upgrades over four real sshd "hosts", each running a real HTTP service that is
// stopped (SIGTERM) and started again over SSH with the new version.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  EventBus,
  isUpgradeKitError,
  type RolloutOptions,
  rollout,
  type SshSession,
  type StepEndEvent,
  type StepStartEvent,
} from '@upgradekit/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { requireService } from '#test-support';
import { allAt, rolloutOptions, type TestHost, testBedForSuite } from './support.js';

const hasSshd = await requireService('sshd');

describe.runIf(hasSshd)('rollout across four sshd hosts', () => {
  // app-1 is the primary: replicas go first (seed 002 §4.3).
  const suite = testBedForSuite([['primary'], ['replica'], ['replica'], ['replica']]);
  let site = 0;
  beforeEach(async (context) => {
    site++;
    // The lock test changes nothing on the hosts: spare it the restart of four services.
    if (!context.task.name.includes('one rollout per site')) await suite.bed.reset('1.0.0');
  });

  const byName = (name: string) => suite.bed.hosts.find((h) => h.name === name)!;

  const options = (extra: Partial<RolloutOptions<TestHost, SshSession>> = {}) =>
    rolloutOptions(suite.bed, suite.state, `site-${site}`, extra);

  function timeline(events: EventBus) {
    const entries: { type: string; host: string; at: number; status?: string }[] = [];
    events.on('step.start', (e: StepStartEvent) =>
      entries.push({ type: 'start', host: e.host!, at: performance.now() }),
    );
    events.on('step.end', (e: StepEndEvent) =>
      entries.push({ type: 'end', host: e.host!, at: performance.now(), status: e.status }),
    );
    return entries;
  }

  it('a rolling upgrade, one host at a time, replicas before the primary; every host recorded in upgrade_log', async () => {
    const events = new EventBus();
    const seen = timeline(events);
    const result = await rollout(options({ serial: 1, events }));

    expect(result.status).toBe('succeeded');
    expect(result.error).toBeUndefined();
    expect(result.hosts.map((h) => [h.name, h.status, h.version, h.batch])).toEqual([
      ['app-2', 'upgraded', '2.0.0', 1],
      ['app-3', 'upgraded', '2.0.0', 2],
      ['app-4', 'upgraded', '2.0.0', 3],
      ['app-1', 'upgraded', '2.0.0', 4],
    ]);
    expect(result.hosts.every((h) => h.health?.healthy && h.health.passes === 3)).toBe(true);
    expect(await suite.bed.versions()).toEqual(allAt('2.0.0'));
    // Strictly one at a time: each host starts after the previous one ended (gate included).
    expect(seen.map((e) => `${e.type} ${e.host}`)).toEqual([
      'start app-2',
      'end app-2',
      'start app-3',
      'end app-3',
      'start app-4',
      'end app-4',
      'start app-1',
      'end app-1',
    ]);
    // Each service was really restarted once, with the new version.
    for (const host of suite.bed.hosts)
      expect(suite.bed.startsOf(host).map((l) => l.split(' ')[0])).toEqual(['1.0.0', '2.0.0']);

    const log = await suite.state.log({ component: 'app', site: `site-${site}` });
    expect(log.map((r) => [r.host, r.taskId, r.status, r.versionFrom, r.versionTo, r.stage])).toEqual(
      ['app-2', 'app-3', 'app-4', 'app-1'].map((h) => [
        h,
        'rollout:app',
        'succeeded',
        '1.0.0',
        '2.0.0',
        'rollout',
      ]),
    );
    const runs = await suite.state.runs('app', `site-${site}`);
    expect(runs[0]).toMatchObject({ runId: result.runId, status: 'succeeded' });

    // Run again: every host is done, nothing is touched.
    const again = await rollout(options({ serial: 1 }));
    expect(again.status).toBe('succeeded');
    // Four hosts, one a batch: every one already done, every batch done before.
    expect(again.hosts.map((h) => h.status)).toEqual(Array(4).fill('already-done'));
    expect(again.batches.map((b) => b.status)).toEqual(Array(4).fill('done-before'));
    for (const host of suite.bed.hosts) expect(suite.bed.startsOf(host)).toHaveLength(2);
  });

  it('a host that fails its health gate halts the rollout in its batch; later hosts stay untouched', async () => {
    // Batches over 4 hosts: [app-2], [app-3], [app-4, app-1]. app-3's new version is unhealthy.
    writeFileSync(join(byName('app-3').vars.dir, 'UNHEALTHY'), '');
    const result = await rollout(options({ serial: [1, '20%', '50%', '100%'] }));

    expect(result.status).toBe('halted');
    expect(isUpgradeKitError(result.error, 'UPGRADEKIT_ROLLOUT_HALTED')).toBe(true);
    expect(result.error!.message).toContain('halted in batch 2 of 3');
    expect(result.error!.message).toContain('app-3: app-3 failed its health gate');
    expect(result.error!.message).toContain('HTTP 503: unhealthy 2.0.0');
    expect(result.error!.message).toContain('Not touched: app-4, app-1.');
    expect(result.batches.map((b) => [b.index, b.hosts, b.status, b.failed])).toEqual([
      [1, ['app-2'], 'succeeded', []],
      [2, ['app-3'], 'failed', ['app-3']],
      [3, ['app-4', 'app-1'], 'not-started', []],
    ]);
    // The report: which host is on which version, and how we know.
    expect(result.hosts.map((h) => [h.name, h.status, h.version, h.versionSource])).toEqual([
      ['app-2', 'upgraded', '2.0.0', 'state'],
      ['app-3', 'failed', '2.0.0', 'probe'],
      ['app-4', 'untouched', '1.0.0', 'probe'],
      ['app-1', 'untouched', '1.0.0', 'probe'],
    ]);
    expect(result.versions).toEqual({
      'app-2': '2.0.0',
      'app-3': '2.0.0',
      'app-4': '1.0.0',
      'app-1': '1.0.0',
    });
    // Untouched means untouched: never stopped, still serving the old version.
    expect(suite.bed.startsOf(byName('app-4'))).toHaveLength(1);
    expect(suite.bed.startsOf(byName('app-1'))).toHaveLength(1);
    expect(await suite.bed.versions()).toMatchObject({ 'app-4': '1.0.0', 'app-1': '1.0.0' });
    expect(
      (await suite.state.log({ component: 'app', site: `site-${site}` })).map((r) => [r.host, r.status]),
    ).toEqual([
      ['app-2', 'succeeded'],
      ['app-3', 'failed'],
    ]);

    // Fixed: the next run retries app-3 and continues; app-2 is not touched again.
    rmSync(join(byName('app-3').vars.dir, 'UNHEALTHY'));
    const resumed = await rollout(options({ serial: [1, '20%', '50%', '100%'] }));
    expect(resumed.status).toBe('succeeded');
    expect(resumed.hosts.map((h) => [h.name, h.status, h.attempt])).toEqual([
      ['app-2', 'already-done', 1],
      ['app-3', 'upgraded', 2],
      ['app-4', 'upgraded', 1],
      ['app-1', 'upgraded', 1],
    ]);
    expect(suite.bed.startsOf(byName('app-2'))).toHaveLength(2);
  });

  it('maxFailPercent: a failure within the batch budget is reported, and the rollout goes on', async () => {
    writeFileSync(join(byName('app-1').vars.dir, 'UNHEALTHY'), '');
    // Two batches of two; app-1 (primary, last) fails: 1 of 2 = 50%, within 50%.
    const result = await rollout(options({ serial: 2, maxFailPercent: 50 }));
    expect(result.status).toBe('partial');
    expect(result.batches.map((b) => b.status)).toEqual(['succeeded', 'tolerated']);
    expect(result.hosts.filter((h) => h.status === 'failed').map((h) => h.name)).toEqual(['app-1']);
    expect(result.hosts.filter((h) => h.status === 'upgraded')).toHaveLength(3);
  });

  it('one rollout per site at a time: a second one fails with UPGRADEKIT_LOCKED', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // An upgrade that changes nothing: no health gate, and no probeVersion to find 1.0.0 still there.
    const first = rollout(
      options({
        serial: 4,
        upgrade: () => gate,
        healthGate: undefined,
        connect: undefined,
        probeVersion: undefined,
      }),
    );
    await new Promise((r) => setTimeout(r, 300));
    const second = await rollout(options({ serial: 4 })).catch((e: unknown) => e);
    expect(isUpgradeKitError(second, 'UPGRADEKIT_LOCKED')).toBe(true);
    release();
    expect((await first).status).toBe('succeeded');
  });
});
