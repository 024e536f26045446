// Issue 16's SIGKILL soak: 30 trials per engine, killed at seeded moments over a whole run.
// `npm run test:soak`; the figures (trials, decisions) are printed at the end of each engine.
import { sigkillTrials } from '../crash/sigkill.js';
import { requireService } from '../support/index.js';

const trials = Number(process.env.UPGRADEKIT_SIGKILL_TRIALS ?? 30);
if (await requireService('mariadb')) sigkillTrials('mariadb', trials, 2026);
if (await requireService('postgres')) sigkillTrials('postgres', trials, 2026);
if (await requireService('clickhouse')) sigkillTrials('clickhouse', trials, 2026);
