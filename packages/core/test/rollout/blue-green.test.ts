// Blue-green releases: releases/<version> and an atomically switched `current` symlink, over SSH
// (a real sshd) and locally, with a real service started from `current`.
import { existsSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BlueGreen,
  type CommandRunner,
  isUpgradeKitError,
  localRunner,
  startService,
  stopService,
} from '@upgradekit/core';
import { describe, expect, it } from 'vitest';
import { freePort, requireService, sshHostForFile } from '#test-support';
import { SERVICE } from './support.js';

const hasSshd = await requireService('sshd');

describe.runIf(hasSshd)('BlueGreen', () => {
  const host = sshHostForFile('bluegreen');

  async function release(app: BlueGreen, version: string): Promise<void> {
    const dir = await app.prepare(version);
    writeFileSync(join(dir, 'VERSION'), version);
  }

  it('over SSH: switch to the new release, restart from current, switch back (the rollback)', async () => {
    const root = join(host.dir, 'ssh-app');
    const app = new BlueGreen({ root, runner: host.ssh });
    const port = await freePort('127.0.0.2');
    const serve = async () => {
      await stopService({ runner: host.ssh, pidFile: join(root, 'app.pid'), graceMs: 3000, pollMs: 50 });
      await startService({
        runner: host.ssh,
        cwd: join(root, 'current'),
        command: [process.execPath, SERVICE, '127.0.0.2', String(port), 'exit'],
        pidFile: join(root, 'app.pid'),
        health: { http: `http://127.0.0.2:${port}/health` },
        intervalMs: 50,
        timeoutMs: 10_000,
      });
      return (await fetch(`http://127.0.0.2:${port}/version`)).text();
    };
    try {
      await release(app, '2.3.0');
      await release(app, '2.4.0');
      expect(await app.current()).toBeUndefined();
      expect(await app.switchTo('2.3.0')).toEqual({ host: '127.0.0.2', to: '2.3.0' });
      expect(await serve()).toBe('2.3.0');

      expect(await app.switchTo('2.4.0')).toEqual({ host: '127.0.0.2', from: '2.3.0', to: '2.4.0' });
      expect(readlinkSync(join(root, 'current'))).toBe('releases/2.4.0'); // relative: the root can move
      expect(await app.current()).toBe('2.4.0');
      expect(await app.previous()).toBe('2.3.0');
      expect(await serve()).toBe('2.4.0');

      expect(await app.switchBack()).toEqual({ host: '127.0.0.2', from: '2.4.0', to: '2.3.0' });
      expect(await app.current()).toBe('2.3.0');
      expect(await app.previous()).toBe('2.4.0');
      expect(await serve()).toBe('2.3.0');
      // No temporary links left behind.
      expect((await host.ssh.exec(['ls', '-A', root])).stdout.split('\n').filter(Boolean).sort()).toEqual(
        ['app.pid', 'current', 'previous', 'releases', 'starts.log'].filter((n) => n !== 'starts.log'),
      );
    } finally {
      await stopService({ runner: host.ssh, pidFile: join(root, 'app.pid'), graceMs: 2000 });
    }
  });

  it('the switch is atomic: a reader polling `current` during 40 switches never finds it missing', async () => {
    const root = join(host.dir, 'atomic');
    // Locally (the same script as over SSH), so the switches come fast enough to race the reader.
    const app = new BlueGreen({ root, runner: localRunner() });
    await release(app, '1.0.0');
    await release(app, '1.1.0');
    await app.switchTo('1.0.0');
    let reads = 0;
    let missing = 0;
    let switching = true;
    const reader = (async () => {
      while (switching) {
        try {
          readlinkSync(join(root, 'current'));
          reads++;
        } catch {
          missing++;
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let i = 0; i < 40; i++) await app.switchTo(i % 2 === 0 ? '1.1.0' : '1.0.0');
    switching = false;
    await reader;
    expect(missing).toBe(0);
    expect(reads).toBeGreaterThan(40);
    expect(await app.current()).toBe('1.0.0');
  });

  it('locally: keep the last N releases, never the current or previous one, in version order', async () => {
    const root = join(host.dir, 'local-app');
    const app = new BlueGreen({ root, runner: localRunner(), keep: 3 });
    for (const v of ['1.9.0', '1.10.0', '1.2.0', '1.10.0-P1', '1.11.0']) await release(app, v);
    expect(await app.releases()).toEqual(['1.2.0', '1.9.0', '1.10.0', '1.10.0-P1', '1.11.0']);
    await app.switchTo('1.10.0');
    await app.switchTo('1.9.0'); // current 1.9.0, previous 1.10.0
    expect(await app.prune()).toEqual(['1.2.0', '1.10.0-P1']);
    expect(await app.releases()).toEqual(['1.9.0', '1.10.0', '1.11.0']);
    expect(await app.prune(1)).toEqual(['1.11.0']);
    expect(await app.releases()).toEqual(['1.9.0', '1.10.0']);
    expect(await app.current()).toBe('1.9.0');
    // The runner is never implied: a missing connection must not switch this machine instead.
    expect(() => new BlueGreen({ root } as never)).toThrow(/`runner`: must be a CommandRunner/);
  });

  it('paths cannot escape the root; a missing release or previous one is a clear error', async () => {
    const root = join(host.dir, 'guarded');
    const runner: CommandRunner = host.ssh;
    const app = new BlueGreen({ root, runner });
    const refuse = async (attempt: () => unknown, code: string, pattern: RegExp) => {
      let error: unknown;
      try {
        await attempt();
      } catch (e) {
        error = e;
      }
      expect(isUpgradeKitError(error, code as never), String(error)).toBe(true);
      expect((error as Error).message).toMatch(pattern);
    };
    for (const bad of ['../etc', '..', '.', 'a/b', '-rf', '1.0;rm -rf ~', '', '1..2']) {
      await refuse(() => app.switchTo(bad), 'UPGRADEKIT_BAD_INPUT', /is not a valid release name/);
      await refuse(() => app.prepare(bad), 'UPGRADEKIT_BAD_INPUT', /is not a valid release name/);
    }
    for (const bad of ['relative/dir', '/', '/opt/app/', '/opt/../etc', '/opt/./app']) {
      await refuse(
        () => new BlueGreen({ root: bad, runner }),
        'UPGRADEKIT_BAD_INPUT',
        /`root`: must be a normalised absolute directory/,
      );
    }
    expect(existsSync(join(host.dir, 'etc'))).toBe(false);
    await refuse(() => app.switchTo('9.9.9'), 'UPGRADEKIT_SERVICE', /does not exist/);
    await app.prepare('1.0.0');
    await refuse(
      () => app.switchTo('9.9.9'),
      'UPGRADEKIT_SERVICE',
      /release 9\.9\.9 is not there .*prepare\(\) it first/,
    );
    await app.switchTo('1.0.0');
    await refuse(() => app.switchBack(), 'UPGRADEKIT_SERVICE', /no previous release/);
  });
});
