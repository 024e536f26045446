/**
 * Issue 14's oracle suite: each public dump is loaded by `upgradekit run` (the CLI, as an operator
 * runs it) and by the database's own client into two fresh databases; every table, column, index,
 * constraint, routine, trigger, view, sequence, row count and ordered-row checksum must be equal.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  diffSnapshots,
  dumpFixtures,
  dumpRelease,
  fixtureFiles,
  loadWithClient,
  requireDump,
  requireService,
  type Snapshot,
  type Spawned,
  snapshot,
  type TestDatabase,
  upgradekitRun,
  withoutBodyComments,
} from '#test-support';

const has = {
  mariadb: await requireService('mariadb'),
  postgres: await requireService('postgres'),
};

// A heavy fixture (Zabbix's 130,000-statement data transaction) runs in the soak's trials, which
// include a full run each: `npm test` stays within its time.
for (const fixture of dumpFixtures.filter((f) => !f.heavy)) {
  describe.runIf(has[fixture.engine] && requireDump(fixture))(
    `${fixture.name}: upgradekit run equals ${fixture.engine === 'mariadb' ? 'mariadb' : 'psql'}`,
    () => {
      const dbs: TestDatabase[] = [];
      let oracle: Snapshot;
      let ours: Snapshot;
      let run: Spawned;

      beforeAll(async () => {
        const [a, b] = [
          await createTestDatabase(fixture.engine, 'oracle'),
          await createTestDatabase(fixture.engine, 'ours'),
        ];
        dbs.push(a, b);
        const work = mkdtempSync(join(tmpdir(), `uk-oracle-files-${fixture.name}-`));
        // The oracle keeps comments (`--comments`): upgradekit sends every byte, the client's
        // default would strip the comments inside routine bodies (docs/migrate.md).
        await loadWithClient(
          fixture.engine,
          a.name,
          await fixtureFiles(fixture, a.name, mkdtempSync(join(work, 'a-'))),
          { comments: !fixture.clientStripsComments },
        );
        const filesB = await fixtureFiles(fixture, b.name, mkdtempSync(join(work, 'b-')));
        run = await upgradekitRun(dumpRelease(fixture, filesB, b));
        oracle = await snapshot(fixture.engine, a.name);
        ours = await snapshot(fixture.engine, b.name);
        if (fixture.clientStripsComments) {
          oracle = withoutBodyComments(oracle);
          ours = withoutBodyComments(ours);
        }
      }, 300_000);
      afterAll(async () => {
        await Promise.all(dbs.map((d) => d.drop()));
      });

      it('the run succeeds', () => {
        expect(run.status, `${run.stderr}\n${run.stdout.slice(0, 2000)}`).toBe(0);
        expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, status: 'succeeded' });
      });

      it('catalogs, row counts and ordered-row checksums equal the client’s', () => {
        expect(Object.keys(ours.data).length).toBeGreaterThan(0);
        expect(diffSnapshots(oracle, ours)).toEqual([]);
      });
    },
  );
}
