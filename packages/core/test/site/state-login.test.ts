// Issue 23: a state database that refuses the login is said like a datasource that does — the
// server's words, the configuration line of `state`, no stray `Error:`, never the password.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireService, settings, suiteMariaDbAccount } from '../../../../test/support/index.js';
import {
  ErrorCodes,
  loadSiteConfig,
  openSiteRollback,
  prepareUpgrade,
  type SiteConfig,
} from '../../src/index.js';
import { lastRecordedUpgrade } from '../../src/site/prepare.js';

const hasMariaDB = await requireService('mariadb');

function writeTree(root: string, files: Record<string, string>): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

async function refusal(attempt: () => Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await attempt();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('accepted');
}

describe.runIf(hasMariaDB)('a state database on MariaDB that refuses the login', () => {
  const user = `uk_state_${randomBytes(3).toString('hex')}`;
  const password = `Pw-${randomBytes(6).toString('hex')}`;
  const db = suiteMariaDbAccount('uk_state', user, password);
  let dir: string;
  let config: SiteConfig;

  beforeAll(async () => {
    dir = writeTree(mkdtempSync(join(tmpdir(), 'uk-state-login-')), {
      'release/upgradekit.yaml': 'component: orders\ndatasources:\n  main: { type: sqlite }\n',
      'release/versions/2.0.0/tasks.yaml':
        'tasks:\n  - { id: t2, kind: sql, stage: pre_stop, file: t2.sql, datasource: main, compatibleFrom: 1.0.0 }\n',
      'release/versions/2.0.0/t2.sql': 'CREATE TABLE t2 (id INTEGER PRIMARY KEY);\n',
      'site.yaml': [
        'site: site-9',
        'assessment: { thresholds: { cpuIdlePercent: 0 } }',
        'backup: { root: ./backups, databases: [] }',
        `state: { client: mariadb, host: ${settings.mariadb.host}, port: ${settings.mariadb.port}, user: ${user}, database: ${db.name}, passwordEnv: UK_STATE_PW }`,
        '',
      ].join('\n'),
    });
    config = loadSiteConfig({ file: 'site.yaml', cwd: dir });
  });

  const wrong = () => ({ UK_STATE_PW: `${password}-wrong` });
  const prepare = (env: Record<string, string>) =>
    prepareUpgrade({ release: join(dir, 'release'), from: '1.0.0', to: '2.0.0', config, env, cwd: dir });

  const expectStateRefusal = (error: Error & { code?: string }) => {
    expect(error.code).toBe(ErrorCodes.CONNECTION);
    expect(error.message).toMatch(
      new RegExp(
        `^state: cannot prepare the state database \\(mariadb database ${db.name} on ${settings.mariadb.host}:${settings.mariadb.port}\\): ER_ACCESS_DENIED_ERROR: Access denied for user '${user}'`,
      ),
    );
    expect(error.message).toContain('— check site.yaml:4 state, its password and that the server is up');
    expect(error.message).not.toContain('Error:');
    expect(error.message).not.toContain(password);
  };

  it('prepareUpgrade says so before anything runs, naming the line of `state`', async () => {
    expectStateRefusal(await refusal(() => prepare(wrong())));
  });

  it('status without versions (lastRecordedUpgrade) and rollback (openSiteRollback) say the same', async () => {
    expectStateRefusal(
      await refusal(() => lastRecordedUpgrade('orders', config, { env: wrong(), cwd: dir })),
    );
    expectStateRefusal(
      await refusal(() =>
        openSiteRollback({ config, env: wrong(), component: 'orders', credentials: false }),
      ),
    );
  });

  it('an empty variable (an undefined CI secret) is named as the likely cause', async () => {
    const error = await refusal(() => prepare({ UK_STATE_PW: '' }));
    expect(error.message).toContain('check site.yaml:4 state');
    expect(error.message).toContain('the environment variable UK_STATE_PW (passwordEnv) is empty');
  });

  it('the right password prepares the upgrade', async () => {
    const prepared = await prepare({ UK_STATE_PW: password });
    try {
      expect((await prepared.upgrade.dryRun()).map((s) => s.id)).toContain('t2');
    } finally {
      await prepared.close();
    }
  });
});
