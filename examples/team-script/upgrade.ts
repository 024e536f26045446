// A team's upgrade script: the release's SQL and tool tasks, plus the team's own hooks at the CI
// cut-points. Run it from the repository root:
//   node --import tsx examples/team-script/upgrade.ts [workdir]
// A CI pipeline calls it once per cut-point with UPGRADE_STAGE=<stage>; without one it runs all.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ConsoleReporter,
  EventBus,
  formatStageSummary,
  loadSiteConfig,
  prepareUpgrade,
} from '@upgradekit/core';
import type { Knex } from 'knex';

const workdir = process.argv[2] ?? process.cwd();
const appDir = join(workdir, 'app');
mkdirSync(appDir, { recursive: true });

const events = new EventBus();
const reporter = new ConsoleReporter();
events.on('*', reporter.handle);

// The release's datasource `main` is a SQL database: say so once, and every hook sees a Knex.
const { upgrade, close } = await prepareUpgrade<{ main: Knex }>({
  release: new URL('../demo', import.meta.url).pathname,
  from: '2.16.6',
  to: '2.16.7',
  config: loadSiteConfig({ cwd: workdir, overrides: { site: 'site-042' } }),
  events,
  cwd: workdir,
  handleSignals: true,
});

// resourceCheck: a check the release cannot know — this host's own disk. Checks retry as a stage.
upgrade.hooks.resourceCheck({
  id: 'disk-free',
  run: async (ctx) => {
    const fs = await statfs(workdir);
    const freeGiB = (fs.bavail * fs.bsize) / 2 ** 30;
    if (freeGiB < 1) throw new Error(`only ${freeGiB.toFixed(1)} GiB free in ${workdir}; need 1 GiB`);
    ctx.log.info(`${freeGiB.toFixed(1)} GiB free`);
  },
});

// preStart (services stopped): rewrite the application's config for the new version. Idempotent,
// and `skipIf` says when it is already done, so a resumed run neither repeats nor doubts it.
const configFile = join(appDir, 'app.properties');
upgrade.hooks.preStart({
  id: 'migrate-app-config',
  idempotent: true,
  skipIf: () => {
    try {
      return readFileSync(configFile, 'utf8').includes('config.version=2');
    } catch {
      return false;
    }
  },
  run: (ctx) => {
    writeFileSync(
      configFile,
      `# written by ${ctx.step} for ${ctx.to}\nconfig.version=2\norders.notes.enabled=true\n`,
    );
  },
});

// postStart: a business smoke test; a failure here is reported but does not stop the upgrade.
upgrade.hooks.postStart({
  id: 'smoke-test',
  criticality: 'business',
  run: async (ctx) => {
    const row = await ctx.datasources.main('customers').count({ n: '*' }).first();
    ctx.log.info(`${row?.n ?? 0} customers visible after the upgrade`);
  },
});

try {
  const stage = process.env.UPGRADE_STAGE;
  const result = stage ? await upgrade.runStage(stage as never) : await upgrade.run();
  const stages = 'stages' in result ? result.stages : [result];
  reporter.close();
  for (const s of stages.filter((x) => x.steps.length > 0))
    process.stdout.write(`${formatStageSummary(s)}\n`);
  process.stdout.write(`result: ${result.status}\n`);
  process.exitCode = result.status === 'succeeded' ? 0 : 1;
} finally {
  await close();
}
