import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EventBus, type LogEvent } from '@upgradekit/core';
import { createPluginContext } from '../../src/plugins/index.js';

export const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

export const context = createPluginContext({
  component: 'orders',
  from: '2.16.6',
  to: '2.16.7',
  site: { id: 'acme', env: { tier: 'prod' } },
  datasources: { main: { type: 'mysql', host: 'db1', port: 3306, user: 'app', password: 'hunter22' } },
  hosts: [{ name: 'app1', address: '10.0.0.1' }, { name: 'app2' }],
});

export function recordLogs(): { events: EventBus; logs: LogEvent[] } {
  const events = new EventBus();
  const logs: LogEvent[] = [];
  events.on('log', (event) => logs.push(event));
  return { events, logs };
}

/**
 * Whether a process is gone. A zombie counts as gone: it runs nothing, and in a container whose
 * PID 1 does not reap orphans, a killed grandchild stays a zombie for good.
 */
export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

export async function waitUntilGone(pid: number, ms = 2000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (isGone(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return isGone(pid);
}

export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}
