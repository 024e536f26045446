// A health gate that can pass on the old version (issue 18): the upgrade hook stops the service by
// a pid file that is not the service's, so the old process keeps its port; the new one dies on
// EADDRINUSE; the old one answers the health check. Real sshd hosts, real processes: the rollout
// must not report `succeeded`, and the stop must say who holds the port.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  EventBus,
  type HostContext,
  type LogEvent,
  type RolloutOptions,
  rollout,
  type SshSession,
  StateStore,
  stopService,
} from '@upgradekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireService } from '#test-support';
import {
  rolloutOptions,
  startOn,
  startTestBed,
  type TestBed,
  type TestHost,
  url,
  versionOf,
  writeVersion,
} from './support.js';

const hasSshd = await requireService('sshd');

/** The pids a host's service was started with, oldest first (starts.log: `<version> <pid>`). */
function startedPids(host: TestHost): number[] {
  return readFileSync(join(host.vars.dir, 'starts.log'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => Number(line.split(' ')[1]));
}

/** The operator's hook, with the mistake: the pid file configured is not the one the service writes. */
async function upgradeWithWrongPidFile(ctx: HostContext<TestHost, SshSession>): Promise<void> {
  const { host, remote } = ctx;
  await stopService({
    runner: remote!,
    pidFile: join(host.vars.dir, 'run/app.pid'),
    port: host.vars.servicePort,
    graceMs: 3000,
    pollMs: 50,
    events: ctx.events,
  });
  await writeVersion(remote!, host, ctx.to);
  // Its own health check asks only "does something answer?": the old process does.
  await startOn(remote!, host);
}

describe.runIf(hasSshd)('a stop that misses the old process, and the health gate after it', () => {
  let bed: TestBed;
  let state: StateStore;
  beforeAll(async () => {
    bed = await startTestBed([[], []]);
    state = await StateStore.open({ filename: join(bed.hosts[0]!.vars.dir, '..', 'state.sqlite') });
    await bed.reset('1.0.0');
  });
  afterAll(async () => {
    // The old processes outlived the wrong pid file: end them by the pids they logged.
    for (const host of bed?.hosts ?? []) {
      for (const pid of startedPids(host)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
    }
    await state?.close();
    await bed?.stop();
  });

  function run(host: TestHost, site: string, extra: Partial<RolloutOptions<TestHost, SshSession>>) {
    const events = new EventBus();
    const logs: LogEvent[] = [];
    events.on('log', (e) => logs.push(e));
    const options = rolloutOptions(bed, state, site, {
      hosts: [host],
      upgrade: upgradeWithWrongPidFile,
      events,
      ...extra,
    });
    return { logs, result: rollout(options) };
  }

  it('probeVersion: the gate fails naming the version the host serves; the stop warns who holds the port', async () => {
    const host = bed.hosts[0]!;
    const [oldPid] = startedPids(host);
    const { logs, result: running } = run(host, 'site-probe', {
      // The docs' old example: a gate that asks only whether the service answers.
      healthGate: { check: (h) => ({ http: url(h, '/health') }), passes: 3, intervalMs: 50, timeoutMs: 1000 },
      probeVersion: ({ host: h }) => versionOf(h),
    });
    const result = await running;

    expect(result.status).toBe('halted');
    expect(result.error?.message).toContain(
      `${host.name} failed its health gate after the upgrade: it serves 1.0.0, not 2.0.0 (probeVersion)`,
    );
    expect(result.hosts.map((h) => [h.status, h.version, h.versionSource])).toEqual([
      ['failed', '1.0.0', 'probe'],
    ]);
    expect(await versionOf(host)).toBe('1.0.0');
    // The stop found no process by its pid file, and said who holds the service's port.
    const warning = logs.find((e) => e.level === 'warn' && e.message.includes('run/app.pid'));
    expect(warning?.message).toContain(`port ${host.vars.servicePort} is held by pid ${oldPid}`);
    expect(warning?.message).toContain('http-service.mjs');
    expect(warning?.host).toBe(host.address);
  });

  it('bodyIncludes: the gate fails naming what the body said', async () => {
    const host = bed.hosts[1]!;
    const { result: running } = run(host, 'site-body', {
      healthGate: {
        check: (h) => ({ http: { url: url(h, '/health'), bodyIncludes: 'ok 2.0.0' } }),
        passes: 3,
        intervalMs: 50,
        timeoutMs: 1000,
      },
      probeVersion: undefined,
    });
    const result = await running;

    expect(result.status).toBe('halted');
    expect(result.error?.message).toContain(
      `${host.name} failed its health gate after the upgrade: 0 of 3 passes in a row within 1000 ms (last: HTTP 200, body lacks "ok 2.0.0": "ok 1.0.0")`,
    );
    expect(result.hosts.map((h) => h.status)).toEqual(['failed']);
    expect(await versionOf(host)).toBe('1.0.0');
  });
});
