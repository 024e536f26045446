import { type ChildProcess, spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isUpgradeKitError, SiteLock, StateStore, type UpgradeKitError } from '@upgradekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireService } from '#test-support';
import { holderIdentity } from '../../src/state/liveness.js';
import {
  describeBackends,
  type FreshState,
  type PlantedHolder,
  plantLock,
  warnings,
} from './fixtures/backends.js';

const hasMariaDB = await requireService('mariadb');
const hasPostgres = await requireService('postgres');

const COMPONENT = 'app';
const FIXTURE = fileURLToPath(new URL('./fixtures/lock-race.ts', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a racing child printed. */
interface RaceResult {
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
  readonly runId: string;
  readonly pid: number;
  readonly startAt: number;
  readonly triedAt: number;
  readonly logs: string[];
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** A pid that existed a moment ago and is gone now. */
async function deadPid(): Promise<number> {
  const child = spawn('true', [], { stdio: 'ignore' });
  await exited(child);
  expect(child.pid).toBeGreaterThan(0);
  return child.pid!;
}

/** Every racer's exit: winners keep holding their lock for a while after the test has its answer. */
const racing: Promise<void>[] = [];

interface Racer {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly result: Promise<RaceResult>;
  started: boolean;
}

/**
 * Child processes that will race for the lock of one site: each opens the store, says it is ready
 * and waits for a start time on stdin. Spawned ahead of time, since starting takes a while.
 */
function spawnRacers(n: number, state: FreshState['options'], site: string): Racer[] {
  return Array.from({ length: n }, (_, i) => {
    const runId = `racer-${i}`;
    const args = { state, component: COMPONENT, site, runId, holdMs: 1_000, ttlMs: 60_000 };
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify(args)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    racing.push(exited(child));
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let onReady!: () => void;
    let onResult!: (result: RaceResult) => void;
    let onFail!: (error: Error) => void;
    const failed = new Promise<never>((_, reject) => (onFail = reject));
    const ready = Promise.race([new Promise<void>((resolve) => (onReady = resolve)), failed]);
    const result = Promise.race([new Promise<RaceResult>((resolve) => (onResult = resolve)), failed]);
    for (const p of [failed, ready, result]) p.catch(() => {}); // awaited later, if at all
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return; // knex logs its warnings to stdout
      const message = JSON.parse(line) as RaceResult & { ready?: true };
      if (message.ready) onReady();
      else onResult(message);
    });
    child.once('exit', (code, signal) =>
      onFail(new Error(`${runId} exited (${code ?? signal}) without a result:\n${stderr}`)),
    );
    return { child, ready, result, started: false };
  });
}

/** Lets the racers go at one moment, a little ahead, once all are ready; returns what each got. */
async function race(racers: Racer[]): Promise<RaceResult[]> {
  await Promise.all(racers.map((r) => r.ready));
  const startAt = Date.now() + 100;
  for (const r of racers) {
    r.started = true;
    r.child.stdin?.end(`${startAt}\n`);
  }
  const results = await Promise.all(racers.map((r) => r.result));
  const tried = results.map((r) => r.triedAt - startAt);
  expect(Math.min(...tried), 'a racer started early').toBeGreaterThanOrEqual(0);
  expect(Math.max(...tried), `racers did not start together: ${tried}`).toBeLessThan(500);
  return results;
}

describeBackends({ mariadb: hasMariaDB, postgres: hasPostgres }, (backend) => {
  describe.runIf(backend.available)('SiteLock', () => {
    let fresh: FreshState;
    let store: StateStore;
    let racers: { plain: Racer[]; stale: Racer[] } | undefined;
    const held: SiteLock[] = [];
    const acquire = async (...args: Parameters<typeof SiteLock.acquire>) => {
      const lock = await SiteLock.acquire(...args);
      held.push(lock);
      return lock;
    };
    const plant = (site: string, holder: PlantedHolder) => plantLock(store, COMPONENT, site, holder);

    beforeAll(async () => {
      fresh = await backend.fresh();
      store = await StateStore.open(fresh.options);
      racers = {
        plain: spawnRacers(4, fresh.options, 'raced'),
        stale: spawnRacers(4, fresh.options, 'stale-raced'),
      };
    });
    afterAll(async () => {
      for (const r of [...(racers?.plain ?? []), ...(racers?.stale ?? [])]) {
        if (!r.started) r.child.kill(); // their test did not run
      }
      await Promise.all(racing);
      await Promise.all(held.map((l) => l.release().catch(() => {})));
      await store?.close();
      await fresh?.drop();
    });

    it('a second acquire of the same site throws UPGRADEKIT_LOCKED naming the holder', async () => {
      const lock = await acquire(store, { component: COMPONENT, site: 'busy', runId: 'run-first' });
      const error = await SiteLock.acquire(store, {
        component: COMPONENT,
        site: 'busy',
        runId: 'run-second',
      }).catch((e: unknown) => e);
      expect(isUpgradeKitError(error, 'UPGRADEKIT_LOCKED'), String(error)).toBe(true);
      const locked = error as UpgradeKitError;
      expect(locked.message).toContain('run run-first');
      expect(locked.message).toContain(`on ${hostname()}`);
      expect(locked.message).toContain(`(pid ${process.pid})`);
      expect(locked.message).toContain('"busy"');
      expect(locked.message).toMatch(
        /Its process is alive: its process \(pid \d+\) is running on this machine/,
      );
      expect(locked.message).toMatch(
        /taken over only if its heartbeat stops, at \S+Z \(in (59|60) s: last heartbeat \+ TTL 60 s\)/,
      );
      expect(locked.message).toContain('Wait for run run-first to finish, or stop it');
      expect(locked.context).toMatchObject({ liveness: { state: 'alive' } });
      expect(locked.context).toMatchObject({
        component: COMPONENT,
        site: 'busy',
        holder: { runId: 'run-first', host: hostname(), pid: process.pid, ttlMs: 60_000 },
      });
      expect(await SiteLock.holder(store, COMPONENT, 'busy')).toMatchObject({ runId: 'run-first' });
      await lock.release();
    });

    it('locks of other sites and other components are independent', async () => {
      await acquire(store, { component: COMPONENT, site: 'site-a', runId: 'run-a' });
      await acquire(store, { component: COMPONENT, site: 'site-b', runId: 'run-b' });
      await acquire(store, { component: 'other', site: 'site-a', runId: 'run-c' });
      expect((await SiteLock.holder(store, COMPONENT, 'site-a'))?.runId).toBe('run-a');
      expect((await SiteLock.holder(store, COMPONENT, 'site-b'))?.runId).toBe('run-b');
      expect((await SiteLock.holder(store, 'other', 'site-a'))?.runId).toBe('run-c');
    });

    it('release frees the site for the next run', async () => {
      const first = await acquire(store, { component: COMPONENT, site: 'relay', runId: 'run-1' });
      await first.release();
      await first.release(); // twice is harmless
      expect(await SiteLock.holder(store, COMPONENT, 'relay')).toBeUndefined();
      const second = await acquire(store, { component: COMPONENT, site: 'relay', runId: 'run-2' });
      expect(await SiteLock.holder(store, COMPONENT, 'relay')).toMatchObject({
        runId: 'run-2',
        host: hostname(),
        pid: process.pid,
      });
      // A late release of the first run must not free the second run's lock.
      await first.release();
      expect((await SiteLock.holder(store, COMPONENT, 'relay'))?.runId).toBe('run-2');
      await second.release();
    });

    it('takes over a lock whose holder went silent for longer than its TTL, and says so', async () => {
      const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
      try {
        const now = Date.now();
        // On this host, with a live pid: only the silence makes it stale.
        await plant('stale-here', {
          runId: 'run-hung',
          host: hostname(),
          pid: sleeper.pid!,
          heartbeatAt: now - 5_000,
          ttlMs: 2_000,
        });
        // On another host, where the pid cannot be checked.
        await plant('stale-there', {
          runId: 'run-far',
          host: 'runner-elsewhere.example',
          pid: 12345,
          heartbeatAt: now - 5_000,
          ttlMs: 2_000,
        });
        for (const [site, previous] of [
          ['stale-here', 'run-hung'],
          ['stale-there', 'run-far'],
        ] as const) {
          const { events, logs } = warnings();
          await acquire(store, { component: COMPONENT, site, runId: `run-new-${site}`, events });
          expect(await SiteLock.holder(store, COMPONENT, site)).toMatchObject({
            runId: `run-new-${site}`,
            host: hostname(),
            pid: process.pid,
          });
          expect(logs).toHaveLength(1);
          expect(logs[0]).toMatchObject({ level: 'warn', fields: { site, previous: { runId: previous } } });
          expect(logs[0]!.message).toMatch(/took over/);
          expect(logs[0]!.message).toContain(`run ${previous}`);
          expect(logs[0]!.message).toMatch(/silent for \d+ ms, TTL 2000 ms/);
        }
      } finally {
        sleeper.kill('SIGKILL');
      }
    });

    it('does not take over a live holder on another host, whatever its pid', async () => {
      await plant('far-alive', {
        runId: 'run-far-alive',
        host: 'runner-elsewhere.example',
        pid: await deadPid(),
        heartbeatAt: Date.now(),
        ttlMs: 60_000,
      });
      const error = await SiteLock.acquire(store, {
        component: COMPONENT,
        site: 'far-alive',
        runId: 'run-x',
      }).catch((e: unknown) => e);
      expect(isUpgradeKitError(error, 'UPGRADEKIT_LOCKED'), String(error)).toBe(true);
      expect((error as UpgradeKitError).message).toContain('runner-elsewhere.example');
    });

    it('takes over at once a lock whose holder on this host is a dead process', async () => {
      const pid = await deadPid();
      const self = holderIdentity();
      await plant('orphaned', {
        runId: 'run-crashed',
        host: hostname(),
        pid,
        bootId: self.bootId,
        pidNamespace: self.pidNamespace,
        startTime: self.startTime,
        heartbeatAt: Date.now(),
        ttlMs: 60_000,
      });
      const { events, logs } = warnings();
      await acquire(store, { component: COMPONENT, site: 'orphaned', runId: 'run-next', events });
      expect(await SiteLock.holder(store, COMPONENT, 'orphaned')).toMatchObject({
        runId: 'run-next',
        bootId: self.bootId,
        pidNamespace: self.pidNamespace,
        startTime: self.startTime,
      });
      expect(logs).toHaveLength(1);
      expect(logs[0]!.message).toMatch(/took over/);
      expect(logs[0]!.message).toContain(`(pid ${pid})`);
      expect(logs[0]!.message).toMatch(/its process is dead: no process has pid \d+/);
    });

    it('a dead pid recorded without process identity (an older holder) is left to the TTL', async () => {
      await plant('orphaned-old', {
        runId: 'run-old',
        host: hostname(),
        pid: await deadPid(),
        heartbeatAt: Date.now(),
        ttlMs: 60_000,
      });
      const error = await SiteLock.acquire(store, {
        component: COMPONENT,
        site: 'orphaned-old',
        runId: 'run-y',
      }).catch((e: unknown) => e);
      expect(isUpgradeKitError(error, 'UPGRADEKIT_LOCKED'), String(error)).toBe(true);
      expect((error as UpgradeKitError).message).toMatch(
        /cannot be proven from here: its process identity was not recorded/,
      );
      expect((error as UpgradeKitError).message).toMatch(
        /taken over at \S+Z \(in (59|60) s: last heartbeat \+ TTL 60 s\)/,
      );
    });

    it('the heartbeat advances heartbeat_at while the lock is held', async () => {
      await acquire(store, { component: COMPONENT, site: 'beating', runId: 'run-beat', ttlMs: 300 });
      const first = await SiteLock.holder(store, COMPONENT, 'beating');
      await sleep(450);
      const later = await SiteLock.holder(store, COMPONENT, 'beating');
      expect(later!.heartbeatAt).toBeGreaterThan(first!.heartbeatAt);
      expect(later!.acquiredAt).toBe(first!.acquiredAt);
      expect(later!.ttlMs).toBe(300);
      // Held well past its TTL, a beating lock is still not stale.
      await sleep(200);
      const error = await SiteLock.acquire(store, {
        component: COMPONENT,
        site: 'beating',
        runId: 'run-other',
      }).catch((e: unknown) => e);
      expect(isUpgradeKitError(error, 'UPGRADEKIT_LOCKED'), String(error)).toBe(true);
    });

    it('calls onLost with UPGRADEKIT_LOCK_LOST when another runner takes the row', async () => {
      let lost!: (error: UpgradeKitError) => void;
      const lostCalled = new Promise<UpgradeKitError>((resolve) => (lost = resolve));
      const calls: UpgradeKitError[] = [];
      const lock = await acquire(store, {
        component: COMPONENT,
        site: 'stolen',
        runId: 'run-victim',
        ttlMs: 300,
        onLost: (error) => {
          calls.push(error);
          lost(error);
        },
      });
      await store
        .knex('upgradekit_locks')
        .where({ component: COMPONENT, site: 'stolen' })
        .update({ run_id: 'run-thief' });
      const error = await Promise.race([
        lostCalled,
        sleep(3_000).then(() => {
          throw new Error('onLost was not called within 3 s');
        }),
      ]);
      expect(error.code).toBe('UPGRADEKIT_LOCK_LOST');
      expect(error.message).toContain('run-victim');
      expect(error.context).toMatchObject({ component: COMPONENT, site: 'stolen', runId: 'run-victim' });
      await sleep(300);
      expect(calls).toHaveLength(1); // the heartbeat stopped
      await lock.release();
      expect((await SiteLock.holder(store, COMPONENT, 'stolen'))?.runId).toBe('run-thief');
    });

    it('of 4 processes acquiring the same site at the same moment exactly one gets it', async () => {
      const results = await race(racers!.plain);
      const winners = results.filter((r) => r.ok);
      expect(winners, JSON.stringify(results)).toHaveLength(1);
      const losers = results.filter((r) => !r.ok);
      expect(losers.map((r) => r.code)).toEqual(Array(3).fill('UPGRADEKIT_LOCKED'));
      for (const loser of losers) expect(loser.message).toContain(`run ${winners[0]!.runId}`);
      expect(winners[0]!.logs).toEqual([]);
      // The winner still holds it (and exits holding it): its row names it.
      expect(await SiteLock.holder(store, COMPONENT, 'raced')).toMatchObject({
        runId: winners[0]!.runId,
        pid: winners[0]!.pid,
      });
    });

    it('of 4 processes taking over the same stale lock at the same moment exactly one wins', async () => {
      await plant('stale-raced', {
        runId: 'run-ghost',
        host: 'runner-elsewhere.example',
        pid: 4242,
        heartbeatAt: Date.now() - 120_000,
        ttlMs: 60_000,
      });
      const results = await race(racers!.stale);
      const winners = results.filter((r) => r.ok);
      expect(winners, JSON.stringify(results)).toHaveLength(1);
      expect(results.filter((r) => !r.ok).map((r) => r.code)).toEqual(Array(3).fill('UPGRADEKIT_LOCKED'));
      expect(winners[0]!.logs).toHaveLength(1);
      expect(winners[0]!.logs[0]).toMatch(/^warn: took over the stale lock .*run run-ghost/);
      expect(await SiteLock.holder(store, COMPONENT, 'stale-raced')).toMatchObject({
        runId: winners[0]!.runId,
        pid: winners[0]!.pid,
      });
    });
  });
});
