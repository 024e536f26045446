// A seeded sample of issue 16's SIGKILL trials: one per engine on 100,000 log rows (the soak runs 30 per
// engine on 1,000,000).

import { sigkillTrials } from './crash/sigkill.js';
import { requireService } from './support/index.js';

const has = {
  mariadb: await requireService('mariadb'),
  postgres: await requireService('postgres'),
  clickhouse: await requireService('clickhouse'),
};
if (has.mariadb) sigkillTrials('mariadb', 1, 16, 100_000);
if (has.postgres) sigkillTrials('postgres', 1, 16, 100_000);
if (has.clickhouse) sigkillTrials('clickhouse', 1, 16, 100_000);
