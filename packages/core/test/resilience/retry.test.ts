import { connect } from 'node:net';
import {
  EventBus,
  isUpgradeKitError,
  type RetryEvent,
  retry,
  UpgradeKitError,
  UpgradeKitRetryError,
} from '@upgradekit/core';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { FaultProxy, freePort, requireService, settings } from '#test-support';
import { classifyError } from '../../src/resilience/classify.js';

const hasMariaDB = await requireService('mariadb');
const hasPostgres = await requireService('postgres');

function events() {
  const bus = new EventBus();
  const seen: RetryEvent[] = [];
  bus.on('retry', (e) => seen.push(e));
  return { bus, seen };
}

function connectOnce(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

describe('retry', () => {
  it('retries a refused connection with backoff and keeps the attempt history', async () => {
    const port = await freePort();
    const { bus, seen } = events();
    const started = performance.now();
    const error = await retry(() => connectOnce(port), {
      step: 'connect-db',
      attempts: 3,
      minDelayMs: 40,
      factor: 2,
      jitter: false,
      events: bus,
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UpgradeKitRetryError);
    const failure = error as UpgradeKitRetryError;
    expect(failure.code).toBe('UPGRADEKIT_RETRY_EXHAUSTED');
    expect(failure.attempts.map((a) => [a.attempt, a.reason, a.error.code])).toEqual([
      [1, 'network', 'ECONNREFUSED'],
      [2, 'network', 'ECONNREFUSED'],
      [3, 'network', 'ECONNREFUSED'],
    ]);
    expect(failure.attempts.map((a) => a.delayMs)).toEqual([40, 80, undefined]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(120);
    expect(failure.message).toMatch(/connect-db failed after 3 attempts/);
    expect(failure.message).toMatch(/attempt 2: network ECONNREFUSED/);
    expect(seen.map((e) => [e.attempt, e.decision, e.delayMs])).toEqual([
      [1, 'retry', 40],
      [2, 'retry', 80],
      [3, 'retry', undefined],
    ]);
    expect(seen.every((e) => e.step === 'connect-db' && e.attempts === 3)).toBe(true);
  });

  it('does not retry what retrying cannot fix', async () => {
    let calls = 0;
    const { bus, seen } = events();
    const error = await retry(
      () => {
        calls++;
        throw Object.assign(new Error('EACCES: permission denied, open /opt/app/conf'), { code: 'EACCES' });
      },
      { step: 'write-config', attempts: 5, minDelayMs: 1, events: bus },
    ).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(isUpgradeKitError(error, 'UPGRADEKIT_NOT_RETRYABLE')).toBe(true);
    expect((error as Error).message).toMatch(/retrying cannot fix \(permission\)/);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ decision: 'fail-now', reason: 'permission' });
    expect(seen[0]!.delayMs).toBeUndefined();
  });

  it('accepts a classifier of the caller’s own', async () => {
    let calls = 0;
    const error = await retry(
      () => {
        calls++;
        throw new Error('license expired');
      },
      {
        attempts: 4,
        minDelayMs: 1,
        classify: (e) =>
          /license/.test(String(e)) ? { decision: 'fail-now', reason: 'bad-input' } : classifyError(e),
      },
    ).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect((error as UpgradeKitRetryError).attempts[0]?.reason).toBe('bad-input');
  });

  it('is cancelled during its backoff by the caller’s signal', async () => {
    const controller = new AbortController();
    const port = await freePort();
    setTimeout(() => controller.abort(new Error('stop requested')), 100);
    const started = performance.now();
    const error = await retry(() => connectOnce(port), {
      attempts: 10,
      minDelayMs: 5000,
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(isUpgradeKitError(error, 'UPGRADEKIT_ABORTED')).toBe(true);
  });

  it('refuses bad policies before the first attempt', async () => {
    let ran = false;
    const fn = () => {
      ran = true;
    };
    await expect(retry(fn, { attempts: 0 })).rejects.toThrow(/`attempts`: must be at least 1 \(got 0\)/);
    await expect(retry(fn, { attempts: 2.5 })).rejects.toThrow(/`attempts`: must be a whole number/);
    await expect(retry(fn, { minDelayMs: 100, maxDelayMs: 10 })).rejects.toThrow(/maxDelayMs/);
    // @ts-expect-error — JavaScript callers get a clear error too
    await expect(retry(fn, { classify: 'yes' })).rejects.toThrow(/`classify`: must be a function/);
    expect(ran).toBe(false);
    expect(
      isUpgradeKitError(await retry(fn, { attempts: -1 }).catch((e: unknown) => e), 'UPGRADEKIT_BAD_INPUT'),
    ).toBe(true);
  });
});

describe.runIf(hasMariaDB)('retry against a real MariaDB', () => {
  let proxy: FaultProxy | undefined;
  afterAll(() => proxy?.close());

  it('rides out connections cut by the network, then succeeds', async () => {
    proxy = await FaultProxy.start(
      { host: settings.mariadb.host, port: settings.mariadb.port },
      { cutAfterBytes: 20 },
    );
    const { bus, seen } = events();
    // The "network" heals after the second failure.
    bus.on('retry', (e) => {
      if (e.attempt === 2) proxy?.set({});
    });
    const rows = await retry(
      async () => {
        const connection = await mysql.createConnection({
          ...settings.mariadb,
          host: proxy!.host,
          port: proxy!.port,
        });
        try {
          const [result] = await connection.query('SELECT 41 + 1 AS answer');
          return result as { answer: number }[];
        } finally {
          await connection.end().catch(() => {});
        }
      },
      { step: 'query', attempts: 4, minDelayMs: 10, events: bus },
    );
    expect(rows[0]?.answer).toBe(42);
    expect(seen.map((e) => [e.attempt, e.reason])).toEqual([
      [1, 'network'],
      [2, 'network'],
    ]);
    expect(proxy.stats.cuts).toBeGreaterThanOrEqual(2);
  });

  it('fails at once on a wrong password, naming the reason', async () => {
    let calls = 0;
    const error = await retry(
      async () => {
        calls++;
        await mysql.createConnection({
          ...settings.mariadb,
          user: 'upgradekit_nobody',
          password: 'wrong-password',
        });
      },
      { step: 'login', attempts: 5, minDelayMs: 10 },
    ).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(error).toBeInstanceOf(UpgradeKitRetryError);
    expect((error as UpgradeKitRetryError).attempts[0]).toMatchObject({
      reason: 'auth',
      error: { code: 'ER_ACCESS_DENIED_ERROR' },
    });
    // The password itself is not part of what the driver reports, nor of ours.
    expect((error as Error).message).not.toContain('wrong-password');
  });
});

describe.runIf(hasPostgres)('retry against a real PostgreSQL', () => {
  it('fails at once when the role does not exist', async () => {
    let calls = 0;
    const error = await retry(
      async () => {
        calls++;
        const client = new pg.Client({ ...settings.postgres, user: 'upgradekit_no_such_role' });
        try {
          await client.connect();
        } finally {
          await client.end().catch(() => {});
        }
      },
      { step: 'login', attempts: 5, minDelayMs: 10 },
    ).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect((error as UpgradeKitRetryError).attempts[0]).toMatchObject({
      reason: 'auth',
      error: { code: '28000' },
    });
  });
});

describe('classifyError', () => {
  it.each([
    [Object.assign(new Error('x'), { code: 'ENOSPC' }), 'fail-now', 'disk-full'],
    [new Error('write failed: No space left on device'), 'fail-now', 'disk-full'],
    [new Error('All configured authentication methods failed'), 'fail-now', 'auth'],
    [new UpgradeKitError('UPGRADEKIT_BAD_INPUT', 'bad'), 'fail-now', 'bad-input'],
    [
      new Error('outer', { cause: Object.assign(new Error('inner'), { code: 'ECONNRESET' }) }),
      'retry',
      'network',
    ],
    [Object.assign(new Error('Deadlock found'), { code: 'ER_LOCK_DEADLOCK' }), 'retry', 'database-transient'],
    [new Error('something odd'), 'retry', 'unknown'],
  ])('%s → %s (%s)', (error, decision, reason) => {
    expect(classifyError(error)).toEqual({ decision, reason });
  });
});
