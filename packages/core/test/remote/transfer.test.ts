import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { EventBus, isUpgradeKitError, TransferManager } from '@upgradekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientKey, FaultProxy, requireService, type SshdHost, startSshdHosts } from '#test-support';
import { hostOptions, noPartials, randomFile, record, sha256, tempDir } from './transfer-support.js';

const hasSshd = await requireService('sshd');
const MiB = 1 << 20;

describe.runIf(hasSshd)('TransferManager against real sshd hosts', () => {
  let hosts: SshdHost[];
  let local: string;
  let remote: string;
  const proxies: FaultProxy[] = [];
  beforeAll(async () => {
    hosts = await startSshdHosts(3);
    local = tempDir('transfer-local');
    remote = tempDir('transfer-remote'); // the "remote" hosts are this machine: their files are here
  });
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await Promise.all((hosts ?? []).map((h) => h.stop()));
    rmSync(local, { recursive: true, force: true });
    rmSync(remote, { recursive: true, force: true });
  });

  /** A separate remote directory per host, so three "hosts" on one machine do not share files. */
  function remoteFor(host: SshdHost, ...parts: string[]): string {
    return join(remote, host.host, ...parts);
  }

  it('uploads by system scp to several hosts, verified and renamed into place, then skips unchanged files', async () => {
    const file = randomFile(local, 'app-2.16.7.tar', 3 * MiB + 123);
    const events = new EventBus();
    const seen = record(events);
    const manager = new TransferManager({ events, concurrency: 2, retryDelayMs: 50 });
    // Each host writes into its own directory: the same absolute path per host would collide here.
    const results = await Promise.all(
      hosts.map((h) => manager.upload(file, remoteFor(h, 'pkg', 'app.tar'), [hostOptions(h)])),
    );
    for (const [i, [result]] of results.entries()) {
      const h = hosts[i] as SshdHost;
      expect(result).toMatchObject({ host: h.host, status: 'uploaded', bytes: 3 * MiB + 123 });
      expect(result?.files[0]).toMatchObject({ status: 'uploaded', method: 'scp', bytesSent: 3 * MiB + 123 });
      expect(result?.files[0]?.fallback).toBeUndefined();
      expect(sha256(remoteFor(h, 'pkg', 'app.tar'))).toBe(sha256(file));
      expect(noPartials(remoteFor(h, 'pkg', 'app.tar'))).toBe(true);
    }
    const done = seen.progress.filter((p) => p.percent === 100);
    expect(new Set(done.map((p) => p.host))).toEqual(new Set(hosts.map((h) => h.host)));
    expect(done[0]).toMatchObject({ label: 'app.tar', total: 3 * MiB + 123, unit: 'bytes' });
    expect(seen.text()).toMatch(/by scp/);
    expect(seen.text()).toMatch(/1 file verified \(sha256\) and in place/);

    const again = await manager.upload(file, remoteFor(hosts[0] as SshdHost, 'pkg', 'app.tar'), [
      hostOptions(hosts[0] as SshdHost),
    ]);
    expect(again[0]).toMatchObject({ status: 'skipped', bytesSent: 0 });
    expect(again[0]?.files[0]).toMatchObject({ status: 'skipped', sha256: sha256(file) });
  });

  it('many hosts with one call: one result per host, in order, with bounded concurrency', async () => {
    const file = randomFile(local, 'shared.bin', 2 * MiB);
    const target = join(remote, 'shared', 'shared.bin');
    const events = new EventBus();
    const spans = new Map<string, [number, number]>();
    events.on('*', (e) => {
      if (!e.host) return;
      const span = spans.get(e.host);
      spans.set(e.host, [span?.[0] ?? performance.now(), performance.now()]);
    });
    // Three "hosts" on one machine share the path: the temp name + rename keeps it whole anyway.
    const results = await new TransferManager({ events, concurrency: 2, method: 'sftp' }).upload(
      file,
      target,
      hosts.map((h) => hostOptions(h)),
    );
    expect(results.map((r) => r.host)).toEqual(hosts.map((h) => h.host));
    expect(results.every((r) => r.status === 'uploaded' || r.status === 'skipped')).toBe(true);
    // No moment when more than two hosts were being served.
    const edges = [...spans.values()].flat();
    const peak = Math.max(
      ...edges.map((t) => [...spans.values()].filter(([from, to]) => from <= t && t <= to).length),
    );
    expect(spans.size).toBe(3);
    expect(peak).toBe(2);
    expect(sha256(target)).toBe(sha256(file));
  });

  it('uses SFTP when scp is not on PATH, and says why', async () => {
    const file = randomFile(local, 'no-scp.bin', 2 * MiB);
    const events = new EventBus();
    const seen = record(events);
    const path = process.env.PATH;
    process.env.PATH = tempDir('empty-path');
    try {
      const [result] = await new TransferManager({ events }).upload(
        file,
        remoteFor(hosts[1] as SshdHost, 'no-scp.bin'),
        [hostOptions(hosts[1] as SshdHost)],
      );
      expect(result?.status).toBe('uploaded');
      expect(result?.files[0]).toMatchObject({
        method: 'sftp',
        fallback: expect.stringMatching(/no scp binary/),
      });
    } finally {
      process.env.PATH = path;
    }
    expect(sha256(remoteFor(hosts[1] as SshdHost, 'no-scp.bin'))).toBe(sha256(file));
    expect(
      seen.logs.some(
        (l) => l.level === 'warn' && /using SFTP — no scp binary \(scp is not on PATH\)/.test(l.message),
      ),
    ).toBe(true);
  });

  it('falls back to SFTP after scp fails 3 times on the network, logging the reason', async () => {
    const host = hosts[2] as SshdHost;
    const file = randomFile(local, 'fallback.bin', 4 * MiB);
    // Every new connection is cut after 256 KiB: scp's own connections die; the session's small
    // commands fit. When the manager falls back, the network heals, as a flaky scp path would.
    const proxy = await FaultProxy.start({ host: host.host, port: host.port }, { cutAfterBytes: 256 * 1024 });
    proxies.push(proxy);
    const knownHosts = join(host.dir, 'proxy_known_hosts');
    writeFileSync(knownHosts, `[127.0.0.1]:${proxy.port} ${host.hostPublicKey}\n`);
    const events = new EventBus();
    const seen = record(events);
    events.on('log', (e) => {
      if (/falling back from scp to SFTP/.test(e.message)) proxy.set({});
    });
    const [result] = await new TransferManager({ events, retryDelayMs: 50 }).upload(
      file,
      remoteFor(host, 'fallback.bin'),
      [
        hostOptions(host, {
          host: '127.0.0.1',
          port: proxy.port,
          hostKeys: { policy: 'strict', knownHostsPath: knownHosts },
        }),
      ],
    );
    expect(result?.status, result?.error?.message).toBe('uploaded');
    expect(result?.files[0]).toMatchObject({
      method: 'sftp',
      fallback: expect.stringMatching(/^scp failed 3 times \(network\)/),
    });
    const scpRetries = seen.retries.filter((r) => r.step?.endsWith('(scp)'));
    expect(scpRetries.map((r) => [r.attempt, r.reason])).toEqual([
      [1, 'network'],
      [2, 'network'],
      [3, 'network'],
    ]);
    expect(
      seen.logs.some(
        (l) =>
          l.level === 'warn' &&
          /falling back from scp to SFTP — scp failed 3 times \(network\)/.test(l.message),
      ),
    ).toBe(true);
    expect(sha256(remoteFor(host, 'fallback.bin'))).toBe(sha256(file));
    expect(proxy.stats.cuts).toBeGreaterThanOrEqual(3);
  });

  it('an authentication failure is neither retried nor fallen back — at the session or in scp', async () => {
    const host = hosts[0] as SshdHost;
    const stranger = await createClientKey();
    const file = randomFile(local, 'auth.bin', 2 * MiB);
    const events = new EventBus();
    const seen = record(events);
    // A retry would wait 5-10 s first; the whole test stays far below that.
    const manager = new TransferManager({ events, retryDelayMs: 10_000 });
    const started = performance.now();
    const [session] = await manager.upload(file, remoteFor(host, 'auth.bin'), [
      hostOptions(host, { privateKeyPath: stranger.privateKeyPath }),
    ]);
    expect(session?.status).toBe('failed');
    expect(session?.error?.context).toMatchObject({ reason: 'auth' });
    expect(session?.error?.message).toMatch(/not retried/);

    // The session logs in with the right key (given as a buffer); scp gets only the stranger's key file.
    const [scp] = await manager.upload(file, remoteFor(host, 'auth.bin'), [
      hostOptions(host, {
        privateKey: readFileSync(host.client.privateKeyPath),
        privateKeyPath: stranger.privateKeyPath,
      }),
    ]);
    expect(performance.now() - started).toBeLessThan(5000); // no backoff anywhere
    expect(scp?.status).toBe('failed');
    expect(scp?.error).toMatchObject({
      code: 'UPGRADEKIT_TRANSFER',
      context: { method: 'scp', reason: 'auth', attempts: 1 },
    });
    expect(seen.retries.filter((r) => r.decision === 'retry')).toEqual([]);
    expect(seen.text()).not.toMatch(/falling back/);
    expect(existsSync(remoteFor(host, 'auth.bin'))).toBe(false);
    rmSync(stranger.privateKeyPath, { force: true });
  });

  it('refuses a host whose key does not match known_hosts, and sends nothing', async () => {
    const [a, b] = hosts as [SshdHost, SshdHost];
    const forged = join(a.dir, 'forged_known_hosts');
    writeFileSync(forged, `[${a.host}]:${a.port} ${b.hostPublicKey}\n`);
    const file = randomFile(local, 'mitm.bin', 2 * MiB);
    const [result] = await new TransferManager().upload(file, remoteFor(a, 'mitm.bin'), [
      hostOptions(a, { hostKeys: { policy: 'accept-new', knownHostsPath: forged } }),
    ]);
    expect(result?.status).toBe('failed');
    expect(isUpgradeKitError(result?.error, 'UPGRADEKIT_HOST_KEY')).toBe(true);
    expect(result?.error?.message).toMatch(/does not match/);
    expect(existsSync(remoteFor(a, 'mitm.bin'))).toBe(false);
  });

  it('a permission error fails at once with a clear message', async () => {
    const file = randomFile(local, 'perm.bin', 64 * 1024);
    const events = new EventBus();
    const seen = record(events);
    // The tests run as root, for whom file modes mean nothing; sysfs refuses even root.
    const [result] = await new TransferManager({ events, retryDelayMs: 2000 }).upload(
      file,
      '/sys/upgradekit-test/perm.bin',
      [hostOptions(hosts[0] as SshdHost)],
    );
    expect(result?.status).toBe('failed');
    expect(result?.error?.context).toMatchObject({ reason: 'permission' });
    expect(result?.error?.message).toMatch(
      /cannot create \/sys\/upgradekit-test.*not permitted.*cannot write there/,
    );
    expect(seen.retries.filter((r) => r.decision === 'retry')).toEqual([]);
    expect(seen.retries.map((r) => [r.reason, r.decision])).toEqual([['permission', 'fail-now']]);
  });

  it('a full disk fails before a byte is sent, with the numbers, and is not retried', async (context) => {
    const mount = tempDir('tiny-fs');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mount], { stdio: 'ignore' });
    } catch {
      rmSync(mount, { recursive: true, force: true });
      context.skip('cannot mount a tmpfs here (needs root); the disk-full path is untested on this machine');
    }
    try {
      const file = randomFile(local, 'full.bin', 4 * MiB);
      const events = new EventBus();
      const seen = record(events);
      const [result] = await new TransferManager({ events, retryDelayMs: 2000 }).upload(
        file,
        join(mount, 'full.bin'),
        [hostOptions(hosts[0] as SshdHost)],
      );
      expect(result?.status).toBe('failed');
      expect(result?.error?.context).toMatchObject({ reason: 'disk-full', needed: 4 * MiB });
      expect(result?.error?.message).toMatch(
        /no space left — 4 MiB to write under .*, [\d.]+ MiB free on .*free space/,
      );
      expect(result?.bytesSent).toBe(0);
      expect(seen.retries).toEqual([]);
      expect(readdirSync(mount)).toEqual([]);
    } finally {
      execFileSync('umount', [mount]);
      rmSync(mount, { recursive: true, force: true });
    }
  });

  it('abort stops an upload at once and leaves a partial file the next run resumes', async () => {
    const h = hosts[2] as SshdHost;
    const file = randomFile(local, 'abort.bin', 32 * MiB);
    const target = remoteFor(h, 'abort', 'abort.bin');
    const controller = new AbortController();
    // The host is this machine: watch the partial file grow, and stop once 8 MiB have landed.
    const watch = setInterval(() => {
      const size = statSync(`${target}.upgradekit-part`, { throwIfNoEntry: false })?.size ?? 0;
      if (size >= 8 * MiB) controller.abort(new Error('operator pressed Ctrl-C'));
    }, 2);
    const started = performance.now();
    const [stopped] = await new TransferManager({ method: 'sftp', signal: controller.signal }).upload(
      file,
      target,
      [hostOptions(h)],
    );
    clearInterval(watch);
    expect(stopped?.status).toBe('failed');
    expect(stopped?.error?.code).toBe('UPGRADEKIT_ABORTED');
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(existsSync(target)).toBe(false);
    expect(existsSync(`${target}.upgradekit-part`)).toBe(true);

    const [resumed] = await new TransferManager({ method: 'sftp' }).upload(file, target, [hostOptions(h)]);
    expect(resumed?.status).toBe('uploaded');
    expect(resumed?.files[0]?.resumedFrom).toBeGreaterThanOrEqual(4 * MiB);
    expect(resumed?.bytesSent).toBeLessThan(32 * MiB - 4 * MiB);
    expect(sha256(target)).toBe(sha256(file));
  });

  it('names with spaces, quotes, ; and $() arrive intact by scp and by SFTP, and execute nothing', async () => {
    const marker = `pwned-${process.pid}-${Date.now()}`;
    const tree = join(local, 'nasty tree');
    const names = [
      `a b.txt`,
      `it's "q".txt`,
      `x; touch ${marker}`,
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      '-rf',
      'new\nline',
    ];
    mkdirSync(join(tree, `sub dir $(touch ${marker})`), { recursive: true });
    for (const [i, name] of names.entries()) writeFileSync(join(tree, name), `file ${i}\n`);
    writeFileSync(join(tree, `sub dir $(touch ${marker})`, `; rm -rf ${marker}`), 'nested\n');
    await Promise.all(
      (
        [
          [hosts[0] as SshdHost, 'scp'],
          [hosts[1] as SshdHost, 'sftp'],
        ] as const
      ).map(async ([h, method]) => {
        const target = remoteFor(h, `dest $(touch ${marker}) 'q'`);
        const [result] = await new TransferManager({ method, scpMinBytes: 0 }).upload(tree, target, [
          hostOptions(h),
        ]);
        expect(result?.status, result?.error?.message).toBe('uploaded');
        expect(result?.files.map((f) => f.method)).toEqual(Array(names.length + 1).fill(method));
        for (const [i, name] of names.entries())
          expect(readFileSync(join(target, name), 'utf8')).toBe(`file ${i}\n`);
        expect(readFileSync(join(target, `sub dir $(touch ${marker})`, `; rm -rf ${marker}`), 'utf8')).toBe(
          'nested\n',
        );
        expect(readdirSync(target).sort()).toEqual([...names, `sub dir $(touch ${marker})`].sort());
      }),
    );
    for (const dir of [homedir(), process.cwd(), remote, local, tree, '/'])
      expect(existsSync(join(dir, marker)), `${marker} in ${dir}`).toBe(false);
  });

  it('uploads a directory; a re-run sends only the changed file; downloads verify and skip', async () => {
    const h = hosts[1] as SshdHost;
    const tree = join(local, 'release');
    mkdirSync(join(tree, 'sql'), { recursive: true });
    writeFileSync(join(tree, 'upgradekit.yaml'), 'component: app\n');
    writeFileSync(join(tree, 'sql', '001.sql'), 'select 1;\n');
    const big = randomFile(join(tree, 'sql'), 'data.bin', 2 * MiB);
    chmodSync(join(tree, 'upgradekit.yaml'), 0o640);
    const target = remoteFor(h, 'release');
    const manager = new TransferManager({ retryDelayMs: 50 });
    const [first] = await manager.upload(tree, target, [hostOptions(h)]);
    expect(first?.status).toBe('uploaded');
    expect(first?.files.map((f) => [f.path, f.method])).toEqual([
      ['sql/001.sql', 'sftp'], // small files ride the open session
      ['sql/data.bin', 'scp'],
      ['upgradekit.yaml', 'sftp'],
    ]);
    expect(sha256(join(target, 'sql', 'data.bin'))).toBe(sha256(big));
    expect(readFileSync(join(target, 'upgradekit.yaml'), 'utf8')).toBe('component: app\n');

    writeFileSync(join(tree, 'sql', '001.sql'), 'select 2;\n');
    const [second] = await manager.upload(tree, target, [hostOptions(h)]);
    expect(second?.files.map((f) => [f.path, f.status])).toEqual([
      ['sql/001.sql', 'uploaded'],
      ['sql/data.bin', 'skipped'],
      ['upgradekit.yaml', 'skipped'],
    ]);
    expect(readFileSync(join(target, 'sql', '001.sql'), 'utf8')).toBe('select 2;\n');

    const back = join(local, 'back', 'data.bin');
    for (const method of ['scp', 'sftp'] as const) {
      rmSync(back, { force: true });
      const got = await new TransferManager({ method }).download(
        join(target, 'sql', 'data.bin'),
        back,
        hostOptions(h),
      );
      expect(got).toMatchObject({ status: 'downloaded', method, size: 2 * MiB, sha256: sha256(big) });
      expect(sha256(back)).toBe(sha256(big));
      expect(noPartials(back)).toBe(true);
    }
    expect(await manager.download(join(target, 'sql', 'data.bin'), back, hostOptions(h))).toMatchObject({
      status: 'skipped',
    });
    const missing = await manager.download(join(target, 'nope.bin'), back, hostOptions(h));
    expect(missing.status).toBe('failed');
    expect(missing.error?.message).toMatch(/there is no readable file at .*nope\.bin/);
  });

  it('rejects bad input before connecting to anything', async () => {
    const file = randomFile(local, 'input.bin', 10);
    const host = hostOptions(hosts[0] as SshdHost);
    const manager = new TransferManager();
    await expect(manager.upload(file, 'relative/path', [host])).rejects.toThrow(
      /remote path must be absolute/,
    );
    await expect(manager.upload(file, '/opt/../etc/passwd', [host])).rejects.toThrow(
      /must not contain '\.\.'/,
    );
    await expect(manager.upload(join(local, 'missing'), '/tmp/x', [host])).rejects.toThrow(
      /missing does not exist/,
    );
    await expect(manager.upload(file, '/tmp/x', [])).rejects.toThrow(/`hosts` must be a non-empty array/);
    await expect(manager.upload(file, '/tmp/x', [{ ...host, username: '' }])).rejects.toThrow(
      /`hosts\[0\]`\.username must be a user name/,
    );
    const linked = join(local, 'with-link');
    mkdirSync(linked, { recursive: true });
    symlinkSync('/etc/passwd', join(linked, 'passwd'));
    const error = await manager.upload(linked, '/tmp/x', [host]).catch((e: unknown) => e);
    expect(isUpgradeKitError(error, 'UPGRADEKIT_BAD_INPUT')).toBe(true);
    expect((error as Error).message).toMatch(/passwd is a symbolic link; only regular files and directories/);
    await expect(manager.download('/etc/hostname', local, host)).rejects.toThrow(
      /exists and is not a regular file; give the file path to write, e\.g\. .*hostname/,
    );
    expect(() => new TransferManager({ concurrency: 0 })).toThrow(
      /TransferManager: invalid options — `concurrency`: must be at least 1 \(got 0\)/,
    );
    expect(() => new TransferManager({ method: 'ftp' as never })).toThrow(/`method`/);
  });
});
