import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ConsoleReporter, EventBus, JsonLinesReporter, ProgressTracker } from '@upgradekit/core';
import { describe, expect, it } from 'vitest';

function sink(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY, columns: 100 });
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return { stream, output: () => text };
}

describe('ConsoleReporter off a TTY (CI logs)', () => {
  it('prints one plain line per event and throttles progress to one line per interval', () => {
    let now = 0;
    const { stream, output } = sink(false);
    const reporter = new ConsoleReporter({ stream, progressIntervalMs: 5000, now: () => now });
    const bus = new EventBus();
    bus.on('*', reporter.handle);
    bus.emit({ type: 'stage.start', stage: 'preUpgrade' });
    bus.emit({ type: 'step.start', stage: 'preUpgrade', step: 'upload' });
    const progress = new ProgressTracker(bus, 'app.tar.gz', {
      total: 100 * 1024 * 1024,
      context: { stage: 'preUpgrade', step: 'upload', host: 'db1' },
      now: () => now,
    });
    // 1 MiB every 100 ms for 9.9 s: 100 updates, of which lines at t=0.1, 5.1 and the final one.
    for (let i = 1; i <= 100; i++) {
      now += 100;
      progress.update(i * 1024 * 1024);
    }
    bus.emit({ type: 'log', level: 'debug', message: 'hidden below info' });
    bus.emit({
      type: 'step.end',
      stage: 'preUpgrade',
      step: 'upload',
      status: 'succeeded',
      durationMs: 10_000,
    });
    reporter.close();

    const lines = output().trimEnd().split('\n');
    const progressLines = lines.filter((l) => l.includes('app.tar.gz'));
    expect(progressLines).toHaveLength(3);
    expect(progressLines.at(-1)).toMatch(
      /\[preUpgrade\/upload@db1\] app\.tar\.gz 100% 105 MB\/105 MB at 10\.5 MB\/s, ETA 0ms/,
    );
    expect(lines[0]).toBe('[preUpgrade] stage preUpgrade started');
    expect(lines.at(-1)).toBe('[preUpgrade/upload] step upload succeeded in 10s');
    expect(output()).not.toContain('hidden below info');
    expect(output()).not.toMatch(/\u001b\[/); // no escape codes in a CI log
  });

  it('formats retries and timeout warnings for a reader at 2 a.m.', () => {
    const { stream, output } = sink(false);
    const reporter = new ConsoleReporter({ stream });
    reporter.handle({
      type: 'retry',
      time: 0,
      step: 'connect',
      attempt: 1,
      attempts: 3,
      decision: 'retry',
      reason: 'network',
      delayMs: 2000,
      error: { message: 'connect ECONNREFUSED 10.0.0.5:22', code: 'ECONNREFUSED' },
    });
    reporter.handle({
      type: 'timeout.warning',
      time: 0,
      stage: 'preUpgrade',
      step: 'migrate',
      fraction: 0.95,
      elapsedMs: 1_710_000,
      remainingMs: 90_000,
      timeoutMs: 1_800_000,
    });
    expect(output()).toContain(
      '[connect] attempt 1/3 failed (network, ECONNREFUSED): connect ECONNREFUSED 10.0.0.5:22; retrying in 2s',
    );
    expect(output()).toContain(
      '[preUpgrade/migrate] URGENT: about to time out: 1m 30s left (28m 30s of 30m used)',
    );
  });
});

describe('ConsoleReporter on a TTY', () => {
  it('draws a live bar and leaves a final line', async () => {
    const { stream, output } = sink(true);
    const reporter = new ConsoleReporter({ stream, interactive: true, color: false });
    const bus = new EventBus();
    bus.on('*', reporter.handle);
    const progress = new ProgressTracker(bus, 'db.sql', { total: 1000, context: { step: 'dump' } });
    progress.update(500);
    await new Promise((r) => setTimeout(r, 300)); // bars redraw on their own timer
    bus.emit({ type: 'log', level: 'warn', message: 'slow disk' });
    progress.update(1000);
    reporter.close();
    const text = output();
    expect(text).toMatch(/[█░]{10,}/); // the bar itself
    expect(text).toMatch(/\u001b\[/); // cursor movement: the bar is redrawn in place
    expect(text).toContain('warn: slow disk');
    expect(text).toMatch(/\[dump\] db\.sql 100% 1 kB\/1 kB/);
  });
});

describe('JsonLinesReporter', () => {
  it('writes one JSON document per event to a private file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'upgradekit-jsonl-'));
    const path = join(dir, 'events.jsonl');
    const reporter = new JsonLinesReporter(path);
    const bus = new EventBus({ runId: 'r1' });
    bus.addSecret('hunter22');
    bus.on('*', reporter.handle);
    bus.emit({ type: 'stage.start', stage: 'install' });
    bus.emit({ type: 'log', level: 'info', message: 'password=hunter22' });
    reporter.close();
    const lines = (await readFile(path, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.type)).toEqual(['stage.start', 'log']);
    expect(lines[1].message).toBe('password=***');
    expect(lines[0].runId).toBe('r1');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('has every event on disk even when the process is SIGKILLed right after', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'upgradekit-jsonl-'));
    const path = join(dir, 'events.jsonl');
    const script = fileURLToPath(new URL('../fixtures/emit-then-sigkill.ts', import.meta.url));
    const result = spawnSync(process.execPath, ['--import', 'tsx', script, path, '250'], {
      encoding: 'utf8',
    });
    expect(result.signal).toBe('SIGKILL');
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(250);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: 'log', message: 'event 249' });
  });
});
