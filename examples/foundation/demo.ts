// A tour of the foundation, runnable without any service: events rendered for a person, a retry
// that gives up on a refused connection, and a timeout that explains itself.
//   node --import tsx examples/foundation/demo.ts

import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { ConsoleReporter, EventBus, isUpgradeKitError, retry, withTimeout } from '@upgradekit/core';

const events = new EventBus({ runId: 'demo' });
const reporter = new ConsoleReporter({ stream: process.stdout });
events.on('*', reporter.handle);

events.emit({ type: 'stage.start', stage: 'resourceCheck' });
try {
  await retry(
    () =>
      new Promise<void>((resolve, reject) => {
        // Port 9 (discard) is closed on loopback: a real ECONNREFUSED each time.
        const socket = connect({ host: '127.0.0.1', port: 9 });
        socket.once('connect', () => {
          socket.destroy();
          resolve();
        });
        socket.once('error', reject);
      }),
    { stage: 'resourceCheck', step: 'reach-registry', attempts: 3, minDelayMs: 200, events },
  );
} catch (error) {
  events.emit({ type: 'log', level: 'error', stage: 'resourceCheck', message: (error as Error).message });
}

try {
  await withTimeout(
    (signal) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn('sleep', ['10'], { signal });
        child.once('error', reject);
        child.once('exit', () => resolve());
      }),
    { stage: 'preStart', step: 'start-app', kind: 'service', detail: 'port 8080', ms: 1500, events },
  );
} catch (error) {
  if (isUpgradeKitError(error, 'UPGRADEKIT_TIMEOUT')) process.stdout.write(`\n${error.message}\n`);
  else throw error;
}
reporter.close();
