// Runs the seed 004 pipeline once on a temporary directory, with a few injected failures, and
// prints what happened:  node --import tsx examples/seed-004-pipeline/run.ts
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleReporter, createUpgrade, EventBus } from '@upgradekit/core';
import { declarePipeline, journal, prepareWorld } from './pipeline.js';

const root = mkdtempSync(join(tmpdir(), 'upgradekit-seed004-'));
prepareWorld(root);
const events = new EventBus();
const reporter = new ConsoleReporter({ stream: process.stdout });
events.on('*', reporter.handle);
const upgrade = createUpgrade({
  component: 'dr-platform',
  from: 'V2.16.5',
  to: 'V2.16.7',
  site: 'demo-site',
  state: { filename: join(root, 'state.sqlite') },
  events,
});
declarePipeline(upgrade, {
  root,
  delayMs: 100,
  faults: { 'upload-tools': 1, 'check-selinux': 1, 'db-migrate': 1 },
});
const result = await upgrade.run();
reporter.close();
process.stdout.write(`\nresult: ${result.status}\njournal:\n  ${journal(root).join('\n  ')}\n`);
await upgrade.close();
