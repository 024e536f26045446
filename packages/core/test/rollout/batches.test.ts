import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isUpgradeKitError,
  planBatches,
  type RolloutOptions,
  rollout,
  rolloutStatus,
  StateStore,
} from '@upgradekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderHosts } from '../../src/rollout/order.js';

const names = (n: number) => Array.from({ length: n }, (_, i) => `h${i + 1}`);
const sizes = (batches: unknown[][]) => batches.map((b) => b.length);

describe('planBatches (Ansible serial)', () => {
  it('gray batches 1 → 20% → 50% → 100%: percentages of all hosts, rounded down, at least 1', () => {
    expect(sizes(planBatches(names(10), [1, '20%', '50%', '100%']))).toEqual([1, 2, 5, 2]);
    expect(sizes(planBatches(names(4), [1, '20%', '50%', '100%']))).toEqual([1, 1, 2]);
    expect(sizes(planBatches(names(100), [1, '20%', '50%', '100%']))).toEqual([1, 20, 50, 29]);
  });

  it('the last size repeats; a plain number is every batch; order is kept', () => {
    expect(planBatches(names(7), 3)).toEqual([['h1', 'h2', 'h3'], ['h4', 'h5', 'h6'], ['h7']]);
    expect(sizes(planBatches(names(5), [2, 1]))).toEqual([2, 1, 1, 1]);
    expect(sizes(planBatches(names(5), '100%'))).toEqual([5]);
    expect(sizes(planBatches(names(3), '10%'))).toEqual([1, 1, 1]);
    expect(planBatches([], [1, '50%'])).toEqual([]);
  });
});

describe('orderHosts', () => {
  const hosts = [
    { name: 'primary-1', roles: ['primary'] },
    { name: 'web-1', roles: ['stateless'] },
    { name: 'replica-1', roles: ['replica'] },
    { name: 'misc-1' },
    { name: 'replica-2', roles: ['replica', 'stats'] },
    { name: 'web-2', roles: ['stateless'] },
  ];

  it('replicas before the primary, stateless first; others where * says, stable within a rank', () => {
    expect(orderHosts(hosts, ['stateless', 'replica', '*', 'primary']).map((h) => h.name)).toEqual([
      'web-1',
      'web-2',
      'replica-1',
      'replica-2',
      'misc-1',
      'primary-1',
    ]);
    // Without '*', unnamed roles go last.
    expect(orderHosts(hosts, ['primary']).map((h) => h.name)).toEqual([
      'primary-1',
      'web-1',
      'replica-1',
      'misc-1',
      'replica-2',
      'web-2',
    ]);
    expect(orderHosts(hosts).map((h) => h.name)).toEqual(hosts.map((h) => h.name));
  });
});

describe('rollout without SSH: bad input first, then hooks, batches and gates', () => {
  let state: StateStore;
  let calls = 0;
  beforeAll(async () => {
    state = await StateStore.open({
      filename: join(mkdtempSync(join(tmpdir(), 'upgradekit-serial-')), 's.sqlite'),
    });
  });
  afterAll(() => state.close());

  const base = (): RolloutOptions => ({
    id: 'rollout:app',
    component: 'app',
    site: 'site-1',
    from: '1.0.0',
    to: '2.0.0',
    state,
    hosts: [{ name: 'a' }, { name: 'b' }],
    upgrade: () => {
      calls++;
    },
  });

  async function messageOf(options: Partial<Record<keyof RolloutOptions, unknown>>): Promise<string> {
    try {
      await rollout({ ...base(), ...options } as RolloutOptions);
    } catch (error) {
      expect(isUpgradeKitError(error, 'UPGRADEKIT_BAD_INPUT')).toBe(true);
      return (error as Error).message;
    }
    throw new Error('expected a BAD_INPUT error');
  }

  it('names the option, the bad value and what would be right', async () => {
    const abc = await messageOf({ serial: ['20%', 'abc'] });
    expect(abc).toContain('`serial.1`');
    expect(abc).toContain('"abc"');
    expect(abc).toContain("percentage such as '20%'");
    expect(await messageOf({ serial: 0 })).toMatch(/`serial`.*whole number of hosts.*\(got 0\)/);
    expect(await messageOf({ serial: [1, 1.5] })).toMatch(/`serial\.1`.*\(got 1\.5\)/);
    expect(await messageOf({ serial: ['150%'] })).toMatch(
      /`serial\.0`: a percentage must be above 0% and at most 100%/,
    );
    expect(await messageOf({ serial: [] })).toMatch(/`serial`.*at least one batch size/);
    expect(await messageOf({ maxFailPercent: 120 })).toMatch(
      /`maxFailPercent`: must be between 0 and 100 \(got 120\)/,
    );
    expect(await messageOf({ concurrency: 0 })).toMatch(/`concurrency`: must be at least 1/);
    expect(await messageOf({ hosts: [] })).toMatch(/`hosts`: must list at least one host/);
    expect(await messageOf({ hosts: [{ name: 'a' }, { name: 'a' }] })).toMatch(/host "a" is listed twice/);
    expect(await messageOf({ upgrade: 'ssh a upgrade' })).toMatch(/`upgrade`: must be a function/);
    expect(await messageOf({ healthGate: { check: { command: ['true'] } } })).toMatch(
      /`healthGate.check` runs a command on each host, which needs `connect`/,
    );
    expect(await messageOf({ healthGate: { check: { http: 'not a url' } } })).toMatch(/`healthGate.check/);
  });

  it("hooks get the caller's own host objects, extra fields included", async () => {
    const seen: unknown[] = [];
    const hosts = [{ name: 'x1', zone: 'b', sshd: { port: 2222 } }];
    const result = await rollout({
      ...base(),
      site: 'site-extra',
      hosts,
      upgrade: ({ host }) => void seen.push(host),
    });
    expect(result.status).toBe('succeeded');
    expect(seen[0]).toBe(hosts[0]);
  });

  it('without a health gate the observation window is a plain wait between batches', async () => {
    const startedAt: number[] = [];
    const result = await rollout({
      ...base(),
      site: 'site-soak',
      observeMs: 250,
      upgrade: () => void startedAt.push(performance.now()),
    });
    expect(result.batches.map((b) => b.observedMs === undefined)).toEqual([false, true]);
    expect(result.batches[0]!.observedMs).toBeGreaterThanOrEqual(245);
    expect(startedAt[1]! - startedAt[0]!).toBeGreaterThanOrEqual(245);
  });

  it('bounded concurrency inside a batch, and a hook as the health gate (N passes in a row)', async () => {
    let running = 0;
    let most = 0;
    const probes = new Map<string, number>();
    const hosts = ['c1', 'c2', 'c3', 'c4', 'c5'].map((name) => ({ name }));
    const result = await rollout({
      ...base(),
      site: 'site-pool',
      hosts,
      serial: '100%',
      concurrency: 2,
      upgrade: async () => {
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 40));
        running--;
      },
      healthGate: {
        // c4 flaps: healthy, sick, healthy… — never 3 in a row.
        check: (host) => ({
          hook: () => {
            const n = (probes.get(host.name) ?? 0) + 1;
            probes.set(host.name, n);
            return host.name !== 'c4' || n % 2 === 1;
          },
        }),
        passes: 3,
        intervalMs: 5,
        timeoutMs: 300,
      },
      maxFailPercent: 20,
    });
    expect(most).toBe(2);
    expect(result.status).toBe('partial');
    expect(result.hosts.map((h) => [h.name, h.status])).toEqual([
      ['c1', 'upgraded'],
      ['c2', 'upgraded'],
      ['c3', 'upgraded'],
      ['c4', 'failed'],
      ['c5', 'upgraded'],
    ]);
    expect(probes.get('c1')).toBe(3);
    expect(probes.get('c4')).toBeGreaterThan(3);
    expect(result.hosts[3]!.error).toMatch(
      /c4 failed its health gate after the upgrade: [01] of 3 passes in a row/,
    );
  });

  it('a host a dead run left "running": skipIf decides; a skipIf that cannot answer falls back to idempotence', async () => {
    // Exactly the rows a SIGKILLed orchestrator leaves: an attempt begun, never ended.
    const crashed = async (site: string) =>
      state.beginStep({
        component: 'app',
        site,
        host: 'a',
        taskVersion: '2.0.0',
        taskId: 'rollout:app',
        runId: 'dead-run',
        taskName: 'rollout:app on a',
        stage: 'rollout',
        versionFrom: '1.0.0',
        versionTo: '2.0.0',
        attempt: 1,
        startedAt: Date.now(),
      });
    const upgraded: string[] = [];
    const upgrade = ({ host }: { host: { name: string } }) => void upgraded.push(host.name);

    await crashed('site-crash-1');
    const identity = (site: string) => ({
      id: 'rollout:app',
      component: 'app',
      site,
      from: '1.0.0',
      to: '2.0.0',
    });
    // Read-only status, as a CLI would print it: the dead run's host is in doubt, b never started.
    expect(
      (await rolloutStatus(state, identity('site-crash-1'), ['a', 'b'])).map((r) => [
        r.host,
        r.status,
        r.version,
      ]),
    ).toEqual([
      ['a', 'in_doubt', 'unknown'],
      ['b', 'pending', '1.0.0'],
    ]);
    const applied = await rollout({ ...base(), site: 'site-crash-1', upgrade, skipIf: () => true });
    expect(applied.status).toBe('succeeded');
    expect(applied.hosts.map((h) => [h.name, h.status])).toEqual([
      ['a', 'already-done'],
      ['b', 'upgraded'],
    ]);
    expect(upgraded).toEqual(['b']);

    await crashed('site-crash-2');
    const unsure = await rollout({
      ...base(),
      site: 'site-crash-2',
      upgrade,
      skipIf: () => {
        throw new Error('connect ECONNREFUSED');
      },
    });
    expect(unsure.status).toBe('needs-decision');
    expect(unsure.error?.code).toBe('UPGRADEKIT_IN_DOUBT');
    expect(upgraded).toEqual(['b']); // nothing touched

    const rerun = await rollout({
      ...base(),
      site: 'site-crash-2',
      upgrade,
      idempotent: true,
      skipIf: () => {
        throw new Error('connect ECONNREFUSED');
      },
    });
    expect(rerun.status).toBe('succeeded');
    expect(rerun.hosts.map((h) => [h.name, h.status, h.attempt])).toEqual([
      ['a', 'upgraded', 2],
      ['b', 'upgraded', 1],
    ]);
    expect(upgraded).toEqual(['b', 'a', 'b']);
    const done = await rolloutStatus(state, identity('site-crash-2'));
    expect(done.map((r) => [r.host, r.status, r.version, r.attempt])).toEqual([
      ['a', 'succeeded', '2.0.0', 2],
      ['b', 'succeeded', '2.0.0', 1],
    ]);
  });

  it('bad input: nothing ran and nothing was recorded', async () => {
    expect(calls).toBe(0);
    // The bad-input cases all used site-1; the other tests here use sites of their own.
    expect(await state.log({ component: 'app', site: 'site-1' })).toEqual([]);
  });
});
