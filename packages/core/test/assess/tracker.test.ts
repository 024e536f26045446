import { DurationTracker, EventBus, isUpgradeKitError, type LogEvent } from '@upgradekit/core';
import { describe, expect, it } from 'vitest';

// The clock is the one thing replaced: waiting 30 real seconds per sample would prove nothing more.
function clock() {
  let now = 0;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('DurationTracker: runtime re-estimation (seed 001 §5.2.4 动态调整)', () => {
  it('corrects the remaining estimate when the rate is off by more than 20%, and says so', () => {
    const c = clock();
    const bus = new EventBus();
    const logs: LogEvent[] = [];
    bus.on('log', (e) => logs.push(e));
    const tracker = new DurationTracker({
      tasks: [
        { id: 'migrate_users', volume: 100_000, rate: 1000 },
        { id: 'migrate_orders', volume: 50_000, rate: 1000 },
      ],
      events: bus,
      now: c.now,
    });
    expect(tracker.remainingMs()).toBe(150_000);
    tracker.begin('migrate_users');
    c.advance(30_000);
    tracker.progress('migrate_users', 33_000); // 1100/s: +10%, within tolerance
    expect(tracker.sample()).toBeUndefined();
    expect(logs).toHaveLength(0);
    c.advance(30_000);
    tracker.progress('migrate_users', 48_000); // 800/s over 60 s: −20%… exactly at the edge, no correction
    expect(tracker.sample()).toBeUndefined();
    c.advance(30_000);
    tracker.progress('migrate_users', 54_000); // 600/s: −40%
    const correction = tracker.sample()!;
    expect(correction.task).toBe('migrate_users');
    expect(correction.actualRate).toBeCloseTo(600);
    expect(correction.deviation).toBeCloseTo(-0.4);
    // Left: 46,000 + 50,000 units; at 600/s instead of 1000/s.
    expect(correction.previousRemainingMs).toBe(96_000);
    expect(correction.remainingMs).toBe(160_000);
    expect(tracker.remainingMs()).toBe(160_000);
    expect(logs).toHaveLength(1);
    expect(logs[0]!.message).toBe(
      'estimate corrected: migrate_users runs at 600.0/s, -40% against the assumed 1000.0/s; remaining 1m36s → 2m40s',
    );
    expect(logs[0]!.fields).toMatchObject({
      kind: 'estimate.corrected',
      task: 'migrate_users',
      remainingMs: 160_000,
    });
    // The same slow rate again is the new normal: no second correction.
    c.advance(30_000);
    tracker.progress('migrate_users', 72_000);
    expect(tracker.sample()).toBeUndefined();
    tracker.finish('migrate_users');
    tracker.begin('migrate_orders');
    expect(tracker.remainingMs()).toBe(Math.round((50_000 / 600) * 1000));
    expect(tracker.corrections).toHaveLength(1);
  });

  it('samples on its own timer until stopped', async () => {
    const bus = new EventBus();
    const logs: LogEvent[] = [];
    bus.on('log', (e) => logs.push(e));
    const tracker = new DurationTracker({
      tasks: [{ id: 'copy', volume: 1_000_000, rate: 10 }],
      intervalMs: 20,
      events: bus,
    });
    tracker.begin('copy');
    tracker.start();
    tracker.progress('copy', 500_000); // vastly faster than 10/s
    await new Promise((r) => setTimeout(r, 80));
    tracker.stop();
    expect(logs.length).toBeGreaterThanOrEqual(1);
    expect(logs[0]!.fields?.kind).toBe('estimate.corrected');
    const seen = logs.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(logs.length).toBe(seen);
  });

  it('refuses bad input and unknown tasks clearly', () => {
    expect(() => new DurationTracker({ tasks: [{ id: 'x', volume: 1, rate: 0 }] })).toThrow(
      /DurationTracker: invalid options — `tasks.0.rate`: must be a positive rate \(got 0\)/,
    );
    const tracker = new DurationTracker({ tasks: [] });
    let error: unknown;
    try {
      tracker.begin('nope');
    } catch (e) {
      error = e;
    }
    expect(isUpgradeKitError(error, 'UPGRADEKIT_BAD_INPUT')).toBe(true);
  });
});
