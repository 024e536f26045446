// Four loopback "hosts": a real sshd each, and on each a real HTTP service (a child process
// started over SSH, detached) listening on its own 127.0.0.x address.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type HostContext,
  type RolloutHost,
  type RolloutOptions,
  SshSession,
  StateStore,
  startService,
  stopService,
} from '@upgradekit/core';
import { afterAll, beforeAll } from 'vitest';
import { freePort, type SshdHost, startSshdHosts } from '#test-support';

export const SERVICE = fileURLToPath(new URL('./fixtures/http-service.mjs', import.meta.url));

export interface TestHost extends RolloutHost {
  readonly address: string;
  readonly port: number;
  readonly vars: {
    readonly dir: string;
    readonly servicePort: number;
    readonly user: string;
    readonly key: string;
    readonly knownHosts: string;
  };
}

export interface TestBed {
  readonly sshd: SshdHost[];
  readonly hosts: TestHost[];
  connect(host: RolloutHost): Promise<SshSession>;
  /** Fresh service directories on every host, each service running `version`. */
  reset(version: string): Promise<void>;
  /** GET /version on every host ('down' when it does not answer). */
  versions(): Promise<Record<string, string>>;
  startsOf(host: TestHost): string[];
  stop(): Promise<void>;
}

/** What `versions()` says when the `hosts` hosts of a bed (app-1 … app-n) all run `version`. */
export function allAt(version: string, hosts = 4): Record<string, string> {
  return Object.fromEntries(Array.from({ length: hosts }, (_, i) => [`app-${i + 1}`, version]));
}

export function url(host: TestHost, path: string): string {
  return `http://${host.address}:${host.vars.servicePort}${path}`;
}

export async function versionOf(host: TestHost): Promise<string> {
  try {
    const response = await fetch(url(host, '/version'), { signal: AbortSignal.timeout(2000) });
    return await response.text();
  } catch {
    return 'down';
  }
}

/** Starts the service on a host over SSH and waits until it answers. */
export async function startOn(ssh: SshSession, host: TestHost, onTerm: 'exit' | 'ignore' = 'exit') {
  return startService({
    runner: ssh,
    cwd: host.vars.dir,
    command: [process.execPath, SERVICE, host.address, String(host.vars.servicePort), onTerm],
    log: join(host.vars.dir, 'app.log'),
    pidFile: join(host.vars.dir, 'app.pid'),
    health: { http: url(host, '/version') },
    intervalMs: 50,
    timeoutMs: 10_000,
  });
}

export async function writeVersion(ssh: SshSession, host: TestHost, version: string): Promise<void> {
  await ssh.exec(['sh', '-c', 'printf "%s" "$1" >"$2"', 'write', version, join(host.vars.dir, 'VERSION')]);
}

export async function startTestBed(roles: readonly (readonly string[])[]): Promise<TestBed> {
  const sshd = await startSshdHosts(roles.length);
  const root = mkdtempSync(join(tmpdir(), 'upgradekit-rollout-'));
  const hosts: TestHost[] = await Promise.all(
    sshd.map(async (s, i) => ({
      name: `app-${i + 1}`,
      address: s.host,
      port: s.port,
      roles: roles[i] ?? [],
      vars: {
        dir: join(root, `app-${i + 1}`),
        servicePort: await freePort(s.host),
        user: s.user,
        key: s.client.privateKeyPath,
        knownHosts: s.knownHostsPath,
      },
    })),
  );
  const sessions = new Map<string, SshSession>();
  const connect = async (host: RolloutHost) => {
    const h = hosts.find((x) => x.name === host.name)!;
    return SshSession.connect({
      host: h.address,
      port: h.port,
      username: h.vars.user,
      privateKeyPath: h.vars.key,
      hostKeys: { policy: 'strict', knownHostsPath: h.vars.knownHosts },
    });
  };
  const session = async (host: TestHost) => {
    let s = sessions.get(host.name);
    if (!s) {
      s = await connect(host);
      sessions.set(host.name, s);
    }
    return s;
  };
  const stopAll = () =>
    Promise.all(
      hosts.map(async (h) =>
        stopService({ runner: await session(h), pidFile: join(h.vars.dir, 'app.pid'), graceMs: 2000 }).catch(
          () => {},
        ),
      ),
    );
  return {
    sshd,
    hosts,
    connect,
    async reset(version) {
      await stopAll();
      await Promise.all(
        hosts.map(async (h) => {
          rmSync(h.vars.dir, { recursive: true, force: true });
          const ssh = await session(h);
          await ssh.exec(['mkdir', '-p', h.vars.dir]);
          writeFileSync(join(h.vars.dir, 'VERSION'), version);
          await startOn(ssh, h);
        }),
      );
    },
    async versions() {
      const entries = await Promise.all(hosts.map(async (h) => [h.name, await versionOf(h)] as const));
      return Object.fromEntries(entries);
    },
    startsOf(host) {
      try {
        return readFileSync(join(host.vars.dir, 'starts.log'), 'utf8').trim().split('\n');
      } catch {
        return [];
      }
    },
    async stop() {
      await stopAll();
      await Promise.all([...sessions.values()].map((s) => s.close()));
      await Promise.all(sshd.map((s) => s.stop()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The hook a team would write: stop gracefully, install, start and wait until healthy. */
/**
 * A test bed of `roles` and a state store beside it, for the enclosing `describe`: started in
 * `beforeAll`, closed and stopped in `afterAll`.
 */
export function testBedForSuite(roles: readonly (readonly string[])[]): { bed: TestBed; state: StateStore } {
  const held: { bed?: TestBed; state?: StateStore } = {};
  beforeAll(async () => {
    held.bed = await startTestBed(roles);
    held.state = await StateStore.open({ filename: join(held.bed.hosts[0]!.vars.dir, '..', 'state.sqlite') });
  });
  afterAll(async () => {
    await held.state?.close();
    await held.bed?.stop();
  });
  return held as { bed: TestBed; state: StateStore };
}

export async function upgradeHost(ctx: HostContext<TestHost, SshSession>): Promise<void> {
  const { host, remote } = ctx;
  await stopService({ runner: remote!, pidFile: join(host.vars.dir, 'app.pid'), graceMs: 3000, pollMs: 50 });
  await writeVersion(remote!, host, ctx.to);
  await startOn(remote!, host);
}

/** A 1.0.0 → 2.0.0 rollout over the test bed, replicas before the primary, with a quick health gate. */
export function rolloutOptions(
  bed: TestBed,
  state: StateStore,
  site: string,
  extra: Partial<RolloutOptions<TestHost, SshSession>> = {},
): RolloutOptions<TestHost, SshSession> {
  return {
    id: 'rollout:app',
    component: 'app',
    site,
    from: '1.0.0',
    to: '2.0.0',
    state,
    hosts: bed.hosts,
    roleOrder: ['replica', 'primary'],
    connect: (host) => bed.connect(host),
    upgrade: upgradeHost,
    healthGate: {
      check: (host) => ({ http: { url: url(host, '/health'), bodyIncludes: 'ok 2.0.0' } }),
      passes: 3,
      intervalMs: 50,
      // A healthy host passes in ~150 ms; a failing one is given up on quickly.
      timeoutMs: 1000,
    },
    probeVersion: ({ host }) => versionOf(host),
    ...extra,
  };
}
