// The same round trip on the real PostgreSQL server with pg_dump/psql: backup, an upgrade that
// changes schema and data (new column, new table, new index, changed and deleted rows, a sequence
// moved on), rollback — and pg_dump of the result is identical to pg_dump before the upgrade.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBackup, Rollback } from '@upgradekit/core';
import { describe, expect, it } from 'vitest';
import { requireService, suiteDatabase } from '#test-support';
import { backupWorkspace, canonicalDump, databaseSpec, makeApp, withKnex } from './support.js';

const hasPostgres = await requireService('postgres');

describe.runIf(hasPostgres)('backup and rollback on PostgreSQL', () => {
  const db = suiteDatabase('postgres', 'uk_bk');
  const ws = backupWorkspace('rollback-pg', { state: true });
  const component = 'billing';

  it('restores schema and data exactly, sequentially as well as in parallel', async () => {
    await withKnex(db, async (knex) => {
      await knex.raw('CREATE SCHEMA billing');
      await knex.raw(
        'CREATE TABLE billing.invoice (id SERIAL PRIMARY KEY, customer TEXT NOT NULL, amount NUMERIC(12,2))',
      );
      await knex.raw('CREATE TABLE public.settings (key TEXT PRIMARY KEY, value JSONB)');
      await knex.batchInsert(
        'billing.invoice',
        Array.from({ length: 500 }, (_, i) => ({ customer: `c-${i % 37}`, amount: (i * 3.17).toFixed(2) })),
        250,
      );
      await knex('settings').insert({ key: 'schema', value: JSON.stringify({ version: '2.3.0' }) });
    });
    const before = await canonicalDump(db, 'postgres');
    const { state, root } = ws;
    const app = join(ws.work, 'app');
    await makeApp(app, '2.3.0');
    const upgrade = { versionFrom: '2.3.0', versionTo: '2.4.0' };
    const backup = await createBackup({
      root,
      component,
      ...upgrade,
      programDir: app,
      databases: [databaseSpec(db, 'postgres')],
    });
    expect(backup.error).toBeUndefined();
    const dumpText = await readFile(join(backup.dir, 'database_backup.sql'), 'utf8');
    // pg_dump 15.14+/16.10+/17.6+ close with `\unrestrict <key>` after the completion line.
    expect(dumpText.slice(-200)).toMatch(
      /\n-- PostgreSQL database dump complete\n--\n(\n\\unrestrict \w+\n\n?)?$/,
    );
    expect(backup.manifest?.backup_files.database_backup).toMatchObject({
      engine: 'postgres',
      tables: 2,
      tool: 'pg_dump',
    });

    for (const parallel of [false, true]) {
      await withKnex(db, async (k) => {
        await k.raw("ALTER TABLE billing.invoice ADD COLUMN currency CHAR(3) NOT NULL DEFAULT 'EUR'");
        await k.raw('CREATE INDEX invoice_customer ON billing.invoice (customer)');
        await k.raw('CREATE TABLE public.audit (id BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ DEFAULT now())');
        await k('billing.invoice').where('id', '<', 100).del();
        await k('billing.invoice').insert({ customer: 'new', amount: 1 });
        await k('settings').update({ value: JSON.stringify({ version: '2.4.0' }) });
      });
      expect(await canonicalDump(db, 'postgres')).not.toBe(before);

      const rollback = new Rollback({
        state,
        component,
        root,
        databases: [databaseSpec(db, 'postgres')],
        yes: true,
        parallel,
      });
      const result = await rollback.auto(backup.backupId);
      expect(result.error).toBeUndefined();
      expect(result.status).toBe('completed');
      expect(await canonicalDump(db, 'postgres')).toBe(before);
      expect(result.asides).toEqual([]);
    }
    const { history } = await new Rollback({ state, component, root }).list();
    expect(history.map((h) => [h.rollbackId, h.status])).toEqual([
      ['rollback_002', 'completed'],
      ['rollback_001', 'completed'],
    ]);
    // No pre-rollback database is left once the rollback verified.
    const { rows } = await db.knex.raw('SELECT datname FROM pg_database WHERE datname LIKE ?', [
      `${db.name}_uk%`,
    ]);
    expect(rows).toEqual([]);
  });
});
