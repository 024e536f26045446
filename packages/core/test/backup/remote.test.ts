// Backup and rollback on a "remote" host: a real OpenSSH sshd on 127.0.0.2, reached through
// SshSession. The host's own GNU tar, coreutils and mariadb tools do the work; nothing but commands
// and their short output cross the connection, and a password is never put on a command line.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBackup, isUpgradeKitError, RemoteHost, Rollback, verifyBackup } from '@upgradekit/core';
import { describe, expect, it } from 'vitest';
import { requireService, sshHostForFile, suiteDatabase, test } from '#test-support';
import { canonicalDump, databaseSpec, expectPrivateFiles, makeApp, snapshot, withKnex } from './support.js';

const ready = (await requireService('sshd')) && (await requireService('mariadb'));

describe.runIf(ready)('backup and rollback on a remote host over SSH', () => {
  const server = sshHostForFile('remote');
  const db = suiteDatabase('mariadb', 'uk_remote');

  test('backs up on the host, verifies there, and rolls back there', { timeout: 90_000 }, async ({
    state,
  }) => {
    await withKnex(db, async (knex) => {
      await knex.raw('CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))');
      await knex('t').insert(Array.from({ length: 50 }, (_, i) => ({ id: i, v: `v${i}` })));
    });
    const app = join(server.dir, 'opt', 'app');
    const configRoot = join(server.dir, 'root');
    const unit = join(configRoot, 'etc', 'app.conf');
    await makeApp(app, '5.0.0');
    await mkdir(join(configRoot, 'etc'), { recursive: true });
    await writeFile(unit, 'mode=old\n');
    const root = join(server.dir, 'backup');
    const spec = databaseSpec(db, 'mariadb');
    const target = { root, component: 'mq', session: server.ssh };
    const upgrade = { ...target, versionFrom: '5.0.0', versionTo: '5.1.0' };

    // A password for a remote dump is refused before anything runs: it would sit on a command line.
    const refused = await createBackup({ ...upgrade, databases: [{ ...spec, password: 's3cret' }] }).catch(
      (e: unknown) => e,
    );
    expect(isUpgradeKitError(refused, 'UPGRADEKIT_BAD_INPUT')).toBe(true);
    expect((refused as Error).message).toMatch(
      /a password cannot be sent to a remote host .* `defaultsFile`/,
    );

    const backup = await createBackup({
      ...upgrade,
      programDir: app,
      config: { root: configRoot, paths: [unit] },
      databases: [spec],
    });
    expect(backup.error).toBeUndefined();
    expect(backup).toMatchObject({ status: 'completed', host: '127.0.0.2' });
    expect(backup.manifest?.host).toBe('127.0.0.2');
    await expectPrivateFiles(backup.dir);
    const remote = new RemoteHost(server.ssh);
    expect(await verifyBackup(remote, root, backup.backupId)).toMatchObject({ ok: true });
    // The remote lister (GNU tar) sees the same members the manifest counted, and none unsafe.
    const program = backup.manifest?.backup_files.program_directory;
    expect(await remote.summarizeArchive(join(backup.dir, 'program_directory.tar.gz'))).toEqual({
      count: program?.kind === 'program_directory' ? program.entries : -1,
    });
    const dumpBefore = await canonicalDump(db, 'mariadb');
    const appBefore = await snapshot(app, (p) => /^(logs|tmp)(\/|$)|\.pid$/.test(p));

    await withKnex(db, async (k) => {
      await k.raw('ALTER TABLE t ADD COLUMN w INT');
      await k('t').where('id', '<', 10).del();
    });
    await makeApp(app, '5.1.0');
    await writeFile(unit, 'mode=new\n');

    const stopped: string[] = [];
    const rollback = new Rollback({
      ...target,
      state,
      databases: [spec],
      yes: true,
      hooks: {
        stopServices: async (ctx) => void stopped.push((await ctx.host.run(['hostname'])).stdout.trim()),
      },
    });
    const result = await rollback.auto('latest');
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('completed');
    expect(stopped).toHaveLength(1);
    expect(await canonicalDump(db, 'mariadb')).toBe(dumpBefore);
    expect(await snapshot(app, (p) => /^(logs|tmp)(\/|$)|\.pid$/.test(p))).toEqual(appBefore);
    expect(await readFile(unit, 'utf8')).toBe('mode=old\n');
    expect((await rollback.list()).history[0]).toMatchObject({ host: '127.0.0.2', status: 'completed' });

    // Tampering is caught on the remote side too.
    const archive = join(backup.dir, 'system_config.tar.gz');
    const bytes = await readFile(archive);
    bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0x55;
    await writeFile(archive, bytes);
    const verdict = await verifyBackup(remote, root, backup.backupId);
    expect(verdict.problems).toEqual([
      expect.objectContaining({
        file: 'system_config.tar.gz',
        reason: expect.stringMatching(/^sha256 is .* the file was changed after the backup$/),
      }),
    ]);
  });
  it('moves what the backup leaves out into the restored directory as LocalHost does: merged, nothing overwritten', async () => {
    const from = join(server.dir, 'move-aside');
    const to = join(server.dir, 'move-restored');
    await mkdir(join(from, 'logs', 'archive'), { recursive: true });
    await mkdir(join(to, 'logs'), { recursive: true });
    await writeFile(join(from, 'logs', 'app.log'), 'old app\n');
    await writeFile(join(from, 'logs', 'server.log'), 'old server\n');
    await writeFile(join(from, 'logs', '.hidden'), 'dot\n');
    await writeFile(join(from, 'logs', 'archive', 'app.log.1'), 'older\n');
    await writeFile(join(to, 'logs', 'server.log'), 'new server\n');
    await writeFile(join(to, 'logs', 'server.log.pre-rollback_007'), 'taken\n');
    const host = new RemoteHost(server.ssh);
    const moved = await host.moveInto(from, to, ['logs', 'gone'], '.pre-rollback_007');
    expect(moved.sort()).toEqual([
      'logs/.hidden',
      'logs/app.log',
      'logs/archive',
      'logs/server.log.pre-rollback_007-2',
    ]);
    expect(await readFile(join(to, 'logs', 'server.log'), 'utf8')).toBe('new server\n');
    expect(await readFile(join(to, 'logs', 'server.log.pre-rollback_007-2'), 'utf8')).toBe('old server\n');
    expect(await readFile(join(to, 'logs', 'archive', 'app.log.1'), 'utf8')).toBe('older\n');
    expect(await host.moveInto(from, to, ['logs'], '.pre-rollback_007')).toEqual([]);
  });

  it('counts and verifies an archive whose listing is larger than what one command returns', {
    timeout: 60_000,
  }, async () => {
    // 10,000 members with long names: ~600 KB of listing, past the 256 KB a remote command brings back.
    const app = join(server.dir, 'many');
    for (let d = 0; d < 100; d++) {
      const dir = join(app, `module-with-a-rather-long-directory-name-${d}`);
      await mkdir(dir, { recursive: true });
      await Promise.all(
        Array.from({ length: 100 }, (_, f) =>
          writeFile(join(dir, `resource-file-with-a-long-name-${f}.properties`), `${d}.${f}`),
        ),
      );
    }
    const root = join(server.dir, 'backup-many');
    const backup = await createBackup({
      root,
      component: 'many',
      versionFrom: '1',
      versionTo: '2',
      session: server.ssh,
      programDir: app,
    });
    expect(backup.error).toBeUndefined();
    const program = backup.manifest?.backup_files.program_directory;
    expect(program?.kind === 'program_directory' && program.entries).toBe(10_000 + 100 + 1);
    expect((await verifyBackup(new RemoteHost(server.ssh), root, backup.backupId)).ok).toBe(true);
  });
});
