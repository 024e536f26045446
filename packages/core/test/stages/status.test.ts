// `upgrade.status()` and `dryRun()` read the site lock the way the next run will (SiteLock.assess):
// a holder proven dead or silent past its TTL is an interrupted run, reported now with its steps in
// doubt or resuming by themselves; a live holder is RUNNING. Who "this process" is and what /proc
// says are injected here, so every verdict is exact; the real SIGKILL is in packages/cli/test.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUpgrade, type ProcProbe, StateStore, type StatusReport } from '@upgradekit/core';
import { describe, expect, it } from 'vitest';
import { BOOT, NS, SELF } from '#test-support';

const self = SELF;
const HOLDER = { host: 'runner-a', pid: 4242, bootId: BOOT, pidNamespace: NS, startTime: 7_000 };

/** A /proc with the given processes: pid → [state, start time]. */
const proc =
  (table: Record<number, readonly [string, number]>): ProcProbe =>
  (pid) => {
    const entry = table[pid];
    return entry ? { pid, state: entry[0], startTime: entry[1] } : undefined;
  };
const running = proc({ 4242: ['S', 7_000] });
const gone = proc({});

/**
 * What a run leaves while it holds the site: its lock row (heartbeat `silentMs` ago), its run row,
 * and one step recorded as running. `idempotent` decides what a dead run's step becomes.
 */
async function heldBy(options: {
  readonly holder?: Partial<typeof HOLDER>;
  readonly silentMs: number;
  readonly ttlMs?: number;
  readonly probe: ProcProbe;
  readonly idempotent?: boolean;
}) {
  const dir = mkdtempSync(join(tmpdir(), 'uk-status-'));
  const state = { filename: join(dir, 'state.sqlite') };
  const holder = { ...HOLDER, ...options.holder };
  const store = await StateStore.open(state);
  const now = Date.now();
  await store.knex('upgradekit_locks').insert({
    component: 'c',
    site: 's',
    run_id: 'run-1',
    host: holder.host,
    pid: holder.pid,
    ttl_ms: options.ttlMs ?? 60_000,
    boot_id: holder.bootId,
    pid_ns: holder.pidNamespace,
    pid_start: holder.startTime,
    acquired_at: now - options.silentMs - 1_000,
    heartbeat_at: now - options.silentMs,
  });
  await store.startRun({
    runId: 'run-1',
    component: 'c',
    site: 's',
    versionFrom: '1.0.0',
    versionTo: '1.1.0',
    ...holder,
    startedAt: now - options.silentMs - 1_000,
  });
  await store.beginStep({
    component: 'c',
    site: 's',
    host: '',
    taskVersion: '1.1.0',
    taskId: 'migrate',
    runId: 'run-1',
    taskName: 'migrate',
    stage: 'preStart',
    versionFrom: '1.0.0',
    versionTo: '1.1.0',
    attempt: 1,
    startedAt: now - options.silentMs,
  });
  await store.close();
  const upgrade = createUpgrade({
    component: 'c',
    from: '1.0.0',
    to: '1.1.0',
    site: 's',
    state,
    lock: { identity: self, probe: options.probe },
  });
  upgrade.step('preStart', {
    id: 'migrate',
    ...(options.idempotent ? { idempotent: true } : {}),
    run: () => {},
  });
  return upgrade;
}

/** What `status()` reports while the lock is held as {@link heldBy} sets it up (the upgrade closed after). */
async function statusHeldBy(options: Parameters<typeof heldBy>[0]) {
  const upgrade = await heldBy(options);
  try {
    return await upgrade.status();
  } finally {
    await upgrade.close();
  }
}

const row = (report: StatusReport) => report.steps[0]!;

describe('status reads the lock as the next run will', () => {
  it('a live holder: RUNNING, no interrupted run, takeover only when its heartbeat stops', async () => {
    const upgrade = await heldBy({ silentMs: 1_000, probe: running });
    const report = await upgrade.status();
    expect(report.interrupted).toBeUndefined();
    expect(report.counts).toMatchObject({ running: 1, inDoubt: 0, interrupted: 0 });
    expect(row(report)).toMatchObject({ status: 'running', next: { needsOperator: false } });
    expect(report.lock).toMatchObject({
      runId: 'run-1',
      pid: 4242,
      stale: false,
      liveness: { state: 'alive' },
      takeover: expect.stringMatching(
        /^taken over only if its heartbeat stops, at \S+ \(in \d+ s: .*\) at the earliest$/,
      ),
    });
    expect(report.lock!.takeoverAt).toBe(report.lock!.heartbeatAt + 60_000);
    expect((await upgrade.dryRun({ stages: ['preStart'] }))[0]).toMatchObject({ action: 'run' });
    await upgrade.close();
  });

  it('a holder whose pid is gone: interrupted now, its process named dead, its step in doubt', async () => {
    const upgrade = await heldBy({ silentMs: 1_000, probe: gone });
    const report = await upgrade.status();
    expect(report.interrupted).toEqual({
      runId: 'run-1',
      host: 'runner-a',
      pid: 4242,
      liveness: 'dead',
      why: 'its process is dead: no process has pid 4242 on this machine any more',
    });
    expect(report.lock).toMatchObject({
      stale: true,
      liveness: { state: 'dead' },
      takeover: 'the next run takes the lock over at once',
    });
    expect(report.counts).toMatchObject({ running: 0, inDoubt: 1, interrupted: 0 });
    expect(row(report)).toMatchObject({
      status: 'in_doubt',
      next: {
        action: 'blocked',
        needsOperator: true,
        reason: /^interrupted in run run-1 and may or may not/,
      },
    });
    expect((await upgrade.dryRun({ stages: ['preStart'] }))[0]).toMatchObject({ action: 'blocked' });
    await upgrade.close();
  });

  it('a zombie holder (killed, not yet reaped) is dead too', async () => {
    const report = await statusHeldBy({ silentMs: 1_000, probe: proc({ 4242: ['Z', 7_000] }) });
    expect(report.interrupted?.why).toMatch(/^its process is dead: .*zombie not yet reaped/);
  });

  it('an idempotent step of a dead run is interrupted, not in doubt: the next run resumes it by itself', async () => {
    const report = await statusHeldBy({ silentMs: 1_000, probe: gone, idempotent: true });
    expect(report.interrupted?.liveness).toBe('dead');
    expect(report.counts).toMatchObject({ inDoubt: 0, interrupted: 1 });
    expect(row(report)).toMatchObject({
      status: 'interrupted',
      next: {
        action: 'run',
        needsOperator: false,
        reason: 'interrupted in run run-1; idempotent; runs again',
      },
    });
  });

  it('a holder that cannot be checked (another PID namespace), heartbeat within its TTL: RUNNING, takeover time given', async () => {
    const report = await statusHeldBy({
      holder: { pidNamespace: 'pid:[4026599999]' },
      silentMs: 1_000,
      probe: gone,
    });
    expect(report.interrupted).toBeUndefined();
    expect(row(report).status).toBe('running');
    expect(report.lock).toMatchObject({
      stale: false,
      liveness: { state: 'unknown', reason: /another PID namespace/ },
      takeover: expect.stringMatching(/^taken over if its heartbeat stops, at \S+ \(in \d+ s/),
    });
  });

  it('a holder that cannot be checked, heartbeat past its TTL: interrupted, "heartbeat silent past its TTL"', async () => {
    const report = await statusHeldBy({
      holder: { bootId: 'f00dfeed-0000-4000-8000-000000000000' },
      silentMs: 90_000,
      probe: running,
    });
    expect(report.interrupted).toMatchObject({ runId: 'run-1', liveness: 'unknown' });
    expect(report.interrupted!.why).toMatch(
      /^heartbeat silent past its TTL: last heartbeat 9\d s ago, TTL 60 s \(whether its process is alive cannot be checked: it ran under another kernel boot/,
    );
    expect(report.lock).toMatchObject({
      stale: true,
      takeover: expect.stringMatching(
        /^its heartbeat is past its TTL \(.*\): the next run takes the lock over at once$/,
      ),
    });
    expect(report.counts).toMatchObject({ running: 0, inDoubt: 1 });
  });

  it('a live process whose heartbeat stopped past its TTL: interrupted, and said to have stopped beating', async () => {
    const report = await statusHeldBy({ silentMs: 5_000, ttlMs: 2_000, probe: running, idempotent: true });
    expect(report.interrupted!.why).toMatch(
      /^heartbeat silent past its TTL: .* \(its process is still there but stopped beating\)$/,
    );
    expect(report.counts).toMatchObject({ running: 0, interrupted: 1 });
  });

  it('after resolve took the dead run’s lock over and released it, its run still reads interrupted', async () => {
    const upgrade = await heldBy({ silentMs: 1_000, probe: gone });
    await upgrade.resolve('migrate', 'retry');
    const report = await upgrade.status();
    expect(report.lock).toBeUndefined();
    expect(report.lastRun).toMatchObject({ runId: 'run-1', status: 'running' });
    expect(report.interrupted).toMatchObject({ runId: 'run-1', liveness: 'dead' });
    expect(report.counts).toMatchObject({ inDoubt: 0, pending: 1 });
    await upgrade.close();
  });
});
