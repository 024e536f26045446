// The whole of issue 15's failure trials: a fault before every session statement and transaction
// control of every dump (a seeded 60 per file where a mysqldump has hundreds), and 50 seeded
// others per file. `npm run test:soak`.
import { describe } from 'vitest';
import { boundaries, failureTrials } from '../oracle/failure-resume.js';
import { dumpFixtures, requireDump, requireService } from '../support/index.js';

const has = { mariadb: await requireService('mariadb'), postgres: await requireService('postgres') };

for (const fixture of dumpFixtures) {
  if (!has[fixture.engine] || !requireDump(fixture)) {
    describe.skip(`${fixture.name}: failure trials (service or dump missing)`, () => {});
    continue;
  }
  // UPGRADEKIT_SOAK_ALL=1 takes every one (Dolibarr's 539 session statements: about 35 minutes here).
  const cap = process.env.UPGRADEKIT_SOAK_ALL === '1' ? Number.POSITIVE_INFINITY : 60;
  // Zabbix's data file is one 130,000-statement transaction (about 30 s a trial): fewer, seeded.
  failureTrials(
    fixture,
    fixture.heavy ? boundaries(fixture, 4, 2026, 8) : boundaries(fixture, 50, 2026, cap),
  );
}
