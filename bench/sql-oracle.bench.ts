// Each public dump of the oracle suite (test/fixtures/dumps/) loaded by `upgradekit run` — the CLI,
// a whole process, assessment, state, lock and all — beside the database's own client loading the
// same files: `mariadb --default-character-set=utf8mb4 --comments`, and `psql -X -v ON_ERROR_STOP=1`
// (pg_dump's COPY path). Fresh databases each round; the median of ROUNDS, and the ratio.
// The goals live in the speed issue; this prints where we stand.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestDatabase,
  dumpFixtures,
  dumpRelease,
  fixtureFiles,
  loadWithClient,
  requireDump,
  requireService,
  upgradekitRun,
} from '../test/support/index.js';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const out = (line: string) => process.stdout.write(`${line}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

out(`dump            engine     client (median ms)  upgradekit run (median ms)  ratio   rounds=${ROUNDS}`);
for (const fixture of dumpFixtures) {
  if (!requireDump(fixture) || !(await requireService(fixture.engine))) continue;
  const client: number[] = [];
  const ours: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const work = mkdtempSync(join(tmpdir(), 'uk-bench-oracle-'));
    const a = await createTestDatabase(fixture.engine, 'bench');
    const b = await createTestDatabase(fixture.engine, 'bench');
    try {
      const filesA = await fixtureFiles(fixture, a.name, mkdtempSync(join(work, 'a-')));
      const filesB = await fixtureFiles(fixture, b.name, mkdtempSync(join(work, 'b-')));
      const release = dumpRelease(fixture, filesB, b);
      // Alternate which goes first, so a warm cache favours neither.
      const runClient = async () => {
        const t = performance.now();
        await loadWithClient(fixture.engine, a.name, filesA, { comments: true });
        client.push(performance.now() - t);
      };
      const runOurs = async () => {
        const t = performance.now();
        const r = await upgradekitRun(release);
        if (r.status !== 0) throw new Error(`upgradekit run failed on ${fixture.name}: ${r.stderr}`);
        ours.push(performance.now() - t);
      };
      if (round % 2 === 0) {
        await runClient();
        await runOurs();
      } else {
        await runOurs();
        await runClient();
      }
    } finally {
      await Promise.all([a.drop(), b.drop()]);
    }
  }
  const c = median(client);
  const u = median(ours);
  out(
    `${fixture.name.padEnd(16)}${fixture.engine.padEnd(11)}${c.toFixed(0).padStart(18)}  ${u.toFixed(0).padStart(26)}  ${(u / c).toFixed(2).padStart(5)}×`,
  );
}
