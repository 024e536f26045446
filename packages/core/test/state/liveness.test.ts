import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  isUpgradeKitError,
  type ProcessIdentity,
  type ProcProbe,
  SiteLock,
  StateStore,
  type UpgradeKitError,
} from '@upgradekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOOT, NS, SELF } from '#test-support';
import {
  holderIdentity,
  holderLiveness,
  parseProcStat,
  procProbe,
  provablyDead,
} from '../../src/state/liveness.js';
import { type PlantedHolder, plantLock, warnings } from './fixtures/backends.js';

const HOLDER = fileURLToPath(new URL('./fixtures/lock-holder.ts', import.meta.url));
const COMPONENT = 'app';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const onLinux = process.platform === 'linux';
/** Whether this machine lets us make a PID namespace (root, or unprivileged user namespaces). */
const canUnshare =
  onLinux &&
  spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { stdio: 'ignore' }).status === 0;

const self = SELF;
const holder = (over: Partial<ProcessIdentity>): ProcessIdentity => ({
  host: 'runner-a',
  pid: 4242,
  bootId: BOOT,
  pidNamespace: NS,
  startTime: 7_000,
  ...over,
});
/** A /proc with the given processes: pid → [state, start time]; 'EACCES' when reading fails. */
const proc =
  (table: Record<number, readonly [string, number] | 'EACCES'>): ProcProbe =>
  (pid) => {
    const entry = table[pid];
    if (entry === 'EACCES') throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    return entry ? { pid, state: entry[0], startTime: entry[1] } : undefined;
  };

describe('holderLiveness / provablyDead (pure)', () => {
  const running = proc({ 4242: ['S', 7_000] });
  it.each([
    // [name, holder, /proc, state, reason]
    ['same boot, same namespace, pid gone', holder({}), proc({}), 'dead', /no process has pid 4242/],
    [
      'pid reused by another process',
      holder({}),
      proc({ 4242: ['S', 9_999] }),
      'dead',
      /now another process/,
    ],
    ['zombie (killed, not reaped)', holder({}), proc({ 4242: ['Z', 7_000] }), 'dead', /zombie/],
    ['dead, not reaped (X)', holder({}), proc({ 4242: ['X', 7_000] }), 'dead', /dead not yet reaped/],
    ['running, same start time', holder({}), running, 'alive', /is running/],
    ['running, disk sleep (D)', holder({}), proc({ 4242: ['D', 7_000] }), 'alive', /is running/],
    ['stopped (T) is alive', holder({}), proc({ 4242: ['T', 7_000] }), 'alive', /is running/],
    [
      'another boot id, pid gone',
      holder({ bootId: 'other-boot' }),
      proc({}),
      'unknown',
      /another kernel boot/,
    ],
    [
      'another PID namespace, pid gone',
      holder({ pidNamespace: 'pid:[4026532999]' }),
      proc({}),
      'unknown',
      /another PID namespace/,
    ],
    [
      'another namespace, same pid reused',
      holder({ pidNamespace: 'pid:[1]' }),
      proc({ 4242: ['Z', 1] }),
      'unknown',
      /another PID namespace/,
    ],
    [
      'same hostname is no proof: another boot',
      holder({ bootId: 'b2' }),
      proc({ 4242: ['Z', 7_000] }),
      'unknown',
      /another kernel boot/,
    ],
    [
      'another hostname, same boot and namespace',
      holder({ host: 'renamed' }),
      proc({}),
      'dead',
      /no process/,
    ],
    [
      'no boot id recorded (older holder)',
      holder({ bootId: undefined }),
      proc({}),
      'unknown',
      /not recorded/,
    ],
    ['no namespace recorded', holder({ pidNamespace: undefined }), proc({}), 'unknown', /not recorded/],
    ['no start time recorded', holder({ startTime: undefined }), proc({}), 'unknown', /not recorded/],
    ['/proc unreadable', holder({}), proc({ 4242: 'EACCES' }), 'unknown', /could not be read: EACCES/],
  ] as const)('%s → %s', (_name, h, probe, state, reason) => {
    const verdict = holderLiveness(h, self, probe);
    expect(verdict.state).toBe(state);
    expect(verdict.reason).toMatch(reason);
    expect(provablyDead(h, self, probe)).toBe(state === 'dead');
  });

  it('we cannot prove anything when our own identity is unreadable', () => {
    const blind = { host: 'runner-a', pid: 100 };
    expect(holderLiveness(holder({}), blind, proc({})).state).toBe('unknown');
  });

  it('parses /proc/<pid>/stat after the last ")" (comm may hold spaces and parentheses)', () => {
    const line = '4242 (a (b) c) d) Z 1 4242 4242 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 609834 3133440 382';
    expect(parseProcStat(line)).toEqual({ pid: 4242, state: 'Z', startTime: 609834 });
    expect(() => parseProcStat('garbage')).toThrow(/unreadable/);
  });
});

describe.runIf(onLinux)('holderIdentity and the real /proc', () => {
  it('reads boot id, PID namespace and start time of this process', () => {
    const me = holderIdentity();
    expect(me).toMatchObject({ host: hostname(), pid: process.pid });
    expect(me.bootId).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    expect(me.pidNamespace).toMatch(/^pid:\[\d+\]$/);
    expect(me.startTime).toBe(procProbe(process.pid)!.startTime);
    expect(holderLiveness(me, me, procProbe).state).toBe('alive');
  });
});

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

describe.runIf(onLinux)('SiteLock with real holders (SQLite)', () => {
  let dir: string;
  let store: StateStore;
  const children: ChildProcess[] = [];
  const held: SiteLock[] = [];
  const options = () => ({ filename: join(dir, 'state.sqlite') });
  const plant = (site: string, h: PlantedHolder) => plantLock(store, COMPONENT, site, h);
  const locked = async (site: string, runId: string): Promise<UpgradeKitError> => {
    const error = await SiteLock.acquire(store, { component: COMPONENT, site, runId }).catch(
      (e: unknown) => e,
    );
    expect(isUpgradeKitError(error, 'UPGRADEKIT_LOCKED'), String(error)).toBe(true);
    return error as UpgradeKitError;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'uk-liveness-'));
    store = await StateStore.open(options());
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(children.map(exited));
    await Promise.all(held.map((l) => l.release().catch(() => {})));
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a holder killed with SIGKILL and not yet reaped (a zombie) is dead: taken over at once', async () => {
    // `sh` forks `sleep 100` and then becomes `sleep 30`, which never reaps it: killed, it stays a zombie.
    const parent = spawn('sh', ['-c', 'sleep 100 & echo $!; exec sleep 30'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    children.push(parent);
    const line = await new Promise<string>((resolve) =>
      createInterface({ input: parent.stdout! }).once('line', resolve),
    );
    const pid = Number(line);
    const before = procProbe(pid)!;
    expect(before.state).not.toBe('Z');
    const me = holderIdentity();
    await plant('zombie', {
      ...me,
      pid,
      startTime: before.startTime,
      runId: 'run-zombie',
      heartbeatAt: Date.now(),
      ttlMs: 60_000,
    });
    // Alive first: not taken over.
    expect((await locked('zombie', 'run-early')).message).toMatch(/Its process is alive/);
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && procProbe(pid)?.state !== 'Z'; i++) await sleep(10);
    expect(procProbe(pid), 'the killed holder is a zombie').toMatchObject({
      state: 'Z',
      startTime: before.startTime,
    });
    const { events, logs } = warnings();
    held.push(
      await SiteLock.acquire(store, { component: COMPONENT, site: 'zombie', runId: 'run-next', events }),
    );
    expect((await SiteLock.holder(store, COMPONENT, 'zombie'))?.runId).toBe('run-next');
    expect(logs[0]!.message).toMatch(/took over .*run run-zombie.*its process is dead: .*zombie/);
  });

  it('a pid now used by another process (other start time) is dead', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(sleeper);
    const me = holderIdentity();
    const real = procProbe(sleeper.pid!)!;
    await plant('reused', {
      ...me,
      pid: sleeper.pid!,
      startTime: real.startTime - 1,
      runId: 'run-gone',
      heartbeatAt: Date.now(),
      ttlMs: 60_000,
    });
    const { events, logs } = warnings();
    held.push(
      await SiteLock.acquire(store, { component: COMPONENT, site: 'reused', runId: 'run-after', events }),
    );
    expect(logs[0]!.message).toMatch(/its process is dead: pid \d+ is now another process/);
  });

  it('a holder on another boot id (another machine, or before a reboot): only the TTL decides', async () => {
    const me = holderIdentity();
    // Same hostname and a pid that is gone here: still no proof.
    const gone = spawn('true', [], { stdio: 'ignore' });
    await exited(gone);
    await plant('other-boot', {
      ...me,
      pid: gone.pid!,
      bootId: 'ffffffff-0000-0000-0000-000000000000',
      runId: 'run-far',
      heartbeatAt: Date.now(),
      ttlMs: 1_500,
    });
    const error = await locked('other-boot', 'run-near');
    expect(error.message).toContain(`run run-far on ${hostname()} (pid ${gone.pid})`);
    expect(error.message).toMatch(/cannot be proven from here: it ran under another kernel boot/);
    expect(error.message).toMatch(/taken over at \S+Z \(in [12] s: last heartbeat \+ TTL 2 s\)/);
    expect(error.context).toMatchObject({ liveness: { state: 'unknown' } });
    await sleep(1_600);
    const { events, logs } = warnings();
    held.push(
      await SiteLock.acquire(store, { component: COMPONENT, site: 'other-boot', runId: 'run-near', events }),
    );
    expect(logs[0]!.message).toMatch(
      /silent for \d+ ms, TTL 1500 ms; its process cannot be checked: it ran under another kernel boot/,
    );
  });

  it('a live holder in another PID namespace (injected identity: another namespace inode) is not taken over before its TTL', async () => {
    const me = holderIdentity();
    await plant('other-ns-injected', {
      ...me,
      pid: 1,
      pidNamespace: 'pid:[4026599999]',
      runId: 'run-container',
      heartbeatAt: Date.now(),
      ttlMs: 1_000,
    });
    expect((await locked('other-ns-injected', 'run-host')).message).toMatch(
      /cannot be proven from here: it runs in another PID namespace/,
    );
    await sleep(1_100);
    held.push(
      await SiteLock.acquire(store, { component: COMPONENT, site: 'other-ns-injected', runId: 'run-host' }),
    );
  });

  it.runIf(canUnshare)(
    'a live holder in another PID namespace (real: unshare --pid --fork --mount-proc) keeps its lock until its heartbeat stops for a TTL',
    async () => {
      const ttlMs = 1_500;
      const spec = { state: options(), component: COMPONENT, site: 'other-ns', runId: 'run-inside', ttlMs };
      const inner = spawn(
        'unshare',
        [
          '--pid',
          '--fork',
          '--mount-proc',
          '--kill-child',
          process.execPath,
          '--import',
          'tsx',
          HOLDER,
          JSON.stringify(spec),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(inner);
      let stderr = '';
      inner.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const line = await Promise.race([
        new Promise<string>((resolve) =>
          createInterface({ input: inner.stdout! }).on('line', (l) => l.startsWith('{') && resolve(l)),
        ),
        exited(inner).then(() => {
          throw new Error(`the holder in the namespace exited:\n${stderr}`);
        }),
      ]);
      const inside = JSON.parse(line) as { held: boolean } & ProcessIdentity;
      expect(inside.held, line).toBe(true);
      const me = holderIdentity();
      expect(inside.bootId).toBe(me.bootId);
      expect(inside.pidNamespace).not.toBe(me.pidNamespace);
      expect(inside.pid).toBe(1); // the first process of its namespace: pid 1, like a container's

      // Held well past one TTL while it beats: every attempt is refused, saying why.
      for (let i = 0; i < 3; i++) {
        const error = await locked('other-ns', 'run-outside');
        expect(error.message).toContain('run run-inside');
        expect(error.message).toMatch(/cannot be proven from here: it runs in another PID namespace/);
        expect(error.message).toMatch(/if it stops, the lock is taken over at \S+Z \(in [12] s/);
        await sleep(ttlMs / 2);
      }
      // It dies (SIGKILL to unshare kills the namespace's pid 1): no proof from here, so the TTL decides.
      const killedAt = Date.now();
      inner.kill('SIGKILL');
      await exited(inner);
      const last = (await SiteLock.holder(store, COMPONENT, 'other-ns'))!;
      expect((await locked('other-ns', 'run-outside')).message).toMatch(/another PID namespace/);
      while (Date.now() <= last.heartbeatAt + ttlMs) await sleep(50);
      const { events, logs } = warnings();
      held.push(
        await SiteLock.acquire(store, {
          component: COMPONENT,
          site: 'other-ns',
          runId: 'run-outside',
          events,
        }),
      );
      expect(Date.now() - killedAt).toBeLessThanOrEqual(ttlMs + 500);
      expect(logs[0]!.message).toMatch(
        /took over .*run run-inside.*silent for \d+ ms, TTL 1500 ms; its process cannot be checked: it runs in another PID namespace/,
      );
    },
    20_000,
  );

  it('a run records its process identity', async () => {
    await store.startRun({
      runId: 'r-id',
      component: COMPONENT,
      site: 's',
      versionFrom: '1',
      versionTo: '2',
      host: hostname(),
      pid: process.pid,
      startedAt: 1,
    });
    const me = holderIdentity();
    expect((await store.runs(COMPONENT, 's'))[0]).toMatchObject({
      bootId: me.bootId,
      pidNamespace: me.pidNamespace,
      startTime: me.startTime,
    });
  });
});
