// The whole of issue 15's failure trials: a fault before every session statement and transaction
// control of every dump (a seeded 60 per file where a mysqldump has hundreds), and 50 seeded
// others per file. `npm run test:soak`.
//
// UPGRADEKIT_SOAK_ALL=1 takes every boundary (Dolibarr's 539 session statements alone take hours
// on a 2-core machine), so the soak can be run in pieces, and the pieces' JSON lines
// ($UPGRADEKIT_SOAK_LOG) added up:
//   UPGRADEKIT_SOAK_FIXTURES=pagila,cacti   only these fixtures, in this order;
//   UPGRADEKIT_SOAK_SKIP=dolibarr-3.3.0:93  skip a fixture's first 93 trials (done by an earlier piece).
import { describe } from 'vitest';
import { boundaries, failureTrials } from '../oracle/failure-resume.js';
import { dumpFixtures, requireDump, requireService } from '../support/index.js';

const has = { mariadb: await requireService('mariadb'), postgres: await requireService('postgres') };
const only = process.env.UPGRADEKIT_SOAK_FIXTURES?.split(',').map((s) => s.trim());
const skip = new Map(
  (process.env.UPGRADEKIT_SOAK_SKIP ?? '')
    .split(',')
    .filter(Boolean)
    .map((s) => {
      const [name, n] = s.split(':');
      return [name, Number(n)] as const;
    }),
);
const fixtures = only
  ? only.map((name) => {
      const fixture = dumpFixtures.find((f) => f.name === name);
      if (!fixture) throw new Error(`UPGRADEKIT_SOAK_FIXTURES: no fixture ${name}`);
      return fixture;
    })
  : dumpFixtures;

for (const fixture of fixtures) {
  if (!has[fixture.engine] || !requireDump(fixture)) {
    describe.skip(`${fixture.name}: failure trials (service or dump missing)`, () => {});
    continue;
  }
  const cap = process.env.UPGRADEKIT_SOAK_ALL === '1' ? Number.POSITIVE_INFINITY : 60;
  // Zabbix's data file is one 130,000-statement transaction (about 30 s a trial): fewer, seeded.
  const trials = fixture.heavy ? boundaries(fixture, 4, 2026, 8) : boundaries(fixture, 50, 2026, cap);
  failureTrials(fixture, trials.slice(skip.get(fixture.name) ?? 0));
}
