// A sampled few of issue 15's failure trials on every dump (the soak runs them all).
import { describe } from 'vitest';
import { dumpFixtures, requireDump, requireService } from '#test-support';
import { boundaries, failureTrials } from './failure-resume.js';

const has = { mariadb: await requireService('mariadb'), postgres: await requireService('postgres') };

for (const fixture of dumpFixtures) {
  // A heavy fixture (Zabbix's 130,000-statement data file) has its trials in the soak only.
  if (fixture.heavy) continue;
  if (!has[fixture.engine] || !requireDump(fixture)) {
    describe.skip(`${fixture.name}: failure trials (service or dump missing)`, () => {});
    continue;
  }
  // Two boundaries of the interesting kinds and one other, chosen by a fixed seed.
  const all = boundaries(fixture, 1, 14);
  const picked = [
    ...all.filter((t) => t.why !== 'sample').filter((_, i, a) => i === 0 || i === Math.floor(a.length / 2)),
    ...all.filter((t) => t.why === 'sample').slice(0, 1),
  ];
  // Sakila's schema drops and recreates the datasource's own database: a fault right after the DROP
  // resumes with no current database (found by the soak).
  if (fixture.name === 'sakila')
    picked.push({ file: 0, statement: 4, why: 'after DROP SCHEMA of its own database' });
  failureTrials(fixture, picked);
}
