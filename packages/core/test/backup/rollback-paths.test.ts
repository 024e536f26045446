// Rollback of the program directory and configuration paths as docs/backup.md documents them:
// configuration paths archived relative to their root (`/` by default; here a temporary tree
// stands in for it — the restore takes the same path for any root: each path is extracted beside
// itself and renamed into place, never extracted into the root), and the program's logs under
// `<programDir>/logs`, which the backup leaves out. A service whose start command logs there must
// start at step 5, and the logs from before the rollback must survive it.
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createBackup,
  isUpgradeKitError,
  LocalHost,
  localRunner,
  Rollback,
  startService,
} from '@upgradekit/core';
import { describe, expect, it } from 'vitest';
import { backupWorkspace, makeApp, snapshot, tempDir } from './support.js';

describe('rollback of configuration paths under a root, and of a program directory with logs', () => {
  const ws = backupWorkspace('rollback-paths', { state: true });
  const fakeRoot = () => join(ws.work, 'root');
  const app = () => join(fakeRoot(), 'opt', 'app');
  const config = () => ({
    unit: join(fakeRoot(), 'etc', 'systemd', 'system', 'app.service'),
    dir: join(fakeRoot(), 'etc', 'app'),
    // A file directly in the root: `/app.env` when the root is `/`.
    top: join(fakeRoot(), 'app.env'),
  });

  it('restores each configuration path and the program directory; the start logs to logs/, old logs kept', async () => {
    const { unit, dir, top } = config();
    await makeApp(app(), '1.0.0');
    await mkdir(join(fakeRoot(), 'etc', 'systemd', 'system'), { recursive: true });
    await mkdir(join(dir, 'conf.d'), { recursive: true });
    await writeFile(unit, '[Service]\nExecStart=/opt/app/bin/app.sh\n');
    await writeFile(join(dir, 'app.yaml'), 'mode: 1\n');
    await writeFile(join(dir, 'conf.d', 'db.yaml'), 'pool: 5\n');
    await symlink('app.yaml', join(dir, 'current.yaml'));
    await writeFile(top, 'APP_OPTS=-Xmx1g\n');
    // Beside the configuration, not in it: the restore must not touch it.
    await writeFile(join(fakeRoot(), 'etc', 'hosts'), '127.0.0.1 localhost\n');
    const configBefore = await snapshot(join(fakeRoot(), 'etc'));
    const appBefore = await snapshot(app(), (p) => /^(logs|tmp)(\/|$)|\.pid$/.test(p));

    const backup = await createBackup({
      root: ws.root,
      component: 'app',
      versionFrom: '1.0.0',
      versionTo: '1.1.0',
      programDir: app(),
      config: { root: fakeRoot(), paths: [unit, dir, top] },
    });
    expect(backup.error).toBeUndefined();

    // 1.1.0: new files and settings, one file gone, the logs grow, a file appears beside the config.
    await makeApp(app(), '1.1.0');
    await writeFile(join(app(), 'logs', 'app.log'), 'a log line\nwritten by 1.1.0\n');
    await writeFile(join(app(), 'logs', 'server.log'), '1.1.0 listening\n');
    await writeFile(unit, '[Service]\nExecStart=/opt/app/bin/app-1.1.0.sh\n');
    await writeFile(join(dir, 'app.yaml'), 'mode: 2\n');
    await writeFile(join(dir, 'conf.d', 'cache.yaml'), 'size: 10\n');
    await rm(join(dir, 'conf.d', 'db.yaml'));
    await writeFile(top, 'APP_OPTS=-Xmx2g\n');
    await writeFile(join(fakeRoot(), 'etc', 'hosts'), '127.0.0.1 localhost\n10.0.0.9 cache\n');

    const pidFile = join(ws.work, 'app.pid');
    const serverLog = join(app(), 'logs', 'server.log');
    const rollback = new Rollback({
      state: ws.state,
      component: 'app',
      root: ws.root,
      yes: true,
      hooks: {
        startServices: (ctx) =>
          startService({
            runner: localRunner(),
            command: [
              'sh',
              '-c',
              'echo "$(grep version conf/application.properties) listening"; exec sleep 30',
            ],
            cwd: app(),
            log: serverLog,
            pidFile,
            health: { command: ['grep', '-q', 'version=1.0.0 listening', serverLog] },
            intervalMs: 100,
            timeoutMs: 10_000,
            signal: ctx.signal,
          }),
      },
    });
    const result = await rollback.auto('latest');
    try {
      expect(result.error).toBeUndefined();
      expect(result).toMatchObject({ status: 'completed', kept: [], asides: [] });
      expect(await snapshot(join(fakeRoot(), 'etc'), (p) => p === 'hosts')).toEqual(
        Object.fromEntries(Object.entries(configBefore).filter(([p]) => p !== 'hosts')),
      );
      expect(await readFile(top, 'utf8')).toBe('APP_OPTS=-Xmx1g\n');
      expect(await readFile(join(fakeRoot(), 'etc', 'hosts'), 'utf8')).toContain('10.0.0.9 cache');
      expect(await snapshot(app(), (p) => /^(logs|tmp)(\/|$)|\.pid$/.test(p))).toEqual(appBefore);
      // The logs from before the rollback, and what the restored version wrote after it.
      expect(await readFile(join(app(), 'logs', 'app.log'), 'utf8')).toContain('written by 1.1.0');
      expect(await readFile(serverLog, 'utf8')).toBe('1.1.0 listening\nversion=1.0.0 listening\n');
      // Nothing of the rollback's is left beside any path.
      for (const parent of [fakeRoot(), join(fakeRoot(), 'etc'), join(fakeRoot(), 'opt')]) {
        expect((await readdir(parent)).filter((n) => n.includes('.upgradekit-'))).toEqual([]);
      }
    } finally {
      process.kill(Number(await readFile(pidFile, 'utf8')), 'SIGKILL');
    }
  });

  it('extracting into / itself is refused with the reason, not member by member', async () => {
    const host = new LocalHost();
    const error = await host.extractArchive(join(ws.work, 'none.tar.gz'), '/').catch((e: unknown) => e);
    expect(isUpgradeKitError(error, 'UPGRADEKIT_BAD_INPUT')).toBe(true);
    expect((error as Error).message).toMatch(
      /^refusing to extract .* into \/: extract into a directory beside the target/,
    );
  });
});

describe('moving what the backup leaves out into the restored directory', () => {
  it('merges directories both have and keeps both copies of a file, nothing overwritten', async () => {
    const work = await tempDir('move-into');
    try {
      const from = join(work, 'aside');
      const to = join(work, 'restored');
      await mkdir(join(from, 'logs', 'archive'), { recursive: true });
      await mkdir(join(to, 'logs'), { recursive: true });
      await writeFile(join(from, 'logs', 'app.log'), 'old app\n');
      await writeFile(join(from, 'logs', 'server.log'), 'old server\n');
      await writeFile(join(from, 'logs', 'archive', 'app.log.1'), 'older\n');
      await writeFile(join(from, 'app.pid'), '42\n');
      await writeFile(join(to, 'logs', 'server.log'), 'new server\n');
      await writeFile(join(to, 'logs', 'server.log.pre-rollback_007'), 'taken\n');
      const moved = await new LocalHost().moveInto(from, to, ['logs', 'app.pid'], '.pre-rollback_007');
      expect(moved.sort()).toEqual([
        'app.pid',
        'logs/app.log',
        'logs/archive',
        'logs/server.log.pre-rollback_007-2',
      ]);
      expect(await snapshot(to)).toMatchObject({
        'logs/app.log': expect.any(String),
        'logs/archive/app.log.1': expect.any(String),
      });
      expect(await readFile(join(to, 'logs', 'server.log'), 'utf8')).toBe('new server\n');
      expect(await readFile(join(to, 'logs', 'server.log.pre-rollback_007-2'), 'utf8')).toBe('old server\n');
      expect(await readFile(join(to, 'logs', 'server.log.pre-rollback_007'), 'utf8')).toBe('taken\n');
      // Repeatable: nothing is left to move.
      expect(await new LocalHost().moveInto(from, to, ['logs', 'app.pid'], '.pre-rollback_007')).toEqual([]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
