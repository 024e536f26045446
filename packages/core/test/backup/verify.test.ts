// Verification and the retry helpers, on real files and real archives (no database needed):
// a tampered archive and a manifest that points outside the backup are refused with the reason;
// the backup step is skipped when a verified backup exists and cleans up a partial one first.
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  backupStep,
  createBackup,
  createUpgrade,
  isUpgradeKitError,
  LocalHost,
  listBackups,
  Rollback,
  StateStore,
  verifyBackup,
} from '@upgradekit/core';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { excludeMatcher } from '../../src/backup/exclude.js';
import { makeApp, tempDir } from './support.js';

const host = new LocalHost();

describe('backup verification', () => {
  let work: string;
  let root: string;
  let app: string;
  let configRoot: string;

  async function fresh(): Promise<string> {
    const result = await createBackup({
      root,
      component: 'app',
      versionFrom: '1.0.0',
      versionTo: '1.1.0',
      programDir: app,
      config: { root: configRoot, paths: [join(configRoot, 'etc', 'app')] },
    });
    expect(result.error).toBeUndefined();
    return result.backupId;
  }

  // biome-ignore lint/suspicious/noExplicitAny: the manifest is edited as raw JSON, the way someone tampering would
  async function editManifest(id: string, edit: (m: Record<string, any>) => void): Promise<void> {
    const path = join(root, id, 'backup_manifest.json');
    const manifest = JSON.parse(await readFile(path, 'utf8'));
    edit(manifest);
    await writeFile(path, JSON.stringify(manifest));
  }

  beforeAll(async () => {
    work = await tempDir('verify');
    root = join(work, 'backup');
    app = join(work, 'app');
    configRoot = join(work, 'root');
    await makeApp(app, '1.0.0');
    await mkdir(join(configRoot, 'etc', 'app'), { recursive: true });
    await writeFile(join(configRoot, 'etc', 'app', 'env'), 'JAVA_OPTS=-Xmx1g\n');
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  it('exclude patterns follow tar: names anywhere, paths from the root', () => {
    const excluded = excludeMatcher(['*.log', 'tmp', 'data/cache/*', '**/*.swp']);
    expect(excluded('./logs/app.log')).toBe(true);
    expect(excluded('tmp')).toBe(true);
    expect(excluded('lib/tmp/x')).toBe(true);
    expect(excluded('data/cache/a')).toBe(true);
    expect(excluded('data/cache/a/b')).toBe(true);
    expect(excluded('x/data/cache/a')).toBe(false);
    expect(excluded('a/b/.x.swp')).toBe(true);
    expect(excluded('lib/app.jar')).toBe(false);
    expect(excluded('logfile.txt')).toBe(false);
  });

  it('a fresh backup verifies; an archive changed afterwards is refused, naming the file and why', async () => {
    const id = await fresh();
    expect(await verifyBackup(host, root, id)).toMatchObject({ ok: true, problems: [] });
    const archive = join(root, id, 'program_directory.tar.gz');
    const bytes = await readFile(archive);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0xff;
    await writeFile(archive, bytes);
    const tampered = await verifyBackup(host, root, id);
    expect(tampered.ok).toBe(false);
    expect(tampered.problems).toEqual([
      {
        item: 'program_directory',
        file: 'program_directory.tar.gz',
        reason: expect.stringMatching(
          /^sha256 is [0-9a-f]{64}, the manifest says [0-9a-f]{64}: the file was changed after the backup$/,
        ),
      },
    ]);
    // Someone who also fixes the checksum in the manifest still meets the archive's own checks.
    const sum = await host.sha256(archive);
    await editManifest(id, (m) => {
      m.backup_files.program_directory.sha256 = sum;
    });
    const second = await verifyBackup(host, root, id);
    expect(second.problems[0]?.reason).toMatch(/^the archive cannot be read to its end \(.+\)$/);
    // And a rollback refuses it before doing anything.
    const state = await StateStore.open({ filename: join(work, 'state.sqlite') });
    const error = await new Rollback({ state, component: 'app', root, yes: true }).auto(id).catch((e) => e);
    await state.close();
    expect(isUpgradeKitError(error, 'UPGRADEKIT_BACKUP_INVALID')).toBe(true);
    expect(error.message).toContain(
      `backup ${id} on local cannot be used for a rollback: program_directory.tar.gz:`,
    );
  });

  it('refuses manifests that point outside the backup or are not manifests', async () => {
    const id = await fresh();
    await editManifest(id, (m) => {
      m.backup_files.program_directory.file = '../../outside.tar.gz';
    });
    expect((await verifyBackup(host, root, id)).problems[0]?.reason).toMatch(
      /names the file "..\/..\/outside.tar.gz", which is not a plain file name inside the backup directory/,
    );
    await editManifest(id, (m) => {
      m.backup_files.program_directory.file = 'program_directory.tar.gz';
      m.backup_files.system_config.config_paths = ['/etc/passwd'];
    });
    expect((await verifyBackup(host, root, id)).problems[0]?.reason).toMatch(
      /config path "\/etc\/passwd" is not inside config_root/,
    );
    await writeFile(join(root, id, 'backup_manifest.json'), '{"backup_id": ');
    expect((await verifyBackup(host, root, id)).problems[0]?.reason).toMatch(
      /the manifest is not valid JSON/,
    );
    await writeFile(join(root, id, 'backup_manifest.json'), '{"format": 1}');
    expect((await verifyBackup(host, root, id)).problems[0]?.reason).toMatch(/the manifest's `backup_id`/);
    await expect(verifyBackup(host, root, '../etc')).rejects.toThrow(/"..\/etc" is not a backup id/);
  });

  it('refuses an archive with members that would land outside its directory', async () => {
    const id = await fresh();
    const archive = join(root, id, 'program_directory.tar.gz');
    await rm(archive);
    await writeFile(join(work, 'outside.txt'), 'x');
    await tar.c({ gzip: true, file: archive, cwd: app, preservePaths: true }, ['../outside.txt']);
    const [sum, size] = [await host.sha256(archive), (await stat(archive)).size];
    await editManifest(id, (m) =>
      Object.assign(m.backup_files.program_directory, { sha256: sum, size, entries: 1 }),
    );
    expect((await verifyBackup(host, root, id)).problems[0]?.reason).toMatch(
      /the archive holds "..\/outside.txt", which would land outside its directory/,
    );
  });

  it('bad input is refused before anything is written', async () => {
    const before = (await listBackups(host, root)).length;
    const attempt = async (over: Record<string, unknown>): Promise<Error> => {
      try {
        await createBackup({
          root,
          component: 'app',
          versionFrom: '1',
          versionTo: '2',
          programDir: app,
          ...over,
        } as never);
      } catch (error) {
        return error as Error;
      }
      throw new Error('expected createBackup to refuse the input');
    };
    expect((await attempt({ programDir: join(work, 'nope') })).message).toMatch(
      /the program directory .*nope does not exist/,
    );
    expect((await attempt({ root: 'relative/dir' })).message).toMatch(/`root`: must be an absolute path/);
    expect((await attempt({ programDir: undefined })).message).toMatch(/nothing to back up/);
    expect(
      (await attempt({ databases: [{ engine: 'mariadb', database: 'x`; DROP DATABASE y' }] })).message,
    ).toMatch(/databases\[0\]\.database: must be a plain database name/);
    expect((await attempt({ config: { root: configRoot, paths: ['/etc/hostname'] } })).message).toMatch(
      /config path \/etc\/hostname is not under config.root/,
    );
    expect((await listBackups(host, root)).length).toBe(before);
  });

  it('as an engine step: cleans up a partial backup before the retry, and is skipped when a verified one exists', async () => {
    const stepRoot = join(work, 'step-backup');
    const definition = backupStep({ root: stepRoot, programDir: app });
    let partial = '';
    const make = (dir: string) =>
      createUpgrade({
        component: 'app',
        from: '1.0.0',
        to: '1.1.0',
        site: 's1',
        state: { filename: join(dir, 'state.sqlite') },
      });
    const first = make(await tempDir('step-a'));
    first.step('preUpgrade', {
      ...definition,
      retry: { attempts: 2, minDelayMs: 1, maxDelayMs: 1 },
      run: async (ctx) => {
        if (ctx.attempt === 1) {
          // What a crash half-way leaves: a directory, its in-progress marker, half a file.
          partial = join(stepRoot, 'backup_20200101_000000');
          await mkdir(partial, { recursive: true });
          await writeFile(
            join(partial, '.backup_in_progress.json'),
            JSON.stringify({ component: 'app', site: 's1' }),
          );
          await writeFile(join(partial, 'program_directory.tar.gz'), 'half');
          throw Object.assign(new Error('read ECONNRESET (simulated hiccup)'), { code: 'ECONNRESET' });
        }
        return definition.run(ctx);
      },
    });
    const result = await first.runStage('preUpgrade');
    await first.close();
    expect(result.steps[0]?.error).toBeUndefined();
    expect(result.status).toBe('succeeded');
    expect(result.steps[0]?.attempts).toBe(2);
    const backups = await listBackups(host, stepRoot);
    expect(backups.map((b) => b.status)).toEqual(['ready']);
    expect(backups[0]!.backupId).not.toBe('backup_20200101_000000');

    // A new run (another state database, same upgrade): the verified backup makes the step skip.
    const second = make(await tempDir('step-b'));
    second.step('preUpgrade', definition);
    const again = await second.runStage('preUpgrade');
    await second.close();
    expect(again.steps[0]).toMatchObject({ status: 'skipped', reason: 'skipIf: already done' });
    expect((await listBackups(host, stepRoot)).length).toBe(1);
  });
});
