import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EventBus,
  isUpgradeKitError,
  type LogEvent,
  SshSession,
  type SshSessionOptions,
} from '@upgradekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientKey, FaultProxy, requireService, type SshdHost, startSshd } from '#test-support';
import { hostOptions } from './transfer-support.js';

const hasSshd = await requireService('sshd');

describe.runIf(hasSshd)('SshSession against a real sshd', () => {
  let host: SshdHost;
  const sessions: SshSession[] = [];
  const proxies: FaultProxy[] = [];
  beforeAll(async () => {
    host = await startSshd({ host: '127.0.0.2' });
  });
  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await Promise.all(proxies.map((p) => p.close()));
    await host?.stop();
  });

  const options = (extra: Partial<SshSessionOptions> = {}) => hostOptions(host, extra);

  async function open(extra: Partial<SshSessionOptions> = {}) {
    const session = await SshSession.connect(options(extra));
    sessions.push(session);
    return session;
  }

  it('runs argument vectors; exit codes and stderr come back; nothing is interpreted by the remote shell', async () => {
    const ssh = await open();
    expect(await ssh.exec(['echo', 'hello'])).toEqual({ code: 0, stdout: 'hello\n', stderr: '' });
    const marker = join(tmpdir(), `upgradekit-pwned-${Date.now()}`);
    const nasty = [
      'a b',
      "it's",
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      '; touch x',
      '"quoted"',
      '*',
      '$HOME',
      'new\nline',
    ];
    const printed = await ssh.exec(['printf', '%s\\0', ...nasty]);
    expect(printed.stdout.split('\0').slice(0, -1)).toEqual(nasty);
    expect(existsSync(marker)).toBe(false);
    expect(await ssh.exec(['sh', '-c', 'echo oops >&2; exit 7'])).toEqual({
      code: 7,
      stdout: '',
      stderr: 'oops\n',
    });
  });

  it('abort stops the remote process, not just the channel', async () => {
    const ssh = await open();
    const marker = `30.${Date.now() % 1_000_000}`; // a sleep duration no other process has
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('operator cancelled')), 300);
    const started = performance.now();
    const error = await ssh.exec(['sleep', marker], { signal: controller.signal }).catch((e: unknown) => e);
    expect(isUpgradeKitError(error, 'UPGRADEKIT_ABORTED')).toBe(true);
    expect(performance.now() - started).toBeLessThan(2000);
    await new Promise((r) => setTimeout(r, 500));
    const ps = await ssh.exec(['pgrep', '-f', `sleep ${marker}`]);
    expect(ps.stdout.trim()).toBe('');
  });

  it('a timeout explains itself as a network-category timeout', async () => {
    const ssh = await open();
    const error = await ssh.exec(['sleep', '5'], { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(isUpgradeKitError(error, 'UPGRADEKIT_TIMEOUT')).toBe(true);
    expect((error as Error).message).toMatch(/Step timed out: ssh sleep on 127.0.0.2/);
  });

  it('verifies host keys: unknown refused under strict, recorded under accept-new, a changed key always refused', async () => {
    const empty = join(host.dir, 'empty_known_hosts');
    writeFileSync(empty, '');
    const unknown = await SshSession.connect(
      options({ hostKeys: { policy: 'strict', knownHostsPath: empty } }),
    ).catch((e: unknown) => e);
    expect(isUpgradeKitError(unknown, 'UPGRADEKIT_HOST_KEY')).toBe(true);
    expect((unknown as Error).message).toMatch(/is not in .*empty_known_hosts.*accept-new/);

    const fresh = join(host.dir, 'fresh_known_hosts');
    const events = new EventBus();
    const logs: LogEvent[] = [];
    events.on('log', (e) => logs.push(e));
    const added = await open({ hostKeys: { policy: 'accept-new', knownHostsPath: fresh }, events });
    expect((await added.exec(['true'])).code).toBe(0);
    expect(readFileSync(fresh, 'utf8')).toBe(`${host.knownHostsLine}\n`);
    expect(logs.some((e) => /recorded the host key/.test(e.message))).toBe(true);

    const other = await startSshd({ host: '127.0.0.3' });
    try {
      const forged = join(host.dir, 'forged_known_hosts');
      writeFileSync(forged, `[${host.host}]:${host.port} ${other.hostPublicKey}\n`);
      const mismatch = await SshSession.connect(
        options({ hostKeys: { policy: 'accept-new', knownHostsPath: forged } }),
      ).catch((e: unknown) => e);
      expect(isUpgradeKitError(mismatch, 'UPGRADEKIT_HOST_KEY')).toBe(true);
      expect((mismatch as Error).message).toMatch(/does not match .*man-in-the-middle/);
    } finally {
      await other.stop();
    }
  });

  it('an authentication failure is reported at once, not retried', async () => {
    const stranger = await createClientKey();
    const started = performance.now();
    const error = await SshSession.connect(
      options({ privateKeyPath: stranger.privateKeyPath, reconnects: 3, reconnectDelayMs: 1000 }),
    ).catch((e: unknown) => e);
    expect(isUpgradeKitError(error, 'UPGRADEKIT_SSH')).toBe(true);
    expect((error as { context: { reason: string } }).context.reason).toBe('auth');
    expect(performance.now() - started).toBeLessThan(1000); // no backoff: it was not retried
  });

  it('keepalive holds an idle session through a proxy that drops idle connections', async () => {
    const proxy = await FaultProxy.start({ host: host.host, port: host.port }, { idleTimeoutMs: 1200 });
    proxies.push(proxy);
    const ssh = await open({
      port: proxy.port,
      host: '127.0.0.1',
      keepaliveIntervalMs: 300,
      hostKeys: { policy: 'accept-new', knownHostsPath: join(host.dir, 'proxy_known_hosts') },
    });
    await new Promise((r) => setTimeout(r, 3000));
    expect((await ssh.exec(['echo', 'still here'])).stdout).toBe('still here\n');
    expect(ssh.drops).toBe(0);
    expect(proxy.stats.cuts).toBe(0);
  });

  it('reconnects after the network cuts the session, and says so', async () => {
    const proxy = await FaultProxy.start({ host: host.host, port: host.port });
    proxies.push(proxy);
    const events = new EventBus();
    const logs: string[] = [];
    events.on('log', (e) => logs.push(e.message));
    const ssh = await open({
      port: proxy.port,
      host: '127.0.0.1',
      reconnectDelayMs: 100,
      events,
      hostKeys: { policy: 'accept-new', knownHostsPath: join(host.dir, 'proxy2_known_hosts') },
    });
    expect((await ssh.exec(['echo', 'one'])).stdout).toBe('one\n');
    proxy.cutAll();
    await new Promise((r) => setTimeout(r, 300));
    expect((await ssh.exec(['echo', 'two'])).stdout).toBe('two\n');
    expect(ssh.drops).toBe(1);
    expect(logs.some((m) => /dropped; reconnecting/.test(m))).toBe(true);
    expect(logs.some((m) => /restored/.test(m))).toBe(true);
  });

  it('rejects bad options and bad argv before connecting', async () => {
    await expect(SshSession.connect({ ...options(), port: 70000 })).rejects.toThrow(/`port`/);
    const ssh = await open();
    // @ts-expect-error — a shell string is not an argv
    await expect(ssh.exec('rm -rf /')).rejects.toThrow(/argv must be a non-empty array of strings/);
  });
});
