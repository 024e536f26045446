// What wrapping a call in upgradekit's withTimeout / retry costs over calling p-timeout / p-retry
// directly (what a user would otherwise write). Both sides do the same trivial async work.
import pRetry from 'p-retry';
import pTimeout from 'p-timeout';
import { retry, withTimeout } from '../packages/core/src/index.js';

const N = 20_000;
const work = async () => 1;

async function time(label: string, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 500; i++) await fn(); // warm up
  const started = performance.now();
  for (let i = 0; i < N; i++) await fn();
  const perCall = ((performance.now() - started) * 1000) / N;
  process.stdout.write(`${label.padEnd(34)} ${perCall.toFixed(2)} µs/call\n`);
  return perCall;
}

const pt = await time('p-timeout directly', () => pTimeout(work(), { milliseconds: 60_000 }));
const wt = await time('withTimeout (validation, warnings)', () =>
  withTimeout(work, { step: 'b', ms: 60_000 }),
);
const pr = await time('p-retry directly', () => pRetry(work, { retries: 3 }));
const rr = await time('retry (validation, events)', () => retry(work, { step: 'b', attempts: 4 }));
process.stdout.write(`\nratio withTimeout / p-timeout: ${(wt / pt).toFixed(2)}×\n`);
process.stdout.write(`ratio retry / p-retry:         ${(rr / pr).toFixed(2)}×\n`);
process.stdout.write('(per-call overhead matters only against steps that take milliseconds to hours)\n');
