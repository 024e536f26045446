// Issue 16's SIGKILL soak: 30 trials per engine, killed at seeded moments over a whole run.
// `npm run test:soak`; the figures (trials, decisions) are printed at the end of each engine, and
// one JSON line per trial goes to $UPGRADEKIT_SOAK_LOG.
//
// A trial takes minutes (a 1,000,000-row upgrade run twice), so the soak runs in pieces:
//   UPGRADEKIT_SIGKILL_ENGINES=postgres,clickhouse   only these engines;
//   UPGRADEKIT_SIGKILL_FROM=10                       skip the first 10 trials (the seeded kill
//                                                    moments stay the same, so pieces add up).
import { type Engine, sigkillTrials } from '../crash/sigkill.js';
import { requireService } from '../support/index.js';

const trials = Number(process.env.UPGRADEKIT_SIGKILL_TRIALS ?? 30);
const from = Number(process.env.UPGRADEKIT_SIGKILL_FROM ?? 0);
const engines = (process.env.UPGRADEKIT_SIGKILL_ENGINES ?? 'mariadb,postgres,clickhouse')
  .split(',')
  .map((s) => s.trim()) as Engine[];
for (const engine of engines) {
  if (await requireService(engine)) sigkillTrials(engine, trials, 2026, 1_000_000, from);
}
