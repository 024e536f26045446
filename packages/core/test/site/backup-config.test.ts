// The site configuration's `backup:` section, read into backup and rollback options: every mistake
// named by its field before anything connects, and a configured run backs up before any task.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backupSettings, loadRelease, loadSiteConfig, prepareUpgrade, type Release } from '@upgradekit/core';
import { beforeAll, describe, expect, it } from 'vitest';

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
        'hosts: [{ name: app-1, host: 10.0.0.1, user: deploy }]\nbackup: { root: backups, host: app-1, component: x }\n',
      ),
    ).toContain('backup.root: backups must be an absolute path on app-1');
    expect(bad('backup: { root: /b, host: app-9, component: x }\n')).toContain(
      'backup.host: "app-9" is not a name in hosts (none)',
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
      prepared.upgrade.hooks.postUpgrade({ id: 'look', run: (ctx) => void (seen = ctx.hosts) });
      await prepared.upgrade.runStage('postUpgrade');
      expect(seen).toEqual([
        { name: 'app-1', address: '127.0.0.9', port: 2222, user: 'deploy', roles: ['primary'] },
      ]);
    } finally {
      await prepared.close();
    }
  });
});
