// Gray batches, the observation window and aborting, over four real sshd "hosts" each running a
// real HTTP service (a separate file from rollout.test.ts so the two run side by side).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RolloutOptions, type RolloutResult, rollout, type SshSession } from '@upgradekit/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { requireService } from '#test-support';
import { allAt, rolloutOptions, type TestHost, testBedForSuite, upgradeHost, versionOf } from './support.js';

const hasSshd = await requireService('sshd');

describe.runIf(hasSshd)('gray rollout across four sshd hosts', () => {
  // app-1 is the primary: replicas go first (seed 002 §4.3).
  const suite = testBedForSuite([['primary'], ['replica'], ['replica'], ['replica']]);
  let site = 0;
  beforeEach(async () => {
    site++;
    await suite.bed.reset('1.0.0');
  });

  const byName = (name: string) => suite.bed.hosts.find((h) => h.name === name)!;

  const options = (extra: Partial<RolloutOptions<TestHost, SshSession>> = {}) =>
    rolloutOptions(suite.bed, suite.state, `site-${site}`, extra);

  it('gray batches 1 → 20% → 50% → 100% with an observation window; each batch sees only earlier batches upgraded', async () => {
    const seenAtStart: Record<string, number> = {};
    const result: RolloutResult = await rollout(
      options({
        serial: [1, '20%', '50%', '100%'],
        observeMs: 400,
        concurrency: 2,
        upgrade: async (ctx) => {
          // Hosts of the same batch start together, long before any of them is back on 2.0.0.
          const others = suite.bed.hosts.filter((h) => h.name !== ctx.host.name);
          const versions = await Promise.all(others.map((h) => versionOf(h)));
          seenAtStart[ctx.host.name] = versions.filter((v) => v === '2.0.0').length;
          await upgradeHost(ctx);
        },
      }),
    );
    expect(result.status).toBe('succeeded');
    expect(result.batches.map((b) => b.hosts)).toEqual([['app-2'], ['app-3'], ['app-4', 'app-1']]);
    // Hosts outside the batch already on 2.0.0 when a host of it starts: exactly the earlier batches.
    expect(seenAtStart).toEqual({ 'app-2': 0, 'app-3': 1, 'app-4': 2, 'app-1': 2 });
    const [b1, b2, b3] = result.batches;
    expect(b1!.observedMs).toBeGreaterThanOrEqual(395);
    expect(b2!.observedMs).toBeGreaterThanOrEqual(395);
    expect(b3!.observedMs).toBeUndefined(); // nothing left to protect after the last batch
    expect(b2!.startedAt!).toBeGreaterThanOrEqual(b1!.endedAt!);
    expect(b3!.startedAt!).toBeGreaterThanOrEqual(b2!.endedAt!);
    expect(b2!.startedAt! - b1!.startedAt!).toBeGreaterThanOrEqual(400);
    expect(await suite.bed.versions()).toEqual(allAt('2.0.0'));
  });

  it('a host that turns unhealthy during the observation window fails, and the next batch never starts', async () => {
    const result = await rollout(
      options({
        serial: [1, '20%', '50%', '100%'],
        observeMs: 3000,
        upgrade: async (ctx) => {
          await upgradeHost(ctx);
          // Healthy through its gate, then sick a little later: only the observation can see it.
          const dir = ctx.host.vars.dir;
          setTimeout(() => writeFileSync(join(dir, 'UNHEALTHY'), ''), 1200);
        },
      }),
    );
    expect(result.status).toBe('halted');
    expect(result.batches.map((b) => b.status)).toEqual(['failed', 'not-started', 'not-started']);
    expect(result.batches[0]!.observedMs).toBeLessThan(3000); // stopped observing: nothing healthy left
    const first = result.hosts[0]!;
    expect(first).toMatchObject({
      name: 'app-2',
      status: 'failed',
      version: '2.0.0',
      versionSource: 'probe',
    });
    expect(first.error).toContain('unhealthy during the observation window after batch 1: HTTP 503');
    for (const name of ['app-3', 'app-4', 'app-1']) expect(suite.bed.startsOf(byName(name))).toHaveLength(1);
    const row = (await suite.state.loadSteps('app', `site-${site}`)).values().next().value;
    expect(row).toMatchObject({ host: 'app-2', status: 'failed' });
  });

  it('aborting stops before the next host; hosts not started stay untouched', async () => {
    const controller = new AbortController();
    const result = await rollout(
      options({
        serial: 1,
        signal: controller.signal,
        upgrade: async (ctx) => {
          await upgradeHost(ctx);
          if (ctx.host.name === 'app-2') controller.abort(new Error('operator pressed Ctrl-C'));
        },
      }),
    );
    expect(result.status).toBe('aborted');
    expect(result.error?.message).toContain('operator pressed Ctrl-C');
    expect(result.hosts.map((h) => h.status)).toEqual(['aborted', 'untouched', 'untouched', 'untouched']);
    expect(result.batches.map((b) => b.status)).toEqual([
      'aborted',
      'not-started',
      'not-started',
      'not-started',
    ]);
    for (const name of ['app-3', 'app-4', 'app-1']) expect(suite.bed.startsOf(byName(name))).toHaveLength(1);
    // Recorded as aborted: the next run treats it as interrupted (skipIf / idempotent / in doubt).
    const rows = [...(await suite.state.loadSteps('app', `site-${site}`)).values()];
    expect(rows.map((r) => [r.host, r.status])).toEqual([['app-2', 'aborted']]);
  });
});
