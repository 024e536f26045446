import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { validateOptions } from '../options/index.js';

const schema = z.object({
  /** Takes the instance out of the registry (Nacos, Consul, a load balancer…). */
  hook: z.custom<(signal: AbortSignal) => unknown>((v) => typeof v === 'function', 'must be a function'),
  /** How long clients need to notice. Seed 001 §6.1.3.5.1: Nacos clients refresh every 5 s. */
  waitMs: z.number().nonnegative().default(5000),
  signal: z.instanceof(AbortSignal).optional(),
});

export type DeregisterOptions = z.input<typeof schema>;

/**
 * Takes an instance out of service discovery, then waits until clients have stopped routing to it
 * (seed 001 §6.1.3.5.1: deregister from Nacos, wait 5 s, then stop) — so no request reaches a
 * stopping process.
 *
 * @example
 * await deregister({ hook: (signal) => fetch(`${nacos}/nacos/v1/ns/instance?…`, { method: 'DELETE', signal }), waitMs: 5000 });
 * await stopService({ runner: ssh, pidFile: '/opt/app/app.pid' });
 */
export async function deregister(options: DeregisterOptions): Promise<{ readonly waitedMs: number }> {
  const o = validateOptions('deregister', schema, options);
  const signal = o.signal ?? new AbortController().signal;
  await o.hook(signal);
  const started = performance.now();
  await sleep(o.waitMs, undefined, { signal });
  return { waitedMs: performance.now() - started };
}
