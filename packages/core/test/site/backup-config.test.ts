// The site configuration's `backup:` section, read into backup and rollback options: every mistake
// named by its field before anything connects, and a configured run backs up before any task.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BackupManifest,
  loadRelease,
  loadSiteConfig,
  prepareUpgrade,
  type Release,
  rollbackModeFromRelease,
} from '@upgradekit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { backupSettings } from '../../src/config/backup.js';
import { siteBackupStep } from '../../src/site/backup.js';

const demo = fileURLToPath(new URL('../../../../examples/demo', import.meta.url));

function config(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'uk-site-backup-'));
  writeFileSync(join(dir, 'site.yaml'), yaml);
  return { dir, config: loadSiteConfig({ file: join(dir, 'site.yaml'), cwd: dir }) };
}

const release = (datasources: Release['datasources']): Release =>
  ({ component: 'orders', datasources }) as unknown as Release;

describe('backupSettings', () => {
  it('resolves relative paths against the config file and takes engines and credentials from the datasources', () => {
    const { dir, config: c } = config(
      [
        'datasources:',
        '  main: { host: db1, port: 3307, database: app, passwordEnv: UK_T_PW }',
        '  events: { url: "http://ch1:8124", user: reader, database: ev }',
        '  cache: { filename: cache.sqlite }',
        'backup: { root: backups, programDir: /opt/app, config: { paths: [etc/app.conf], root: . } }',
        '',
      ].join('\n'),
    );
    const s = backupSettings(c, {
      release: release({
        main: { type: 'mariadb' },
        events: { type: 'clickhouse' },
        cache: { type: 'sqlite' },
      } as never),
      env: { UK_T_PW: 'pw' },
    });
    expect(s.component).toBe('orders');
    expect(s.site).toBe('default');
    expect(s.options.root).toBe(join(dir, 'backups'));
    expect(s.options.config).toEqual({ paths: [join(dir, 'etc/app.conf')], root: dir });
    // SQLite is a file, left out of the default list; two databases get a name each.
    expect(s.options.databases).toEqual([
      {
        name: 'main',
        engine: 'mariadb',
        database: 'app',
        host: 'db1',
        port: 3307,
        password: 'pw',
        user: 'root',
      },
      { name: 'events', engine: 'clickhouse', database: 'ev', host: 'ch1', port: 8124, user: 'reader' },
    ]);
  });

  it('names the field and what to do for each mistake', () => {
    const bad = (yaml: string, options: Parameters<typeof backupSettings>[1] = {}) => {
      try {
        backupSettings(config(yaml).config, options);
      } catch (error) {
        return (error as Error & { code: string }).message;
      }
      throw new Error('expected an error');
    };
    const withMain = release({ main: { type: 'mariadb' }, cache: { type: 'sqlite' } } as never);
    expect(bad('site: s\n')).toContain('has no backup: section');
    expect(bad('backup: { root: /b }\n')).toContain('backup.component: which component?');
    expect(bad('backup: { root: /b, databases: [cache] }\n', { release: withMain })).toContain(
      'backup.databases[0]: "cache" is a SQLite file',
    );
    expect(bad('backup: { root: /b, databases: [main] }\n', { release: withMain })).toContain(
      'backup.databases[0]: "main" has no connection: add datasources.main',
    );
    expect(bad('backup: { root: /b, component: x, databases: [main] }\n')).toContain(
      'say which engine "main" is',
    );
    expect(
      bad(
        'hosts: [{ name: app-1, host: 10.0.0.1, user: deploy }]\nbackup: { root: backups, host: app-1, component: x, databases: [] }\n',
      ),
    ).toContain('backup.root: backups must be an absolute path on app-1');
    expect(bad('backup: { root: /b, host: app-9, component: x, databases: [] }\n')).toContain(
      'backup.host: "app-9" is not a name in hosts (none)',
    );
    // Without a release, a rollback would not know what to restore with which credentials.
    expect(bad('backup: { root: /b, component: x }\n')).toContain(
      'backup.databases: without --release the datasources to restore are unknown',
    );
    expect(
      bad(
        'datasources: { ev: { url: "https://ch:8443" } }\nbackup: { root: /b, component: x, databases: [{ datasource: ev, engine: clickhouse }] }\n',
      ),
    ).toContain('datasources.ev.url: https:// is not supported by ClickHouse backups');
    const remote = 'hosts: [{ name: db-host, host: 10.0.0.1, user: deploy }]\n';
    expect(
      bad(
        `${remote}datasources: { main: { database: app, passwordEnv: UK_T_PW } }\nbackup: { root: /b, host: db-host, component: x, databases: [{ datasource: main, engine: mariadb }] }\n`,
        {
          env: { UK_T_PW: 'pw' },
        },
      ),
    ).toContain('backup.databases[0]: the password of "main" cannot be handed to the dump tool on db-host');
    expect(
      bad(
        `${remote}datasources: { ev: { url: "http://ch:8123" } }\nbackup: { root: /b, host: db-host, component: x, databases: [{ datasource: ev, engine: clickhouse }] }\n`,
      ),
    ).toContain('"ev" is ClickHouse, saved over its HTTP interface from this machine');
  });

  it('on a remote host, a password is named by a file the host has, never passed on', () => {
    const { config: c } = config(
      'hosts: [{ name: db-host, host: 10.0.0.1, user: deploy }]\ndatasources: { main: { database: app, passwordEnv: UK_T_PW } }\nbackup: { root: /b, host: db-host, component: x, databases: [{ datasource: main, engine: mariadb, defaultsFile: /etc/app/backup.cnf }] }\n',
    );
    const s = backupSettings(c, { env: { UK_T_PW: 'pw' } });
    expect(s.host?.name).toBe('db-host');
    expect(s.options.databases).toEqual([
      expect.objectContaining({ engine: 'mariadb', database: 'app', defaultsFile: '/etc/app/backup.cnf' }),
    ]);
    expect(JSON.stringify(s)).not.toContain('"pw"');
  });

  it("a backup.component other than the release's is refused for the run's backup step", () => {
    const { config: c } = config('backup: { root: /b, component: other }\n');
    expect(() => siteBackupStep(c, { release: release({} as never) })).toThrow(
      /backup\.component: is other, but the release upgrades orders/,
    );
    // The same for `plan` and `rollback --release`, which read the section through backupSettings.
    expect(() => backupSettings(c, { release: release({} as never), credentials: false })).toThrow(
      /backup\.component: is other/,
    );
  });

  it('a schema mistake is reported with file and line', () => {
    expect(() => config('backup:\n  root: /b\n  services: { stop: { pidFile: /p, unit: u } }\n')).toThrow(
      /site\.yaml:3 backup\.services\.stop: give exactly one of pidFile or unit/,
    );
  });
});

describe('prepareUpgrade with a site configuration', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'uk-site-prepare-'));
    writeFileSync(
      join(dir, 'site.yaml'),
      'hosts: [{ name: app-1, host: 127.0.0.9, port: 2222, user: deploy, roles: [primary] }]\nbackup: { root: backups, programDir: . }\n',
    );
  });

  it('backs up first in preUpgrade, and gives hooks the site hosts with port and user', async () => {
    const prepared = await prepareUpgrade({
      release: await loadRelease(demo),
      from: '2.16.6',
      to: '2.16.7',
      config: loadSiteConfig({ file: join(dir, 'site.yaml'), cwd: dir }),
      cwd: dir,
    });
    try {
      expect(prepared.upgrade.planned('preUpgrade')[0]).toMatchObject({
        id: 'backup',
        name: 'Verified backup',
      });
      let seen: unknown;
      prepared.upgrade.hooks.postUpgrade({
        id: 'look',
        run: (ctx) => {
          seen = ctx.hosts;
        },
      });
      await prepared.upgrade.runStage('postUpgrade');
      expect(seen).toEqual([
        { name: 'app-1', address: '127.0.0.9', port: 2222, user: 'deploy', roles: ['primary'] },
      ]);
    } finally {
      await prepared.close();
    }
  });
});

describe('rollbackModeFromRelease', () => {
  it('keeps the data only when every task of the backed-up upgrade is additive', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uk-additive-'));
    const files: Record<string, string> = {
      'upgradekit.yaml':
        'component: orders\ndatasources:\n  main: { type: sqlite }\ndefaults: { datasource: main }\n',
      'versions/2.0.0/tasks.yaml':
        'tasks:\n  - { id: add-notes, kind: sql, stage: pre_stop, file: a.sql, additive: true, compatibleFrom: 1.0.0 }\n',
      'versions/2.0.0/a.sql': 'ALTER TABLE orders ADD COLUMN notes TEXT;\n',
      'versions/3.0.0/tasks.yaml':
        'tasks:\n  - { id: drop-legacy, kind: sql, stage: pre_stop, file: d.sql, compatibleFrom: 2.0.0 }\n',
      'versions/3.0.0/d.sql': 'DROP TABLE legacy;\n',
    };
    for (const [path, text] of Object.entries(files)) {
      const file = join(dir, path);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, text);
    }
    const judge = rollbackModeFromRelease(await loadRelease(dir), 'site-1');
    const manifest = (from: string, to: string) => ({ version_from: from, version_to: to }) as BackupManifest;
    expect(judge(manifest('1.0.0', '2.0.0'))).toEqual({
      compatible: true,
      reason: 'all 1 task(s) of 1.0.0 → 2.0.0 are additive: the data is kept',
    });
    expect(judge(manifest('1.0.0', '3.0.0'))).toEqual({
      compatible: false,
      reason: 'task drop-legacy (3.0.0) of 1.0.0 → 3.0.0 is not marked additive: the data is restored too',
    });
    expect(judge(manifest('3.0.0', '3.0.1')).reason).toBe(
      'no task of 3.0.0 → 3.0.1 changes data: the data is kept',
    );
    const unreadable = judge(manifest('not-a-version', '3.0.0'));
    expect(unreadable.compatible).toBe(false);
    expect(unreadable.reason).toMatch(/^release orders cannot say what not-a-version → 3\.0\.0 changed \(/);
  });
});
