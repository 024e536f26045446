// The exhaustive crash trials that `npm test` samples: a SIGKILL at all 60 points of the 20-step
// pipeline (test/crash-resume.test.ts) and 30 random-kill trials of the 30-task MariaDB upgrade
// (test/sql-crash.test.ts). `npm run test:soak`.
process.env.UPGRADEKIT_CRASH_ALL = '1';
process.env.UPGRADEKIT_SQL_CRASH_TRIALS = '30';
await import('../crash-resume.test.js');
await import('../sql-crash.test.js');
