// Graceful stop and healthy start of real processes, over SSH (a real sshd) and locally.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CommandRunner,
  deregister,
  EventBus,
  isUpgradeKitError,
  localRunner,
  startService,
  stopService,
  waitHealthy,
} from '@upgradekit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, requireService, sshHostForFile } from '#test-support';
import { SERVICE } from '../rollout/support.js';

const hasSshd = await requireService('sshd');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const status = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^State:\s+(\S)/m)?.[1];
  return status !== 'Z' && status !== 'X';
}

describe.runIf(hasSshd)('service control over SSH and locally', () => {
  const host = sshHostForFile('service');
  const started: number[] = [];
  afterAll(() => {
    for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });

  async function launch(runner: CommandRunner, name: string, onTerm: 'exit' | 'ignore') {
    const cwd = join(host.dir, name);
    await runner.exec(['mkdir', '-p', cwd]);
    writeFileSync(join(cwd, 'VERSION'), '1.0.0');
    const port = await freePort('127.0.0.2');
    const result = await startService({
      runner,
      cwd,
      command: [process.execPath, SERVICE, '127.0.0.2', String(port), onTerm],
      log: join(cwd, 'app.log'),
      pidFile: join(cwd, 'app.pid'),
      health: { http: { url: `http://127.0.0.2:${port}/health`, bodyIncludes: 'ok 1.0.0' } },
      passes: 2,
      intervalMs: 50,
      timeoutMs: 10_000,
    });
    started.push(result.pid!);
    return { cwd, port, pid: result.pid!, result };
  }

  for (const where of ['ssh', 'local'] as const) {
    const runner = () => (where === 'ssh' ? host.ssh : localRunner());

    it(`${where}: a process that traps SIGTERM exits on it, cleans up, and is not SIGKILLed`, async () => {
      const { cwd, pid, result } = await launch(runner(), `trap-${where}`, 'exit');
      expect(result.health?.healthy).toBe(true);
      expect(result.health?.passes).toBe(2);
      expect(readFileSync(join(cwd, 'app.pid'), 'utf8').trim()).toBe(String(pid));
      expect(alive(pid)).toBe(true);

      const stop = await stopService({
        runner: runner(),
        pidFile: join(cwd, 'app.pid'),
        graceMs: 5000,
        pollMs: 50,
      });
      expect(stop).toMatchObject({
        outcome: 'terminated',
        pid,
        host: where === 'ssh' ? '127.0.0.2' : 'local',
      });
      // Its own SIGTERM handler ran to the end (the marker is written after 150 ms of "cleanup").
      expect(readFileSync(join(cwd, 'terminated'), 'utf8')).toBe(`graceful ${pid}\n`);
      expect(stop.elapsedMs).toBeGreaterThanOrEqual(140);
      expect(stop.elapsedMs).toBeLessThan(5000);
      expect(alive(pid)).toBe(false);
      expect(existsSync(join(cwd, 'app.pid'))).toBe(false);

      // Stopping again is harmless: nothing is running.
      expect((await stopService({ runner: runner(), pidFile: join(cwd, 'app.pid') })).outcome).toBe(
        'not-running',
      );
    });

    it(`${where}: a process that ignores SIGTERM is SIGKILLed after the grace period`, async () => {
      const { cwd, pid } = await launch(runner(), `ignore-${where}`, 'ignore');
      const stop = await stopService({ runner: runner(), pid, graceMs: 1000, pollMs: 50 });
      expect(stop.outcome).toBe('killed');
      expect(stop.elapsedMs).toBeGreaterThanOrEqual(1000);
      expect(stop.elapsedMs).toBeLessThan(4000);
      expect(alive(pid)).toBe(false);
      expect(existsSync(join(cwd, 'terminated'))).toBe(false);
    });
  }

  it('a stop that finds no process warns, naming who holds the service port (pid and command)', async () => {
    const events = new EventBus();
    const warnings: string[] = [];
    events.on('log', (e) => e.level === 'warn' && warnings.push(e.message));
    const { cwd, port, pid } = await launch(localRunner(), 'elsewhere', 'exit');
    // A pid file the service never wrote, and one whose pid has exited: both find nothing.
    writeFileSync(join(cwd, 'stale.pid'), `${process.pid + 1_000_000}\n`);
    for (const pidFile of [join(cwd, 'run/app.pid'), join(cwd, 'stale.pid')]) {
      const stop = await stopService({ runner: localRunner(), pidFile, port, events, pollMs: 50 });
      expect(stop.outcome).toBe('not-running');
      expect(stop.portListeners).toEqual([
        { pid, command: expect.stringContaining(`${SERVICE} 127.0.0.2 ${port}`) },
      ]);
    }
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain(
      `nothing to stop on local: there is no pid file ${join(cwd, 'run/app.pid')}`,
    );
    expect(warnings[1]).toContain(
      `pid ${process.pid + 1_000_000} of ${join(cwd, 'stale.pid')} is not running`,
    );
    for (const w of warnings) {
      expect(w).toContain(`yet port ${port} is held by pid ${pid} (${process.execPath} ${SERVICE}`);
      expect(w).toContain('the old version may still be serving');
    }
    expect(alive(pid)).toBe(true);

    // The right pid file stops it; the port is free afterwards, and a stop now says so.
    expect(
      (await stopService({ runner: localRunner(), pidFile: join(cwd, 'app.pid'), port, pollMs: 50 })).outcome,
    ).toBe('terminated');
    const again = await stopService({ runner: localRunner(), pidFile: join(cwd, 'app.pid'), port, events });
    expect(again.portListeners).toEqual([]);
    expect(warnings.at(-1)).toContain(`and port ${port} is free`);
  });

  it('start fails fast, with the log tail, when the process exits before it is healthy', async () => {
    const cwd = join(host.dir, 'crashes');
    await host.ssh.exec(['mkdir', '-p', cwd]);
    const began = performance.now();
    const error = await startService({
      runner: host.ssh,
      cwd,
      // No VERSION file: the service throws at start.
      command: [process.execPath, SERVICE, '127.0.0.2', '1', 'exit'],
      log: join(cwd, 'app.log'),
      health: { http: 'http://127.0.0.2:1/health' },
      intervalMs: 100,
      timeoutMs: 20_000,
    }).catch((e: unknown) => e);
    expect(isUpgradeKitError(error, 'UPGRADEKIT_UNHEALTHY')).toBe(true);
    expect((error as Error).message).toContain('exited before it became healthy');
    expect((error as Error).message).toContain("ENOENT: no such file or directory, open 'VERSION'");
    expect(performance.now() - began).toBeLessThan(10_000);
  });

  it('a log it cannot open (its directory missing) fails the start at once, with the reason', async () => {
    const cwd = join(host.dir, 'no-logs-dir');
    await host.ssh.exec(['mkdir', '-p', cwd]);
    const log = join(cwd, 'logs', 'server.log');
    for (const runner of [localRunner(), host.ssh]) {
      const error = await startService({
        runner,
        cwd,
        command: ['sleep', '30'],
        log,
        health: { command: ['true'] },
        intervalMs: 100,
        timeoutMs: 10_000,
      }).catch((e: unknown) => e);
      expect(isUpgradeKitError(error, 'UPGRADEKIT_SERVICE')).toBe(true);
      // Not "exited before it became healthy" with nothing to show: the shell's own reason.
      expect((error as Error).message).toMatch(
        new RegExp(
          `^cannot start sleep on ${runner.host}: cannot write its log ${log} \\(.*(cannot create|No such file).*\\)$`,
        ),
      );
    }
  });

  it('start gives up after its timeout when the service stays unhealthy, saying what it saw', async () => {
    const { cwd, port, pid } = await launch(host.ssh, 'sick', 'exit');
    writeFileSync(join(cwd, 'UNHEALTHY'), '');
    const began = performance.now();
    const health = await waitHealthy({
      check: { http: `http://127.0.0.2:${port}/health` },
      passes: 2,
      intervalMs: 50,
      timeoutMs: 600,
    });
    expect(health.healthy).toBe(false);
    expect(health.detail).toBe('HTTP 503: unhealthy 1.0.0');
    expect(performance.now() - began).toBeGreaterThanOrEqual(550);
    // And a command check on the host itself, through the same session.
    const viaCommand = await waitHealthy({
      check: { command: ['curl', '-fsS', `http://127.0.0.2:${port}/health`] },
      runner: host.ssh,
      timeoutMs: 300,
      intervalMs: 100,
    });
    expect(viaCommand.healthy).toBe(false);
    expect(viaCommand.detail).toMatch(/^exit 22/);
    rmSync(join(cwd, 'UNHEALTHY'));
    expect(
      (
        await waitHealthy({
          check: { command: ['curl', '-fsS', `http://127.0.0.2:${port}/health`] },
          runner: host.ssh,
          passes: 2,
          intervalMs: 20,
        })
      ).healthy,
    ).toBe(true);
    await stopService({ runner: host.ssh, pid });
  });

  it('deregister calls the hook, then waits for clients to notice', async () => {
    const calls: number[] = [];
    const began = performance.now();
    const { waitedMs } = await deregister({ hook: () => void calls.push(performance.now()), waitMs: 300 });
    expect(calls).toHaveLength(1);
    expect(waitedMs).toBeGreaterThanOrEqual(295);
    expect(performance.now() - began).toBeGreaterThanOrEqual(295);
  });

  it('by systemd unit on a host without systemd: a clear error naming the unit and the cause', async () => {
    // This test bed has no systemd (PID 1 is not systemd), so only the refusal path is real here.
    for (const runner of [host.ssh, localRunner()] as CommandRunner[]) {
      const error = await stopService({ runner, unit: 'app.service' }).catch((e: unknown) => e);
      expect(isUpgradeKitError(error, 'UPGRADEKIT_SERVICE')).toBe(true);
      expect((error as Error).message).toMatch(/cannot query unit app\.service on .*: .*(systemd|bus)/);
    }
  });

  it('bad input is refused before anything runs', async () => {
    const bad = async (options: unknown, pattern: RegExp) => {
      const error = await stopService(options as never).catch((e: unknown) => e);
      expect(isUpgradeKitError(error, 'UPGRADEKIT_BAD_INPUT')).toBe(true);
      expect((error as Error).message).toMatch(pattern);
    };
    await bad({ runner: host.ssh, pid: 5, pidFile: '/x.pid' }, /exactly one of `pidFile`, `pid` or `unit`/);
    await bad({ runner: host.ssh, pidFile: 'app.pid' }, /`pidFile` must be an absolute path .*got "app.pid"/);
    await bad({ runner: host.ssh, unit: 'app; reboot' }, /`unit` must be a systemd unit name/);
    await bad({ runner: 'ssh host', pid: 5 }, /`runner`: must be a CommandRunner/);
    // A pid file that does not hold a usable pid is refused, never "killed": not garbage, not init.
    for (const content of ['garbage\n', '1\n', '']) {
      writeFileSync(join(host.dir, 'odd.pid'), content);
      const error = await stopService({ runner: host.ssh, pidFile: join(host.dir, 'odd.pid') }).catch(
        (e: unknown) => e,
      );
      expect(isUpgradeKitError(error, 'UPGRADEKIT_SERVICE'), String(error)).toBe(true);
      expect((error as Error).message).toContain('does not hold a process id');
    }
    const start = await startService({ runner: host.ssh, command: [] } as never).catch((e: unknown) => e);
    expect((start as Error).message).toMatch(/`command`: must be a non-empty argument vector/);
  });
});
