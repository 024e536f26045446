// `upgradekit backup` and `rollback auto` with the documented defaults, for real: `backup.config`
// without a root (so `/`), and a service that logs to `<programDir>/logs`. Nothing is written to
// this machine's `/`: each command runs in a mount namespace of its own (`unshare --mount
// --map-root-user`) where a temporary tree is bind-mounted over an existing directory such as
// /srv, so the site's files are at `/srv/etc/app.conf`, `/srv/opt/app`, … and the archive holds
// `srv/etc/app.conf` relative to `/`. Read-only bind mounts inside that namespace are the real
// failures for steps 3 and 4: the rollback stops, the path is untouched, and the next `rollback
// auto` finishes it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, freePort, requireService, type TestDatabase } from '#test-support';
import { alive, bin, writeTree } from './support.js';

const hasMariaDB = await requireService('mariadb');
const canUnshare = spawnSync('unshare', ['--mount', '--map-root-user', 'true']).status === 0;
// An existing directory of `/` to mount the site over (only inside the namespace).
const standIn = ['/srv', '/mnt', '/media'].find((d) => existsSync(d) && statSync(d).isDirectory());

// Mounts $1 over $2, then each path up to `--` read-only over itself, then runs the rest.
const IN_NAMESPACE = `set -e
mount --bind "$1" "$2"; shift 2
while [ "$1" != "--" ]; do mount --bind "$1" "$1"; mount -o remount,bind,ro "$1"; shift; done
shift; exec "$@"`;

type Step = { step: number; status: string; error?: string };
type Result = { status: string; steps: Step[]; kept: { kind: string; original: string; aside: string }[] };

describe.runIf(hasMariaDB && canUnshare && standIn)(
  `rollback with backup.config's default root / (a temporary tree mounted over ${standIn} in a namespace)`,
  () => {
    const S = standIn!;
    let db: TestDatabase;
    let dir: string;
    let site: string; // what S is inside the namespace
    let port: number;
    const pids: number[] = [];
    const file = (path: string) => join(site, path);

    /** `upgradekit …` in a mount namespace where `site` is `S`, and `readOnly` (paths under S) are read-only. */
    function upgradekit(args: string[], readOnly: string[] = []) {
      const result = spawnSync(
        'unshare',
        [
          '--mount',
          '--map-root-user',
          '--',
          'sh',
          '-c',
          IN_NAMESPACE,
          'sh',
          site,
          S,
          ...readOnly,
          '--',
          process.execPath,
          bin,
          ...args,
          '--config',
          'site.yaml',
          '--release',
          'release',
          '--json',
        ],
        {
          cwd: dir,
          env: { ...process.env, CI: 'true', NO_COLOR: '1', UK_DB_PW: db.connection.password },
          encoding: 'utf8',
          timeout: 120_000,
        },
      );
      return { ...result, json: <T = Result>() => JSON.parse(result.stdout) as T };
    }

    const values = async () => {
      const knex = knexFactory(db.config);
      try {
        return (await knex('orders').orderBy('id').pluck('state')).join(',');
      } finally {
        await knex.destroy();
      }
    };

    /** The 2.0.0 upgrade, done as the pipeline would, with the 2.0.0 service running. */
    async function upgrade(): Promise<void> {
      const knex = knexFactory(db.config);
      await knex('orders').update({ state: 'migrated' });
      await knex.destroy();
      writeTree(site, {
        'opt/app/VERSION': '2.0.0\n',
        'opt/app/lib/new-in-2.jar': 'x',
        'opt/app/logs/new.log': 'written by 2.0.0\n',
        'etc/app.conf': 'mode=2\n',
        'etc/app.d/extra.conf': 'only in 2.0.0\n',
      });
      const pidFile = file('run/app.pid');
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8'));
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
      const server = spawn(process.execPath, [file('opt/app/server.cjs'), String(port)], {
        cwd: file('opt/app'),
        detached: true,
        stdio: 'ignore',
      });
      server.unref();
      pids.push(server.pid!);
      writeFileSync(pidFile, `${server.pid}\n`);
      await new Promise((r) => setTimeout(r, 300));
    }

    async function expectRolledBack(): Promise<void> {
      expect(readFileSync(file('opt/app/VERSION'), 'utf8')).toBe('1.0.0\n');
      expect(existsSync(file('opt/app/lib/new-in-2.jar'))).toBe(false);
      expect(readFileSync(file('etc/app.conf'), 'utf8')).toBe('mode=1\n');
      expect(existsSync(file('etc/app.d/extra.conf'))).toBe(false);
      expect(readFileSync(file('etc/app.d/base.conf'), 'utf8')).toBe('base\n');
      expect(await values()).toBe('new,paid');
      // The restored service started, logging under the program directory; the old logs are kept.
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok 1.0.0');
      expect(readFileSync(file('opt/app/logs/old.log'), 'utf8')).toBe('before the upgrade\n');
      expect(readFileSync(file('opt/app/logs/new.log'), 'utf8')).toBe('written by 2.0.0\n');
      expect(readFileSync(file('opt/app/logs/server.log'), 'utf8')).toContain('1.0.0 listening');
      pids.push(Number(readFileSync(file('run/app.pid'), 'utf8')));
    }

    beforeAll(async () => {
      db = await createTestDatabase('mariadb', 'ukroot');
      const knex = knexFactory(db.config);
      await knex.raw('CREATE TABLE orders (id INT PRIMARY KEY, state VARCHAR(16))');
      await knex('orders').insert([
        { id: 1, state: 'new' },
        { id: 2, state: 'paid' },
      ]);
      await knex.destroy();
      port = await freePort();
      const c = db.connection;
      dir = mkdtempSync(join(tmpdir(), 'uk-rollback-root-'));
      site = mkdtempSync(join(tmpdir(), 'uk-rollback-root-site-'));
      writeTree(site, {
        'opt/app/VERSION': '1.0.0\n',
        'opt/app/logs/old.log': 'before the upgrade\n',
        // Logs to stdout, which startService appends to <programDir>/logs/server.log.
        'opt/app/server.cjs': [
          "const version = require('node:fs').readFileSync(__dirname + '/VERSION', 'utf8').trim();",
          "require('node:http').createServer((q, r) => r.end('ok ' + version))",
          "  .listen(Number(process.argv[2]), '127.0.0.1', () => console.log(version + ' listening'));",
          '',
        ].join('\n'),
        'etc/app.conf': 'mode=1\n',
        'etc/app.d/base.conf': 'base\n',
        'run/.keep': '',
      });
      writeTree(dir, {
        'release/upgradekit.yaml':
          'component: shop\ndatasources:\n  main: { type: mariadb }\ndefaults: { datasource: main }\n',
        'release/versions/2.0.0/tasks.yaml':
          'tasks:\n  - { id: migrate, kind: sql, stage: in_stop, file: m.sql, compatibleFrom: 1.0.0 }\n',
        'release/versions/2.0.0/m.sql': "UPDATE orders SET state = 'migrated';\n",
        // As docs/backup.md shows it: no config root, so `/`.
        'site.yaml': [
          'site: site-r',
          'datasources:',
          `  main: { host: ${c.host}, port: ${c.port}, user: ${c.user}, database: ${c.database}, passwordEnv: UK_DB_PW }`,
          'backup:',
          '  root: backups',
          `  programDir: ${S}/opt/app`,
          `  config: { paths: [${S}/etc/app.conf, ${S}/etc/app.d] }`,
          '  services:',
          `    stop: { pidFile: ${S}/run/app.pid, graceMs: 5000 }`,
          `    start: { command: [${JSON.stringify(process.execPath)}, server.cjs, "${port}"], cwd: ${S}/opt/app, log: ${S}/opt/app/logs/server.log, pidFile: ${S}/run/app.pid, timeoutMs: 20000 }`,
          `    health: http://127.0.0.1:${port}/`,
          '',
        ].join('\n'),
      });
    });

    afterAll(async () => {
      for (const pid of pids) if (pid > 1 && alive(pid)) process.kill(pid, 'SIGKILL');
      await db?.drop();
    });

    it('backs up under /, and a rollback stopped by a read-only directory at step 4, then at step 3, finishes when run again', async () => {
      const backup = upgradekit(['backup', '--from', '1.0.0', '--to', '2.0.0']);
      expect(backup.status, backup.stderr).toBe(0);
      const { manifest } = backup.json<{ manifest: { backup_files: Record<string, unknown> } }>();
      expect(manifest.backup_files.system_config).toMatchObject({
        config_root: '/',
        config_paths: [`${S}/etc/app.conf`, `${S}/etc/app.d`],
      });

      // Step 4 cannot write beside the configuration: it stops, and the configuration is still there.
      await upgrade();
      const four = upgradekit(['rollback', 'auto'], [`${S}/etc`]);
      expect(four.status, four.stderr).toBe(1);
      const failed = four.json();
      expect(failed.steps.map((s) => s.status)).toEqual([
        'succeeded',
        'succeeded',
        'succeeded',
        'failed',
        'pending',
        'pending',
      ]);
      expect(failed.steps[3]!.error).toMatch(
        new RegExp(
          `^could not restore ${S}/etc/app.conf on local: .*read-only file system.*; nothing was changed at ${S}/etc/app.conf$`,
          'i',
        ),
      );
      expect(readFileSync(file('etc/app.conf'), 'utf8')).toBe('mode=2\n');
      expect(failed.kept).toEqual([
        expect.objectContaining({
          kind: 'path',
          original: `${S}/opt/app`,
          aside: `${S}/opt/app.upgradekit-aside-rollback_001`,
        }),
        expect.objectContaining({ kind: 'database', original: db.name, aside: `${db.name}_uk001` }),
      ]);
      expect(four.stderr).toContain(
        `to put it back by hand: mv -T -- ${S}/opt/app ${S}/opt/app.upgradekit-restored-rollback_001 && mv -T -- ${S}/opt/app.upgradekit-aside-rollback_001 ${S}/opt/app`,
      );

      const again = upgradekit(['rollback', 'auto']);
      expect(again.status, again.stderr).toBe(0);
      expect(again.json()).toMatchObject({ status: 'completed', kept: [] });
      await expectRolledBack();

      // Step 3 cannot write beside the program directory: it stops, the 2.0.0 directory is untouched.
      await upgrade();
      const three = upgradekit(['rollback', 'auto'], [`${S}/opt`]);
      expect(three.status, three.stderr).toBe(1);
      const stopped = three.json();
      expect(stopped.steps.map((s) => s.status).slice(0, 4)).toEqual([
        'succeeded',
        'succeeded',
        'failed',
        'succeeded',
      ]);
      expect(stopped.steps[2]!.error).toContain(`nothing was changed at ${S}/opt/app`);
      expect(readFileSync(file('opt/app/VERSION'), 'utf8')).toBe('2.0.0\n');
      const last = upgradekit(['rollback', 'auto']);
      expect(last.status, last.stderr).toBe(0);
      await expectRolledBack();
      expect(readFileSync(file('opt/app/logs/server.log'), 'utf8').match(/1\.0\.0 listening/g)).toHaveLength(
        2,
      );
    }, 180_000);
  },
);
