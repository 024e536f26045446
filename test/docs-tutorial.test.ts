// docs/getting-started.md and docs/tutorial.md, executed straight from the Markdown.
//
// Conventions of those pages (test/docs/tutorial-markdown.ts):
//   ```sh               run with `bash -euo pipefail`, in page order, in one fresh temporary
//                       directory; variables a block assigns, and its `cd`, carry over to the next
//                       block as in one terminal. Every block must exit 0: a command expected to
//                       fail says so in the page and ends with `|| test $? -eq N`, and an output
//                       block after it shows the message, so a command that wrongly succeeds fails
//                       the test too.
//   ```sh skip-test     not run (cloning the repository, `npm ci`): counted, so the numbers below
//                       change when a page gains or loses one.
//   ```LANG file=PATH   the test writes the block to PATH (relative to the current directory of the
//                       blocks); with `keep-line-1` below the file's existing first line, which
//                       must be the `# yaml-language-server: $schema=…` line `init` wrote.
//   ```text output      each non-empty line must be printed, in order, by the sh blocks since the
//                       previous output block (stdout, then stderr); `…` matches any text, runs
//                       of white space count as one space.
// Other blocks (```yaml without file=, ```text without output) are illustrations and not run.
//
// The environment: `upgradekit` on PATH is this checkout's built CLI (packages/cli/dist/bin.js:
// `npm run build` first — `npm test` does it by type-checking), UPGRADEKIT_REPO is this checkout
// (getting started's install step sets it), DB a fresh MariaDB database name for the tutorial
// (which reads `${DB:-shop}`).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { requireService, settings } from '#test-support';
import { checkAgainstItsSchema } from './docs/tutorial-json-schema.js';
import { blocks, runPage } from './docs/tutorial-markdown.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cliBin = join(root, 'packages/cli/dist/bin.js');

function environment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const bin = mkdtempSync(join(tmpdir(), 'uk-docs-bin-'));
  writeFileSync(join(bin, 'upgradekit'), `#!/bin/sh\nexec '${process.execPath}' '${cliBin}' "$@"\n`, {
    mode: 0o755,
  });
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH}`, NO_COLOR: '1' };
  for (const name of Object.keys(env)) if (name.startsWith('UPGRADEKIT_')) delete env[name];
  delete env.DB;
  return { ...env, UPGRADEKIT_REPO: root, ...extra };
}

function fresh(prefix: string) {
  const base = mkdtempSync(join(tmpdir(), prefix));
  const cwd = join(base, 'work');
  const stateDir = join(base, 'shell');
  mkdirSync(cwd);
  mkdirSync(stateDir);
  return { cwd, stateDir };
}

describe('the Markdown runner', () => {
  it('fails a page whose block fails, and one whose output is not printed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uk-docs-self-'));
    const page = join(dir, 'page.md');
    writeFileSync(
      page,
      '## A\n\n```sh\nX=1\necho "x is $X"\n```\n\n```sh\necho "still $X"\n```\n\n```text output\nx is 1\nstill …\n```\n',
    );
    expect(await runPage(page, { ...fresh('uk-docs-self-'), env: environment() })).toEqual({
      ran: 2,
      skipped: 0,
      files: 0,
      outputs: 1,
    });
    writeFileSync(page, '```sh\necho printed\n```\n\n```text output\nnot printed\n```\n');
    await expect(runPage(page, { ...fresh('uk-docs-self-'), env: environment() })).rejects.toThrow(
      'not printed: "not printed"',
    );
    writeFileSync(page, '```sh\nfalse\necho after\n```\n');
    await expect(runPage(page, { ...fresh('uk-docs-self-'), env: environment() })).rejects.toThrow('exit 1');
  });
});

describe('docs/getting-started.md', () => {
  it('runs as written: the demo, init, plan, dry run, run, status', async () => {
    expect(existsSync(cliBin), 'run `npm run build` first').toBe(true);
    const { cwd, stateDir } = fresh('uk-docs-start-');
    const page = join(root, 'docs/getting-started.md');
    const result = await runPage(page, { cwd, stateDir, env: environment(), timeoutMs: 30_000 });
    expect(result).toEqual({ ran: 10, skipped: 1, files: 0, outputs: 8 });
    // The release init wrote names schemas that resolve from each file and that it validates against.
    for (const [file, id] of [
      ['billing/my-release/upgradekit.yaml', 'https://upgradekit.dev/schema/upgradekit.schema.json'],
      ['billing/my-release/versions/1.0.0/tasks.yaml', 'https://upgradekit.dev/schema/tasks.schema.json'],
    ] as const) {
      expect(checkAgainstItsSchema(join(cwd, file), id).problems).toEqual([]);
    }
    // The demo's files in the first directory, the new release's in its own.
    expect(readdirSync(join(cwd, '.upgradekit')).sort()).toEqual(['main.sqlite', 'state.sqlite']);
    expect(readdirSync(join(cwd, 'billing/.upgradekit')).sort()).toEqual(['main.sqlite', 'state.sqlite']);
  }, 60_000);
});

const hasMariaDB = await requireService('mariadb');

describe.runIf(hasMariaDB)('docs/tutorial.md', () => {
  const db = `uk_tut_${randomBytes(4).toString('hex')}`;
  const admin = () => mysql.createConnection({ ...settings.mariadb, database: undefined });

  afterAll(async () => {
    const c = await admin();
    for (const name of [db, `${db}_upgradekit`, `${db}_uk001`])
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await c.query(`DROP USER IF EXISTS '${db}'@'127.0.0.1'`);
    await c.end();
  });

  it('runs as written: two versions, backups, a rollback and the upgrade again, on MariaDB', async () => {
    expect(existsSync(cliBin), 'run `npm run build` first').toBe(true);
    const { cwd, stateDir } = fresh('uk-docs-tutorial-');
    const page = join(root, 'docs/tutorial.md');
    let checkedBeforeCleanUp = false;
    const result = await runPage(page, {
      cwd,
      stateDir,
      env: environment({ DB: db }),
      timeoutMs: 30_000,
      before: async (block) => {
        if (block.heading !== 'Clean up' || checkedBeforeCleanUp) return;
        checkedBeforeCleanUp = true;
        // The end state the page promises: 1.1.0's schema and data again, after the rollback.
        const c = await admin();
        try {
          const [columns] = await c.query(
            'SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
            [db, 'customers'],
          );
          expect((columns as { c: string }[]).map((r) => r.c)).toEqual(['id', 'name', 'email']);
          const [rows] = await c.query(`SELECT id, name, email FROM \`${db}\`.customers ORDER BY id`);
          expect(rows).toEqual([
            { id: 1, name: 'Ada', email: 'ada@example.com' },
            { id: 2, name: 'Grace', email: 'grace@example.com' },
          ]);
          const [rollbacks] = await c.query(
            `SELECT rollback_id AS id, status, mode FROM \`${db}_upgradekit\`.upgradekit_rollbacks`,
          );
          expect(rollbacks).toEqual([{ id: 'rollback_001', status: 'completed', mode: 'full' }]);
          // The rollback dropped what it had moved aside once it verified.
          const [aside] = await c.query('SHOW DATABASES LIKE ?', [`${db}\\_uk%`]);
          expect(aside).toEqual([]);
        } finally {
          await c.end();
        }
        expect(readFileSync(join(cwd, 'app/VERSION'), 'utf8')).toBe('1.1.0\n');
        // One backup per upgrade: before 1.0.0 and before 1.1.0; the upgrade again reused the second.
        expect(readdirSync(join(cwd, 'backups')).filter((d) => d.startsWith('backup_'))).toHaveLength(2);
        for (const [file, id] of [
          ['my-release/upgradekit.yaml', 'https://upgradekit.dev/schema/upgradekit.schema.json'],
          ['my-release/versions/1.0.0/tasks.yaml', 'https://upgradekit.dev/schema/tasks.schema.json'],
          ['my-release/versions/1.1.0/tasks.yaml', 'https://upgradekit.dev/schema/tasks.schema.json'],
        ] as const) {
          expect(checkAgainstItsSchema(join(cwd, file), id).problems).toEqual([]);
        }
      },
    });
    expect(checkedBeforeCleanUp).toBe(true);
    expect(result).toEqual({ ran: 20, skipped: 0, files: 4, outputs: 14 });
    // The clean-up block ran: the databases are gone.
    const c = await admin();
    const [left] = await c.query('SHOW DATABASES LIKE ?', [`${db}%`]);
    await c.end();
    expect(left).toEqual([]);
    // Every sh block of the page ran: none is marked skip-test.
    expect(blocks(page).filter((b) => b.kind === 'skip')).toEqual([]);
  }, 90_000);
});
