import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  assess,
  ConsoleReporter,
  EventBus,
  JsonLinesReporter,
  ProgressTracker,
  renderAssessmentMarkdown,
  renderAssessmentText,
  type UpgradeEvent,
} from '@upgradekit/core';
import { describe, expect, it } from 'vitest';
import { emptyPlan } from '#test-support';
import { formatBytes, formatEngine, plural } from '../../src/events/format.js';

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
      /\[preUpgrade\/upload@db1\] app\.tar\.gz 100% 100 MiB\/100 MiB at 10 MiB\/s, ETA 0ms/,
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

describe('ConsoleReporter says each thing once', () => {
  function reporting() {
    const { stream, output } = sink(false);
    const reporter = new ConsoleReporter({ stream });
    const bus = new EventBus();
    const seen: UpgradeEvent[] = [];
    bus.on('*', (e) => seen.push(e));
    bus.on('*', reporter.handle);
    return { bus, seen, lines: () => output().trimEnd().split('\n').filter(Boolean) };
  }

  it('prints nothing for a stage without steps; the events themselves are all still emitted', () => {
    const { bus, seen, lines } = reporting();
    bus.emit({ type: 'stage.start', stage: 'install' });
    bus.emit({ type: 'log', level: 'debug', message: 'below the level: not a line of the stage' });
    bus.emit({ type: 'stage.end', stage: 'install', status: 'succeeded', durationMs: 0 });
    bus.emit({ type: 'stage.start', stage: 'preUpgrade' });
    bus.emit({ type: 'step.start', stage: 'preUpgrade', step: 'a' });
    bus.emit({ type: 'step.end', stage: 'preUpgrade', step: 'a', status: 'succeeded', durationMs: 5 });
    bus.emit({ type: 'stage.end', stage: 'preUpgrade', status: 'succeeded', durationMs: 6 });
    bus.emit({ type: 'stage.start', stage: 'businessCheck' });
    bus.emit({ type: 'log', level: 'warn', stage: 'businessCheck', message: 'no checks configured' });
    bus.emit({ type: 'stage.end', stage: 'businessCheck', status: 'succeeded', durationMs: 1 });
    bus.emit({ type: 'stage.start', stage: 'openTraffic' });
    bus.emit({
      type: 'stage.end',
      stage: 'openTraffic',
      status: 'failed',
      durationMs: 1,
      error: { message: 'lock lost' },
    });
    bus.emit({ type: 'stage.start', stage: 'postUpgrade' });
    bus.emit({ type: 'stage.end', stage: 'postUpgrade', status: 'succeeded', durationMs: 0 });
    expect(lines()).toEqual([
      '[preUpgrade] stage preUpgrade started',
      '[preUpgrade/a] step a started',
      '[preUpgrade/a] step a succeeded in 5ms',
      '[preUpgrade] stage preUpgrade succeeded in 6ms',
      // A stage with something to say says it under its started line.
      '[businessCheck] stage businessCheck started',
      '[businessCheck] warn: no checks configured',
      '[businessCheck] stage businessCheck succeeded in 1ms',
      // An empty stage that did not succeed is never silent.
      '[openTraffic] stage openTraffic started',
      '[openTraffic] stage openTraffic failed in 1ms: lock lost',
    ]);
    expect(seen.filter((e) => e.type === 'stage.start').map((e) => e.stage)).toEqual([
      'install',
      'preUpgrade',
      'businessCheck',
      'openTraffic',
      'postUpgrade',
    ]);
    expect(seen.filter((e) => e.type === 'stage.end')).toHaveLength(5);
  });

  it('an assessment prints one line while it runs; its findings and verdict are left to its report', async () => {
    const { bus, seen, lines } = reporting();
    const report = await assess(emptyPlan(), {
      local: { paths: [tmpdir()] },
      thresholds: { cpuIdlePercent: 0, memoryBytes: 1e18 }, // a memory failure: a verdict to hide
      cpuSampleMs: 10,
      events: bus,
    });
    expect(report.verdict).toBe('fail');
    expect(lines()).toEqual(['assessing resources, data quality, compatibility and duration…']);
    // Still emitted, for whoever listens: three section steps and the verdict.
    expect(
      seen
        .filter((e) => e.type === 'step.end')
        .map((e) => e.step)
        .sort(),
    ).toEqual(['assess.dataQuality', 'assess.duration', 'assess.resources']);
    const verdict = seen.find((e) => e.type === 'log' && e.fields?.kind === 'assessment.verdict');
    expect(verdict).toMatchObject({ level: 'error', fields: { verdict: 'fail' } });
    expect((verdict as { message: string }).message).toMatch(/^assessment fail: 1 failed, 0 warnings, /);
    // …and the report says it, in English.
    const text = renderAssessmentText(report);
    expect(text).toContain('Verdict: FAIL — 1 failed, 0 warnings');
    expect(text).toMatch(/^Resources \[FAIL\]$/m);
    expect(text).toMatch(/^Data quality \[PASS\]$/m);
    expect(text).toContain('Estimated duration: no tasks: nothing to estimate');
    expect(text).toMatch(
      /Free memory on local: [\d.]+ [KMGT]?i?B available of [\d.]+ GiB \(need ≥ 888 PiB\)/,
    );
    const markdown = renderAssessmentMarkdown(report);
    expect(markdown).toContain('### ❌ Resources\n');
    for (const out of [text, markdown]) expect(out).not.toMatch(/[\u4e00-\u9fff]/);
  });

  it('a failed assessment section is printed', () => {
    const { bus, lines } = reporting();
    bus.emit({ type: 'step.start', stage: 'resourceCheck', step: 'assess.resources' });
    bus.emit({
      type: 'step.end',
      stage: 'resourceCheck',
      step: 'assess.resources',
      status: 'failed',
      durationMs: 3,
      error: { message: 'probe crashed' },
    });
    expect(lines()).toEqual([
      'assessing resources, data quality, compatibility and duration…',
      '[resourceCheck/assess.resources] step assess.resources failed in 3ms: probe crashed',
    ]);
  });
});

describe('formatting helpers', () => {
  it('sizes in binary units, one convention everywhere', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(812_000)).toBe('793 KiB');
    expect(formatBytes(1.5 * 1024 ** 3)).toBe('1.5 GiB');
    expect(formatBytes(5e12)).toBe('4.55 TiB');
  });

  it('counts nouns in the right number', () => {
    expect(plural(0, 'warning')).toBe('0 warnings');
    expect(plural(1, 'warning')).toBe('1 warning');
    expect(plural(2, 'warning')).toBe('2 warnings');
    expect(plural(1, 'entry', 'entries')).toBe('1 entry');
    expect(plural(3, 'entry', 'entries')).toBe('3 entries');
  });

  it('names a database engine by what was configured', () => {
    expect(formatEngine('mariadb')).toBe('MariaDB');
    expect(formatEngine('mysql')).toBe('MySQL');
    expect(formatEngine('mysql2')).toBe('MySQL');
    expect(formatEngine('pg')).toBe('PostgreSQL');
    expect(formatEngine('postgres')).toBe('PostgreSQL');
    expect(formatEngine('better-sqlite3')).toBe('SQLite');
    expect(formatEngine('clickhouse')).toBe('ClickHouse');
    expect(formatEngine('oracle')).toBe('oracle');
  });
});

describe('ConsoleReporter on a TTY', () => {
  it('draws a live bar and leaves a final line', async () => {
    const { stream, output } = sink(true);
    const reporter = new ConsoleReporter({ stream, interactive: true, color: false });
    const bus = new EventBus();
    bus.on('*', reporter.handle);
    const progress = new ProgressTracker(bus, 'db.sql', { total: 2048, context: { step: 'dump' } });
    progress.update(1024);
    await new Promise((r) => setTimeout(r, 300)); // bars redraw on their own timer
    bus.emit({ type: 'log', level: 'warn', message: 'slow disk' });
    progress.update(2048);
    reporter.close();
    const text = output();
    expect(text).toMatch(/[█░]{10,}/); // the bar itself
    expect(text).toMatch(/\u001b\[/); // cursor movement: the bar is redrawn in place
    expect(text).toContain('warn: slow disk');
    expect(text).toMatch(/\[dump\] db\.sql 100% 2 KiB\/2 KiB/);
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
