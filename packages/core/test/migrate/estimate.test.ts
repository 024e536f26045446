import { join } from 'node:path';
import { type EstimateCorrection, EventBus, type LogEvent } from '@upgradekit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireService, suiteDatabase, test } from '#test-support';
import { affectedRows } from '../../src/migrate/estimate.js';
import { planUpgrade } from './support.js';

const hasMariaDB = await requireService('mariadb');

const ROWS = 'WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 500) SELECT n FROM s';
/** 1,500 rows in three batches with a pause after each: a few thousand rows a second at most. */
const batches = (table: string, offset: (i: number) => string) =>
  [0, 1, 2]
    .map((i) => `INSERT INTO ${table} (n) SELECT n + ${offset(i)} FROM (${ROWS}) AS s;\nDO SLEEP(0.15);\n`)
    .join('');

describe.runIf(hasMariaDB)('estimated tasks: the remaining time is corrected while they run', () => {
  const db = suiteDatabase('mariadb', 'uk_est');
  const { knex } = db;
  beforeAll(async () => {
    await knex.raw('CREATE TABLE src (n INT)');
  });

  test('a rate far off the estimate emits estimate.corrected, up or down; tasks without an estimate emit none', async ({
    release,
  }) => {
    const dir = release({
      'upgradekit.yaml':
        'component: est\ndatasources:\n  main: { type: mariadb }\ndefaults:\n  datasource: main\n',
      'versions/1.1.0/tasks.yaml': `tasks:
  - id: optimistic
    kind: sql
    stage: in_stop
    file: optimistic.sql
    estimate: { rows: 1500, rate: 1000000 }
  - id: pessimistic
    kind: sql
    stage: in_stop
    file: pessimistic.sql
    estimate: { query: "SELECT COUNT(*) FROM src", rate: 10 }
  - id: fixed_duration
    kind: sql
    stage: in_stop
    file: fixed_duration.sql
    estimate: { duration: 1h }
  - id: unestimated
    kind: sql
    stage: in_stop
    file: unestimated.sql
`,
      // DML only: one transaction.
      'versions/1.1.0/optimistic.sql': batches('src', (i) => String(i * 500)),
      // With DDL: committed statement by statement.
      'versions/1.1.0/pessimistic.sql': `CREATE TABLE copy1 (n INT);\n${batches('copy1', (i) => String(i * 500))}`,
      'versions/1.1.0/fixed_duration.sql': `CREATE TABLE copy3 (n INT);\n${batches('copy3', (i) => String(i * 500))}`,
      'versions/1.1.0/unestimated.sql': `CREATE TABLE copy2 (n INT);\n${batches('copy2', (i) => String(i * 500))}`,
    });
    const events = new EventBus();
    const corrections: Array<EstimateCorrection & { stage?: string }> = [];
    events.on('log', (e: LogEvent) => {
      if (e.fields?.kind === 'estimate.corrected')
        corrections.push({
          ...(e.fields as unknown as EstimateCorrection),
          ...(e.stage ? { stage: e.stage } : {}),
        });
    });
    const upgrade = await planUpgrade(
      dir,
      knex,
      { filename: join(dir, 'state.sqlite') },
      { component: 'est', events, estimateIntervalMs: 50 },
    );
    const result = await upgrade.runStage('preStart');
    await upgrade.close();
    expect(result.status, result.error?.message).toBe('succeeded');
    const [[{ n }]] = (await knex.raw('SELECT COUNT(*) AS n FROM copy1')) as [[{ n: number }]];
    expect(Number(n)).toBe(1500);

    // Declared a million rows a second: far slower in fact, so more time is left than assumed.
    const optimistic = corrections.find((c) => c.task === 'optimistic');
    expect(optimistic, JSON.stringify(corrections)).toBeDefined();
    expect(optimistic!.stage).toBe('preStart');
    expect(optimistic!.expectedRate).toBe(1_000_000);
    expect(optimistic!.actualRate).toBeLessThan(1_000_000 * 0.8);
    expect(optimistic!.deviation).toBeLessThan(-0.2);
    expect(optimistic!.remainingMs).toBeGreaterThan(optimistic!.previousRemainingMs);

    // Declared ten rows a second of a volume queried at the start (1,500 rows in src): far faster.
    const pessimistic = corrections.find((c) => c.task === 'pessimistic');
    expect(pessimistic, JSON.stringify(corrections)).toBeDefined();
    expect(pessimistic!.expectedRate).toBe(10);
    expect(pessimistic!.deviation).toBeGreaterThan(0.2);
    expect(pessimistic!.remainingMs).toBeLessThan(pessimistic!.previousRemainingMs);
    // The remaining time is of the queried volume: at most 1,500 rows at the declared 10/s.
    expect(pessimistic!.previousRemainingMs).toBeLessThanOrEqual(150_000);

    // A duration alone: the seven statements are the work, declared at 7 per hour.
    const fixed = corrections.find((c) => c.task === 'fixed_duration');
    expect(fixed, JSON.stringify(corrections)).toBeDefined();
    expect(fixed!.expectedRate).toBeCloseTo(7 / 3600);
    expect(fixed!.deviation).toBeGreaterThan(0.2);
    expect(fixed!.remainingMs).toBeLessThan(fixed!.previousRemainingMs);

    expect(corrections.filter((c) => c.task === 'unestimated')).toEqual([]);
  });
});

describe('affectedRows: what each driver reports a statement wrote', () => {
  it('reads mysql2, pg, SQLite and ClickHouse shapes, and nothing from others', () => {
    expect(affectedRows([{ affectedRows: 12, insertId: 0 }, undefined])).toBe(12); // mysql2 via knex.raw
    expect(affectedRows({ rowCount: 7, rows: [] })).toBe(7); // pg
    expect(affectedRows({ changes: 3, lastInsertRowid: 3 })).toBe(3); // better-sqlite3
    expect(affectedRows({ query_id: 'q', summary: { written_rows: '40' } })).toBe(40); // ClickHouse
    expect(affectedRows({ query_id: 'q' })).toBeUndefined();
    expect(affectedRows(undefined)).toBeUndefined();
  });
});
