import { EventBus, type LogEvent, type UpgradeEvent } from '@upgradekit/core';
import { describe, expect, it } from 'vitest';

describe('EventBus', () => {
  it('delivers typed events to their listeners and to "*"', () => {
    const bus = new EventBus({ runId: 'run-1' });
    const ends: string[] = [];
    const all: UpgradeEvent[] = [];
    bus.on('step.end', (e) => ends.push(`${e.step}:${e.status}`));
    const off = bus.on('*', (e) => all.push(e));
    bus.emit({ type: 'step.start', step: 'backup' });
    bus.emit({ type: 'step.end', step: 'backup', status: 'succeeded', durationMs: 12 });
    off();
    bus.emit({ type: 'step.end', step: 'migrate', status: 'failed', durationMs: 3 });
    expect(ends).toEqual(['backup:succeeded', 'migrate:failed']);
    expect(all.map((e) => e.type)).toEqual(['step.start', 'step.end']);
    expect(all[0]).toMatchObject({ runId: 'run-1', step: 'backup' });
    expect(typeof all[0]!.time).toBe('number');
    expect(Object.isFrozen(all[0])).toBe(true);
  });

  it('masks registered secrets everywhere in an event', () => {
    const bus = new EventBus();
    const seen: UpgradeEvent[] = [];
    bus.on('*', (e) => seen.push(e));
    bus.addSecret('s3cr3t-pass');
    bus.addSecret('ab'); // too short to mask safely: ignored
    bus.emit({
      type: 'log',
      level: 'error',
      message: 'login failed for mysql://app:s3cr3t-pass@db:3306/app',
      fields: { dsn: 'postgres://u:s3cr3t-pass@h/db', nested: [{ token: 'x s3cr3t-pass y' }], about: 'abab' },
    });
    const text = JSON.stringify(seen);
    expect(text).not.toContain('s3cr3t-pass');
    expect((seen[0] as LogEvent).message).toBe('login failed for mysql://app:***@db:3306/app');
    expect((seen[0] as LogEvent).fields).toEqual({
      dsn: 'postgres://u:***@h/db',
      nested: [{ token: 'x *** y' }],
      about: 'abab',
    });
  });

  it('survives a listener that throws and says so once', () => {
    const bus = new EventBus();
    const logs: LogEvent[] = [];
    bus.on('step.start', () => {
      throw new Error('reporter broke');
    });
    bus.on('log', (e) => logs.push(e));
    expect(() => bus.emit({ type: 'step.start', step: 'a' })).not.toThrow();
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ level: 'warn' });
    expect(logs[0]!.message).toMatch(/reporter broke/);
  });

  it('child sinks stamp their context', () => {
    const bus = new EventBus();
    const seen: UpgradeEvent[] = [];
    bus.on('*', (e) => seen.push(e));
    bus.child({ stage: 'preUpgrade', host: '10.0.0.5' }).emit({ type: 'log', level: 'info', message: 'hi' });
    expect(seen[0]).toMatchObject({ stage: 'preUpgrade', host: '10.0.0.5', message: 'hi' });
  });
});
