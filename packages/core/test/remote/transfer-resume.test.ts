import { copyFileSync, existsSync, mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventBus, TransferManager } from '@upgradekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy, requireService, type SshdHost, startSshd } from '#test-support';
import { hostOptions, randomFile, record, sha256, tempDir } from './transfer-support.js';

const hasSshd = await requireService('sshd');
const MiB = 1 << 20;
const SIZE = 32 * MiB;

describe.runIf(hasSshd)('TransferManager: resume after the network cuts an upload', () => {
  let host: SshdHost;
  let proxy: FaultProxy;
  let others: FaultProxy[];
  let dir: string;
  let file: string;
  let knownHosts: string;
  beforeAll(async () => {
    host = await startSshd({ host: '127.0.0.4' });
    proxy = await FaultProxy.start({ host: host.host, port: host.port });
    others = await Promise.all(
      [1, 2, 3, 4].map(() => FaultProxy.start({ host: host.host, port: host.port })),
    );
    dir = tempDir('transfer-resume');
    file = randomFile(dir, 'package.tar', SIZE);
    knownHosts = join(dir, 'known_hosts');
    writeFileSync(
      knownHosts,
      [proxy, ...others].map((p) => `[127.0.0.1]:${p.port} ${host.hostPublicKey}\n`).join(''),
    );
  });
  afterAll(async () => {
    await proxy?.close();
    await Promise.all((others ?? []).map((p) => p.close()));
    await host?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const viaProxy = (through = proxy) =>
    hostOptions(host, {
      host: '127.0.0.1',
      port: through.port,
      reconnectDelayMs: 100,
      hostKeys: { policy: 'strict', knownHostsPath: knownHosts },
    });

  /** Cut the first connection that passes `offset` bytes; heal the network once something notices. */
  function cutOnceAt(offset: number, events: EventBus, through = proxy): void {
    Object.assign(through.stats, { connections: 0, cuts: 0, bytesUp: 0, bytesDown: 0 });
    through.set({ cutAfterBytes: offset });
    const heal = () => through.set({});
    events.on('retry', heal); // the cut attempt failed
    events.on('log', (e) => {
      if (/dropped; reconnecting/.test(e.message)) heal(); // the session saw its connection go
    });
  }

  it('SFTP: 10 cuts at random offsets — each upload reconnects, resumes from the verified prefix, verifies, and re-sends far less than the file', async () => {
    // Five trials at a time, each through its own proxy: the same faults, a fifth of the wall time.
    const trial = async (index: number, through: FaultProxy) => {
      const target = join(dir, `out-${index}`, 'package.tar');
      const cut = Math.round(SIZE * (0.15 + Math.random() * 0.7));
      const events = new EventBus();
      const seen = record(events);
      cutOnceAt(cut, events, through);
      const [result] = await new TransferManager({ events, method: 'sftp', retryDelayMs: 50 }).upload(
        file,
        target,
        [viaProxy(through)],
      );
      const context = `trial ${index}, cut at ${cut}: ${result?.error?.message ?? ''}`;
      expect(result?.status, context).toBe('uploaded');
      const resumedFrom = result?.files[0]?.resumedFrom ?? 0;
      // The verified prefix reaches close to the cut: at most the writes in flight plus a block are lost.
      expect(resumedFrom, context).toBeGreaterThan(cut - 8 * MiB);
      expect(resumedFrom, context).toBeLessThanOrEqual(cut);
      // What actually crossed the wire towards the host (counted by the proxy, not by us).
      expect(through.stats.bytesUp, context).toBeLessThan(SIZE * 1.3);
      expect(seen.text()).toMatch(/dropped; reconnecting/);
      expect(seen.text()).toMatch(/resuming at .* \(the verified prefix of the partial file\)/);
      expect(sha256(target), context).toBe(sha256(file));
      expect(existsSync(`${target}.upgradekit-part`)).toBe(false);
      rmSync(join(dir, `out-${index}`), { recursive: true, force: true });
      return { cut, resumedFrom, wire: through.stats.bytesUp };
    };
    const trials = [];
    const lanes = [proxy, ...others];
    for (let index = 0; index < 10; index += lanes.length) {
      trials.push(...(await Promise.all(lanes.map((lane, i) => trial(index + i, lane)))));
    }
    expect(trials).toHaveLength(10);
    // Over all trials, the bytes sent twice are a small fraction of what was moved.
    const resent = trials.reduce((sum, t) => sum + t.wire - SIZE, 0) / (SIZE * trials.length);
    expect(resent).toBeLessThan(0.15);
  }, 120_000);

  it('scp cut mid-file: the retry continues over SFTP from the verified prefix instead of re-sending everything', async () => {
    for (const fraction of [0.4 + Math.random() * 0.3]) {
      const target = join(dir, `scp-${fraction}`, 'package.tar');
      const events = new EventBus();
      const seen = record(events);
      cutOnceAt(Math.round(SIZE * fraction), events);
      const [result] = await new TransferManager({ events, retryDelayMs: 50 }).upload(file, target, [
        viaProxy(),
      ]);
      expect(result?.status, result?.error?.message).toBe('uploaded');
      expect(seen.retries[0]).toMatchObject({ reason: 'network', step: 'upload package.tar (scp)' });
      expect(result?.files[0]).toMatchObject({
        method: 'sftp',
        fallback: expect.stringMatching(
          /^scp was cut after .* had arrived intact; resuming from there over SFTP/,
        ),
      });
      expect(result?.files[0]?.resumedFrom).toBeGreaterThan(SIZE * fraction - 8 * MiB);
      expect(proxy.stats.bytesUp).toBeLessThan(SIZE * 1.3);
      expect(sha256(target)).toBe(sha256(file));
      rmSync(join(dir, `scp-${fraction}`), { recursive: true, force: true });
    }
  });

  it('keepalive holds the session through a proxy that drops connections idle for 600 ms', async () => {
    // The host already has an old, 4 GiB (sparse) version: hashing it there takes seconds with
    // nothing on the wire but what the session sends to stay alive.
    const oldVersion = () => {
      rmSync(target, { force: true });
      writeFileSync(target, 'old');
      truncateSync(target, 4 * 1024 * MiB);
    };
    const idle = await FaultProxy.start({ host: host.host, port: host.port }, { idleTimeoutMs: 600 });
    const idleKnownHosts = join(dir, 'idle_known_hosts');
    writeFileSync(idleKnownHosts, `[127.0.0.1]:${idle.port} ${host.hostPublicKey}\n`);
    const target = join(dir, 'idle', 'package.tar');
    const through = (keepaliveIntervalMs: number) =>
      hostOptions(host, {
        host: '127.0.0.1',
        port: idle.port,
        keepaliveIntervalMs,
        reconnects: 0,
        hostKeys: { policy: 'strict', knownHostsPath: idleKnownHosts },
      });
    try {
      mkdirSync(join(dir, 'idle'), { recursive: true });

      // Control: with the role's 30 s heartbeat the proxy cuts the session during the remote hash.
      oldVersion();
      const control = new EventBus();
      const controlSeen = record(control);
      await new TransferManager({ events: control, method: 'sftp', attempts: 1 }).upload(file, target, [
        through(30_000),
      ]);
      // (The proxy's `cuts` also counts orderly closes; the session's own drop report is the signal.)
      expect(controlSeen.text()).toMatch(/SSH connection to .* dropped/);

      // With a 150 ms heartbeat the same upload is never cut.
      oldVersion();
      const events = new EventBus();
      const seen = record(events);
      const [result] = await new TransferManager({ events, method: 'sftp' }).upload(file, target, [
        through(150),
      ]);
      expect(result?.status, result?.error?.message).toBe('uploaded');
      expect(seen.text()).not.toMatch(/dropped/);
      expect(seen.retries).toEqual([]);
      expect(sha256(target)).toBe(sha256(file));
    } finally {
      await idle.close();
      rmSync(join(dir, 'idle'), { recursive: true, force: true });
    }
  });

  it('a partial file that differs from the local one is not trusted: the upload starts over', async () => {
    const target = join(dir, 'stale', 'package.tar');
    randomFile(join(dir), 'other.bin', 8 * MiB);
    mkdirSync(join(dir, 'stale'), { recursive: true });
    copyFileSync(join(dir, 'other.bin'), `${target}.upgradekit-part`); // a crash left someone else's bytes
    Object.assign(proxy.stats, { bytesUp: 0 });
    proxy.set({});
    const [result] = await new TransferManager({ method: 'sftp' }).upload(file, target, [viaProxy()]);
    expect(result?.status).toBe('uploaded');
    expect(result?.files[0]?.resumedFrom).toBeUndefined();
    expect(result?.files[0]?.bytesSent).toBe(SIZE);
    expect(sha256(target)).toBe(sha256(file));
  });
});
