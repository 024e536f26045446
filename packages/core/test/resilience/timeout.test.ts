import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import {
  EventBus,
  isUpgradeKitError,
  type TimeoutWarningEvent,
  UpgradeKitError,
  UpgradeKitTimeoutError,
  withTimeout,
} from '@upgradekit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, silentServer } from '#test-support';
import { categorize } from '../../src/resilience/timeout.js';

function collect(bus: EventBus) {
  const warnings: TimeoutWarningEvent[] = [];
  bus.on('timeout.warning', (e) => warnings.push(e));
  return warnings;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

describe('withTimeout on real work', () => {
  it('kills a hanging child process and explains the timeout', async () => {
    const events = new EventBus();
    const warnings = collect(events);
    let child: ReturnType<typeof spawn> | undefined;
    const started = performance.now();
    const error = await rejection(
      withTimeout(
        (signal) =>
          new Promise<void>((resolve, reject) => {
            child = spawn('sleep', ['30'], { signal });
            child.once('error', reject);
            child.once('exit', () => resolve());
          }),
        { stage: 'preStart', step: 'start-service', kind: 'service', detail: 'port 8080', ms: 600, events },
      ),
    );
    const took = performance.now() - started;

    expect(error).toBeInstanceOf(UpgradeKitTimeoutError);
    const timeout = error as UpgradeKitTimeoutError;
    expect(timeout.code).toBe('UPGRADEKIT_TIMEOUT');
    expect(timeout.details).toMatchObject({
      stage: 'preStart',
      step: 'start-service',
      category: 'service',
      timeoutMs: 600,
      stoppedAfterAbort: true,
    });
    expect(timeout.details.elapsedMs).toBeGreaterThanOrEqual(600);
    expect(timeout.details.overrunMs).toBeCloseTo(timeout.details.elapsedMs - 600, 5);
    expect(took).toBeLessThan(3000);
    // The child really died from the abort, it was not merely forgotten.
    expect(child?.signalCode).toBe('SIGTERM');
    // Resource figures are real numbers within 0–100.
    for (const key of ['cpuPercent', 'memoryPercent', 'diskPercent'] as const) {
      expect(timeout.details.resources[key]).toBeGreaterThanOrEqual(0);
      expect(timeout.details.resources[key]).toBeLessThanOrEqual(100);
    }
    expect(timeout.message).toMatch(/Step timed out: \[preStart\] start-service/);
    expect(timeout.message).toMatch(/Timeout: 600ms, actual: [\d.]+m?s, overrun: /);
    expect(timeout.message).toMatch(/Environment: CPU \d+%, memory \d+%, disk \d+%/);
    expect(timeout.message).toMatch(/category: service; port 8080/);
    expect(timeout.message).toMatch(/Suggestion: Check system resources/);
    // Warned at 85% and 95%, in that order, before the deadline.
    expect(warnings.map((w) => w.fraction)).toEqual([0.85, 0.95]);
    expect(warnings[0]!.elapsedMs).toBeGreaterThanOrEqual(0.85 * 600 - 5);
    expect(warnings[1]!.remainingMs).toBeLessThan(0.15 * 600);
    expect(warnings.every((w) => w.step === 'start-service' && w.stage === 'preStart')).toBe(true);
  });

  describe('a socket that never answers', () => {
    let server: Awaited<ReturnType<typeof silentServer>>;
    afterAll(() => server?.close());

    it('times out as a network problem and closes the socket', async () => {
      server = await silentServer();
      let closed = false;
      const error = await rejection(
        withTimeout(
          (signal) =>
            new Promise<Buffer>((resolve, reject) => {
              const socket = connect({ host: '127.0.0.1', port: server.port, signal });
              socket.once('data', resolve);
              socket.once('error', reject);
              socket.once('close', () => {
                closed = true;
              });
            }),
          { step: 'handshake', kind: 'network', detail: `127.0.0.1:${server.port}`, ms: 400, warnAt: [0.5] },
        ),
      );
      expect(isUpgradeKitError(error, 'UPGRADEKIT_TIMEOUT')).toBe(true);
      const details = (error as UpgradeKitTimeoutError).details;
      expect(details.category).toBe('network');
      expect(details.suggestion).toMatch(/network/);
      expect(details.stoppedAfterAbort).toBe(true);
      expect(closed).toBe(true);
    });
  });

  it('says so when the work ignores its abort signal', async () => {
    const error = (await rejection(
      withTimeout(() => new Promise(() => {}), { step: 'stubborn', ms: 200, graceMs: 100 }),
    )) as UpgradeKitTimeoutError;
    expect(error.details.stoppedAfterAbort).toBe(false);
    expect(error.details.elapsedMs).toBeGreaterThanOrEqual(300);
    expect(error.details.category).toBe('unknown');
    expect(error.message).toMatch(/ignored its abort signal/);
  });

  it('passes results and errors through untouched, and never warns after the work settled', async () => {
    const events = new EventBus();
    const warnings = collect(events);
    await expect(withTimeout(async () => 42, { step: 'fast', ms: 300, events })).resolves.toBe(42);
    const boom = new Error('boom');
    await expect(
      withTimeout(
        async () => {
          throw boom;
        },
        { step: 'fails', ms: 300, events },
      ),
    ).rejects.toBe(boom);
    // Settles at ~50% of the timeout: the 85%/95% warnings must not fire later.
    await withTimeout(() => new Promise((r) => setTimeout(r, 150)), { step: 'half', ms: 300, events });
    await new Promise((r) => setTimeout(r, 350));
    expect(warnings).toEqual([]);
  });

  it('stops at once, as a cancellation, when the caller aborts', async () => {
    const outer = new AbortController();
    let innerAborted = false;
    setTimeout(() => outer.abort(new Error('operator pressed Ctrl-C')), 100);
    const error = await rejection(
      withTimeout(
        (signal) =>
          new Promise((_, reject) => {
            signal.addEventListener('abort', () => {
              innerAborted = true;
              reject(signal.reason);
            });
          }),
        { step: 'long', ms: 10_000, signal: outer.signal },
      ),
    );
    expect(isUpgradeKitError(error, 'UPGRADEKIT_ABORTED')).toBe(true);
    expect((error as Error).message).toMatch(/operator pressed Ctrl-C/);
    expect(innerAborted).toBe(true);
  });

  it('a cancel waits for the work to stop and reports its own account of how it stopped', async () => {
    const outer = new AbortController();
    const started = performance.now();
    let stoppedAt = 0;
    setTimeout(() => outer.abort(new Error('received SIGINT')), 50);
    const error = await rejection(
      withTimeout(
        (signal) =>
          new Promise((_, reject) => {
            // Rolling back takes a while: the call must not report before it is done.
            signal.addEventListener('abort', () =>
              setTimeout(() => {
                stoppedAt = performance.now();
                reject(new UpgradeKitError('UPGRADEKIT_ABORTED', 'rolled back: nothing was committed'));
              }, 300),
            );
          }),
        { step: 'tx', ms: 10_000, signal: outer.signal },
      ),
    );
    expect(performance.now()).toBeGreaterThanOrEqual(stoppedAt);
    expect(stoppedAt - started).toBeGreaterThanOrEqual(300);
    expect((error as Error).message).toBe(
      'tx was cancelled (received SIGINT): rolled back: nothing was committed',
    );
  });

  it('a cancel that comes as the work finishes: the work succeeded, and the call says so', async () => {
    const outer = new AbortController();
    setTimeout(() => outer.abort(new Error('received SIGINT')), 20);
    const value = await withTimeout(
      (signal) =>
        new Promise((resolve) =>
          signal.addEventListener('abort', () => setTimeout(() => resolve('committed'), 50)),
        ),
      { step: 'late', ms: 10_000, signal: outer.signal },
    );
    expect(value).toBe('committed');
  });

  it('a cancel the work ignores: after graceMs the call says it may still be running', async () => {
    const outer = new AbortController();
    setTimeout(() => outer.abort(new Error('received SIGTERM')), 20);
    const started = performance.now();
    const error = await rejection(
      withTimeout(() => new Promise((resolve) => setTimeout(resolve, 5000).unref()), {
        step: 'deaf',
        ms: 10_000,
        graceMs: 300,
        signal: outer.signal,
      }),
    );
    expect(performance.now() - started).toBeLessThan(1000);
    expect((error as Error).message).toBe(
      'deaf was cancelled (received SIGTERM) but did not stop within 300ms: it may still be running, so what it did is in doubt',
    );
  });

  it('refuses bad options with the field named, before running anything', async () => {
    let ran = false;
    const work = () => {
      ran = true;
    };
    await expect(withTimeout(work, { step: 'x', ms: -1 })).rejects.toThrow(
      /`ms`: must be a positive number.*got -1/,
    );
    await expect(withTimeout(work, { step: '', ms: 5 })).rejects.toThrow(/`step`/);
    await expect(withTimeout(work, { step: 'x', ms: 5, warnAt: [1.2] })).rejects.toThrow(/`warnAt.0`/);
    // @ts-expect-error — JavaScript callers get a clear error too
    await expect(withTimeout(work, { step: 'x', ms: 5, kind: 'disk' })).rejects.toThrow(/`kind`/);
    expect(ran).toBe(false);
  });
});

describe('categorize', () => {
  it('reads the category from real errors', async () => {
    const port = await freePort();
    const refused = await rejection(
      new Promise((resolve, reject) =>
        connect({ host: '127.0.0.1', port }).once('error', reject).once('connect', resolve),
      ),
    );
    expect(categorize(refused)).toBe('network');
    expect(categorize(await rejection(readFile('/nonexistent/upgradekit')))).toBe('file');
    expect(categorize(new Error('plain'))).toBe('unknown');
    expect(categorize(new Error('wrapped', { cause: refused }))).toBe('network');
  });
});
