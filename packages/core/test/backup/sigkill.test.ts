// A rollback killed with SIGKILL in the middle of restoring (a real child process, a real kill),
// then continued: the interrupted rollback is found in the history, the pre-rollback database is
// still there (moved aside, never dropped), and `auto` finishes it — ending identical to the backup.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBackup, Rollback, StateStore } from '@upgradekit/core';
import knexFactory from 'knex';
import { describe, expect, it } from 'vitest';
import { requireService, suiteDatabase } from '#test-support';
import { backupWorkspace, canonicalDump, databaseSpec, makeApp, snapshot, withKnex } from './support.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/rollback-child.ts', import.meta.url));
const hasMariaDB = await requireService('mariadb');

describe.runIf(hasMariaDB)('a rollback killed mid-restore', () => {
  const db = suiteDatabase('mariadb', 'uk_kill');
  // The databases the rollback set aside: the suite drops only its own.
  const ws = backupWorkspace('sigkill', { asidesOf: db });
  const target = { component: 'job', site: 'k' };

  it('is detected and continued after SIGKILL, and ends identical to the backup', async () => {
    await withKnex(db, async (knex) => {
      await knex.raw(
        'CREATE TABLE job_log (id INT AUTO_INCREMENT PRIMARY KEY, job_id INT, msg VARCHAR(255))',
      );
      await knex.batchInsert(
        'job_log',
        Array.from({ length: 1000 }, (_, i) => ({ job_id: i, msg: `${'x'.repeat(150)} ${i}` })),
        500,
      );
      // Enough rows that loading the dump takes a while: the kill lands inside it.
      for (let i = 0; i < 7; i++)
        await knex.raw('INSERT INTO job_log (job_id, msg) SELECT job_id, msg FROM job_log');
    });
    const { root, stateFile } = ws;
    const app = join(ws.work, 'app');
    await makeApp(app, '3.0.0');
    const spec = databaseSpec(db, 'mariadb');
    const upgrade = { versionFrom: '3.0.0', versionTo: '3.1.0' };
    const backup = await createBackup({ root, ...target, ...upgrade, programDir: app, databases: [spec] });
    expect(backup.error).toBeUndefined();
    const dumpBefore = await canonicalDump(db, 'mariadb');
    const appBefore = await snapshot(app);

    // The upgrade: 128,000 rows become 64,000, a column appears, the app changes.
    await withKnex(db, async (k) => {
      await k.raw('DELETE FROM job_log WHERE id % 2 = 0');
      await k.raw('ALTER TABLE job_log ADD COLUMN level INT DEFAULT 1');
    });
    await makeApp(app, '3.1.0');
    await writeFile(join(app, 'lib', 'only-in-3.1.0.jar'), 'x');

    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        FIXTURE,
        JSON.stringify({ stateFile, rollback: { ...target, root, databases: [spec] } }),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    const lines: string[] = [];
    let buffered = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buffered += d;
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      lines.push(...parts);
    });

    // Wait until the database restore has put the old database aside and its client is loading.
    // Connected to information_schema, not the database under test: the restore drops and recreates
    // that, and a pool connecting at that moment would fail with "Unknown database".
    const watcher = knexFactory({
      ...db.config,
      connection: { ...db.connection, database: 'information_schema' },
    });
    const loaders = async () => {
      const [rows] = await watcher.raw(
        'SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()',
        [db.name],
      );
      return (rows as unknown[]).length;
    };
    const state = await StateStore.open({ filename: stateFile });
    const { RollbackHistory } = await import('../../src/state/internal.js');
    const history = new RollbackHistory(state);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const open = await history.unfinished(target.component, target.site).catch(() => undefined);
      if (open?.steps[2]?.progress?.includes('aside') && (await loaders()) > 0) break;
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`never reached the restore:\n${lines.join('\n')}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(lines.some((l) => l.includes('"type":"result"'))).toBe(false);
    // The killed process's mariadb client loads on, orphaned: the continuation must stop it first.
    expect(await loaders()).toBeGreaterThan(0);
    await watcher.destroy();

    // What the kill left: an interrupted rollback, and the upgraded database kept aside intact.
    const rollback = new Rollback({ state, ...target, root, databases: [spec], yes: true });
    const status = await rollback.status();
    expect(status.unfinished).toBe(true);
    expect(status.rollback?.status).toBe('running');
    expect(status.steps[1]?.status).toBe('running');
    const aside = `${db.name}_uk${status.rollback!.rollbackId.replace(/\D/g, '')}`;
    const check = knexFactory({ ...db.config, connection: { ...db.connection, database: aside } });
    const [[count]] = await check.raw('SELECT COUNT(*) AS n FROM job_log');
    expect(Number(count.n)).toBe(64_000);
    await check.destroy();

    const result = await rollback.auto('latest');
    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({
      status: 'completed',
      continued: true,
      rollbackId: status.rollback!.rollbackId,
      asides: [],
    });
    expect(await canonicalDump(db, 'mariadb')).toBe(dumpBefore);
    expect(await snapshot(app, (p) => /^(logs|tmp)(\/|$)|\.pid$/.test(p))).toEqual(
      Object.fromEntries(Object.entries(appBefore).filter(([p]) => !/^(logs|tmp)(\/|$)|\.pid$/.test(p))),
    );
    expect((await rollback.list()).history).toHaveLength(1);
    await state.close();
    expect(await readFile(join(app, 'conf', 'application.properties'), 'utf8')).toContain('version=3.0.0');
  }, 60_000);
});
