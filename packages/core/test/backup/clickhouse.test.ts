// ClickHouse on the real (old, 18.16) server: no BACKUP statement there, so tables are saved as
// SHOW CREATE TABLE plus Native rows over HTTP. Backup → upgrade (new column, new table, changed
// rows) → rollback → every table's definition and rows are as before; the aside copy is gone.
import { createBackup, Rollback } from '@upgradekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireService, settings } from '#test-support';
import { backupWorkspace } from './support.js';

const hasClickHouse = await requireService('clickhouse');
const url = new URL(settings.clickhouse.url);

async function ch(sql: string): Promise<string> {
  const response = await fetch(settings.clickhouse.url, {
    method: 'POST',
    headers: {
      'X-ClickHouse-User': settings.clickhouse.username,
      'X-ClickHouse-Key': settings.clickhouse.password,
    },
    body: sql,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(text);
  return text;
}

/** Every table's definition and its rows in a stable order: what "identical" means here. */
async function fingerprint(database: string): Promise<string> {
  const names = (
    await ch(`SELECT name FROM system.tables WHERE database = '${database}' ORDER BY name FORMAT TSV`)
  )
    .split('\n')
    .filter(Boolean);
  const parts: string[] = [];
  for (const name of names) {
    parts.push(await ch(`SHOW CREATE TABLE ${database}.${name} FORMAT TabSeparatedRaw`));
    const engine = (
      await ch(
        `SELECT engine FROM system.tables WHERE database = '${database}' AND name = '${name}' FORMAT TSV`,
      )
    ).trim();
    if (engine !== 'View')
      parts.push(await ch(`SELECT * FROM ${database}.${name} ORDER BY tuple(*) FORMAT TSV`));
  }
  return parts.join('\n--\n');
}

describe.runIf(hasClickHouse)('backup and rollback on ClickHouse (18.16, over HTTP)', () => {
  const database = `uk_ch_${Date.now().toString(36)}`;
  const ws = backupWorkspace('clickhouse', { state: true });
  const component = 'olap';

  beforeAll(async () => {
    await ch(`CREATE DATABASE ${database}`);
  });
  afterAll(async () => {
    await ch(`DROP DATABASE IF EXISTS ${database}`);
    for (const name of (
      await ch(`SELECT name FROM system.databases WHERE name LIKE '${database}_uk%' FORMAT TSV`)
    )
      .split('\n')
      .filter(Boolean))
      await ch(`DROP DATABASE ${name}`);
  });

  it('restores definitions and rows exactly', async () => {
    await ch(
      `CREATE TABLE ${database}.events (d Date, id UInt32, name String, v Float64) ENGINE = MergeTree(d, id, 8192)`,
    );
    await ch(`CREATE TABLE ${database}.lookup (k String, n UInt8) ENGINE = TinyLog`);
    await ch(
      `CREATE VIEW ${database}.recent AS SELECT id, name FROM ${database}.events WHERE d > '2020-01-01'`,
    );
    await ch(
      `INSERT INTO ${database}.events SELECT toDate('2020-01-01') + number % 30, number, concat('e-', toString(number), ' ''quoted'' \\t tab'), number / 7 FROM system.numbers LIMIT 5000`,
    );
    await ch(`INSERT INTO ${database}.lookup VALUES ('a', 1), ('b', 2)`);
    const before = await fingerprint(database);
    const spec = {
      engine: 'clickhouse' as const,
      database,
      host: url.hostname,
      port: Number(url.port || 8123),
      user: settings.clickhouse.username,
      password: settings.clickhouse.password,
    };
    const { root, state } = ws;
    const backup = await createBackup({
      root,
      component,
      versionFrom: '1.0',
      versionTo: '1.1',
      databases: [spec],
    });
    expect(backup.error).toBeUndefined();
    expect(backup.manifest?.backup_files.database_backup).toMatchObject({
      file: 'database_backup.tar.gz',
      engine: 'clickhouse',
      tables: 3,
      tool: 'clickhouse-http',
    });

    await ch(`ALTER TABLE ${database}.events ADD COLUMN source String DEFAULT 'v1.1'`);
    await ch(`CREATE TABLE ${database}.added (x UInt8) ENGINE = TinyLog`);
    await ch(`INSERT INTO ${database}.lookup VALUES ('c', 3)`);
    expect(await fingerprint(database)).not.toBe(before);

    const result = await new Rollback({ state, component, root, databases: [spec], yes: true }).auto(
      'latest',
    );
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('completed');
    expect(await fingerprint(database)).toBe(before);
    expect(await ch(`SELECT count() FROM system.databases WHERE name LIKE '${database}_uk%'`)).toBe('0\n');
  });
});
