// A seeded sample of issue 16's SIGKILL trials: one per engine on 100,000 log rows (the soak runs 30 per
// engine on 1,000,000).

import { createClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { diffSnapshots, requireService, settings } from '#test-support';
import { cli } from '../packages/cli/test/support.js';
import { args, scenarios, sigkillTrials, startRun, target, writeUpgrade } from './crash/sigkill.js';

const has = {
  mariadb: await requireService('mariadb'),
  postgres: await requireService('postgres'),
  clickhouse: await requireService('clickhouse'),
};
if (has.mariadb) sigkillTrials('mariadb', 1, 16, 100_000);
if (has.postgres) sigkillTrials('postgres', 1, 16, 100_000);
if (has.clickhouse) sigkillTrials('clickhouse', 1, 16, 100_000);

describe.runIf(has.clickhouse)('ClickHouse: SIGKILL while INSERT … SELECT runs on the server', () => {
  it('the resume waits for it, reads system.query_log and continues: no operator decision, rows as the client', async () => {
    const rows = 3_000_000;
    const base = scenarios.clickhouse.base.replaceAll('ROWS', String(rows));
    const oracle = await target('clickhouse', 'oracle');
    const t = await target('clickhouse', 'kill');
    const admin = createClient(settings.clickhouse);
    try {
      await oracle.load(base + Object.values(scenarios.clickhouse.tasks).join(''));
      await t.load(base);
      const dir = writeUpgrade('clickhouse', t);
      const child = startRun(dir);
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      // Kill the moment the server is running the INSERT.
      let seen = false;
      for (let i = 0; i < 600 && !seen; i++) {
        const r = await admin.query({
          query: `SELECT count() AS n FROM system.processes WHERE query_id LIKE 'upgradekit-%' AND query LIKE 'INSERT INTO job_runs%'`,
          format: 'JSONEachRow',
        });
        seen = Number(((await r.json()) as { n: string }[])[0]?.n ?? 0) > 0;
        if (!seen) await new Promise((r) => setTimeout(r, 20));
      }
      expect(seen, 'the INSERT was never seen running').toBe(true);
      child.kill('SIGKILL');
      await exited;
      const again = cli(['run', '--yes', '--json', ...args], { cwd: dir, timeoutMs: 300_000 });
      expect(again.status, again.stdout + again.stderr).toBe(0);
      expect(again.stderr).toMatch(
        /system\.query_log: query \S+ finished|never reached the server|failed before writing/,
      );
      expect(diffSnapshots(await oracle.snapshot(), await t.snapshot())).toEqual([]);
    } finally {
      await admin.close();
      await oracle.drop();
      await t.drop();
    }
  }, 300_000);
});
