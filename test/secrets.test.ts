// Issue 20: no secret anywhere. A task whose failure quotes the datasource password (a program
// printing it to stderr — a multi-line password, so a message cut at its first line is tried too),
// run by the CLI (text and --json), `status` after it, and the Action (log, outputs, summary,
// report file); then every text column of the state database. The rule: no 6-character piece of
// any line of the secret appears anywhere.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import { describe, expect, it } from 'vitest';
import { requireService, suiteMariaDbAccount, type TestDatabase } from '#test-support';
import { action } from '../packages/action/test/support.js';
import { cli, sqlite, writeTree } from '../packages/cli/test/support.js';

const hasMariaDB = await requireService('mariadb');

/** Every 6-character piece of every line of `secret` that occurs in `text`. */
function leaks(text: string, secret: string): string[] {
  const found = new Set<string>();
  for (const line of secret.split('\n'))
    for (let i = 0; i + 6 <= line.length; i++)
      if (text.includes(line.slice(i, i + 6))) found.add(line.slice(i, i + 6));
  return [...found];
}

async function stateText(file: string): Promise<string> {
  const db = sqlite(file);
  try {
    const tables = (await db.raw("SELECT name FROM sqlite_master WHERE type = 'table'")) as {
      name: string;
    }[];
    const rows: unknown[] = [];
    for (const { name } of tables) rows.push(...((await db(name).select('*')) as unknown[]));
    return rows.map((row) => JSON.stringify(row)).join('\n');
  } finally {
    await db.destroy();
  }
}

async function tablesText(database: TestDatabase): Promise<string> {
  const knex = knexFactory(database.config);
  try {
    const [tables] = (await knex.raw('SHOW TABLES')) as [Record<string, string>[]];
    const rows = [];
    for (const t of tables)
      rows.push(...((await knex(Object.values(t)[0] as string).select('*')) as unknown[]));
    return rows.map((r) => JSON.stringify(r)).join('\n');
  } finally {
    await knex.destroy();
  }
}

describe.runIf(hasMariaDB)('a secret quoted by a failing task appears on no channel', () => {
  const user = `uk_sec_${process.pid}`;
  const rand = () => Math.random().toString(36).slice(2, 10);
  const password = `k${rand()}Q${rand()}\nz${rand()}W${rand()}`;
  const target = suiteMariaDbAccount('uk_sec', user, password);

  function release(state = false): string {
    const c = target.connection;
    // The program prints the whole password, then its second line alone, to its stderr, and fails.
    const blab =
      "process.stderr.write('connect failed with ' + process.env.UK_SECRET_PW + '\\n' + process.env.UK_SECRET_PW.split('\\n')[1] + '\\n'); process.exit(3)";
    return writeTree(mkdtempSync(join(tmpdir(), 'uk-secret-')), {
      'release/upgradekit.yaml':
        'component: vault\ndatasources:\n  main: { type: mariadb }\ndefaults: { datasource: main }\n',
      'release/versions/2.0.0/tasks.yaml': `tasks:\n  - { id: make, kind: sql, stage: pre_stop, file: make.sql, compatibleFrom: 1.0.0 }\n  - { id: blab, kind: command, stage: pre_stop, compatibleFrom: 1.0.0, command: [node, -e, ${JSON.stringify(blab)}] }\n`,
      'release/versions/2.0.0/make.sql': 'CREATE TABLE IF NOT EXISTS made (id INT PRIMARY KEY);\n',
      'site.yaml': `assessment: { thresholds: { cpuIdlePercent: 0 } }\ndatasources:\n  main: { host: ${c.host}, port: ${c.port}, user: ${user}, database: ${c.database}, passwordEnv: UK_SECRET_PW }\n${
        state
          ? `state: { client: mariadb, host: ${c.host}, port: ${c.port}, user: ${user}, database: ${c.database}, passwordEnv: UK_SECRET_PW }\n`
          : ''
      }`,
    });
  }
  const args = ['--config', 'site.yaml', '--release', 'release', '--from', '1.0.0', '--to', '2.0.0'];

  it('the CLI: run (text and --json), status (text and --json), and the state database', async () => {
    const dir = release();
    const env = { UK_SECRET_PW: password };
    const outputs: Record<string, string> = {};
    const text = cli(['run', '--yes', ...args], { cwd: dir, env });
    expect(text.status, text.stderr).toBe(1);
    // The failure itself reached the operator, masked.
    expect(text.stdout + text.stderr).toContain('connect failed with ***');
    outputs['run (text)'] = text.stdout + text.stderr;
    const json = cli(['run', '--yes', '--json', '--verbose', ...args], { cwd: dir, env });
    outputs['run --json'] = json.stdout + json.stderr;
    const status = cli(['status', ...args], { cwd: dir, env });
    outputs.status = status.stdout + status.stderr;
    const statusJson = cli(['status', '--json', ...args], { cwd: dir, env });
    outputs['status --json'] = statusJson.stdout + statusJson.stderr;
    outputs['state database'] = await stateText(join(dir, '.upgradekit/state.sqlite'));
    expect(outputs['state database']).toContain('connect failed with ***');
    for (const [channel, content] of Object.entries(outputs))
      expect(leaks(content, password), channel).toEqual([]);
  });

  it('the Action: its log, outputs, job summary, report file and the state tables (MariaDB)', async () => {
    const dir = release(true);
    const r = action(
      { command: 'run', release: 'release', config: 'site.yaml', from: '1.0.0', to: '2.0.0', yes: 'true' },
      { UK_SECRET_PW: password },
      { cwd: dir },
    );
    expect(r.status, r.stdout).toBe(1);
    const report = readFileSync(r.outputs.report as string, 'utf8');
    expect(report).toContain('connect failed with ***');
    const channels = {
      // `::add-mask::` lines are read by the runner, which then masks the rest; they are never shown.
      log: (r.stdout + r.stderr)
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n'),
      outputs: JSON.stringify(r.outputs),
      summary: r.summary,
      report,
      'state tables': await tablesText(target),
    };
    expect(channels['state tables']).toContain('connect failed with ***');
    for (const [channel, content] of Object.entries(channels))
      expect(leaks(content, password), channel).toEqual([]);
  });
});
