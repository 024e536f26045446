import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isUpgradeKitError, type UpgradeKitError, UpgradeKitTimeoutError } from '@upgradekit/core';
import { describe, expect, it } from 'vitest';
import { runIsolated } from '../../src/plugins/index.js';
import { context, fixtures, isGone, recordLogs, rejection, waitUntilGone } from './support.js';

const cwd = fixtures;

function pidOf(error: UpgradeKitTimeoutError): number {
  const match = /pid (\d+)/.exec(error.details.detail ?? '');
  expect(match, error.details.detail).not.toBeNull();
  return Number(match![1]);
}

describe('runIsolated: a well-behaved plugin', () => {
  it('answers every SPI method over IPC, unchanged', async () => {
    const { events, logs } = recordLogs();
    const call = (method: Parameters<typeof runIsolated>[1]) =>
      runIsolated('./good.mjs', method, context, { cwd, events, timeoutMs: 10_000 });
    const [resources, dataQuality, compatibility, estimate, backup, cleanup, tasks, hook, missing] =
      await Promise.all([
        call('resources'),
        call('dataQuality'),
        call('compatibility'),
        call('estimate'),
        call('backup'),
        call('cleanup'),
        call('tasks'),
        call('hooks.preStart'),
        call('hooks.postUpgrade'),
      ]);

    expect(resources).toEqual({
      diskBytes: 5 * 1024 ** 3,
      memoryBytes: 512 * 1024 ** 2,
      cpuPercent: 30,
      datasources: [{ datasource: 'main', diskBytes: 1024, connections: 4 }],
      // The context reached the child, without the datasource password.
      notes: ['password absent', 'site acme'],
    });
    // The methods that read no context answer over IPC exactly what they answer in-process.
    const good = (await import(pathToFileURL(join(cwd, 'good.mjs')).href)).default;
    expect(dataQuality).toEqual(await good.dataQuality());
    expect(estimate).toEqual(await good.estimate());
    expect(compatibility).toEqual({
      rollingCompatible: false,
      incompatible: [
        {
          item: 'update_V2.16.7.sql',
          kind: 'sql',
          compatibleFrom: '2.16.7',
          reason: 'alters orders',
          impact: 'orders table',
        },
      ],
    });
    expect(backup).toEqual({
      artifacts: [
        { path: '/backups/acme/orders.sql.gz', bytes: 1234, checksum: 'sha256:abc', datasource: 'main' },
      ],
    });
    expect(cleanup).toBeUndefined();
    expect(tasks).toEqual([{ id: 'orders-1', kind: 'sql', file: 'sql/orders.sql' }]);
    expect(hook).toEqual({ stage: 'preStart', hosts: ['app1', 'app2'] });
    expect(missing).toBeUndefined(); // not implemented: nothing to say

    // ctx.log became a log event naming the plugin.
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'info',
        message: 'good: sizing',
        fields: { datasources: 1, plugin: 'good', method: 'resources' },
      }),
    );
  });
});

describe('runIsolated: faults are contained and reported with the plugin name', () => {
  it('a throw: UPGRADEKIT_PLUGIN_FAILED with the method and the child’s message and stack', async () => {
    const error = await rejection(runIsolated('./throws.mjs', 'dataQuality', context, { cwd }));
    expect(isUpgradeKitError(error, 'UPGRADEKIT_PLUGIN_FAILED')).toBe(true);
    const e = error as UpgradeKitError;
    expect(e.message).toBe('plugin "thrower" dataQuality() threw: RangeError: orders table is missing');
    expect(e.context).toMatchObject({
      plugin: 'thrower',
      method: 'dataQuality',
      fault: 'threw',
      error: { name: 'RangeError', message: 'orders table is missing', code: 'E_NO_TABLE' },
    });
    expect((e.context.error as { stack: string }).stack).toContain('throws.mjs');
    expect((e.cause as Error).stack).toContain('throws.mjs');
  });

  it('an endless loop: times out with the seed-004 diagnostics, and the child is dead', async () => {
    const started = performance.now();
    const error = await rejection(runIsolated('./loop.mjs', 'resources', context, { cwd, timeoutMs: 1000 }));
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(UpgradeKitTimeoutError);
    const e = error as UpgradeKitTimeoutError;
    expect(e.code).toBe('UPGRADEKIT_TIMEOUT');
    expect(e.details.category).toBe('plugin');
    expect(e.details.step).toBe('plugin looper: resources()');
    expect(e.details.detail).toContain('plugin "looper" from ./loop.mjs, resources()');
    expect(e.details.stoppedAfterAbort).toBe(true);
    expect(e.message).toMatch(/Suggestion: Check the plugin's log/);
    expect(elapsed).toBeLessThan(2500);
    expect(isGone(pidOf(e))).toBe(true);
  });

  it('a plugin that started its own program and hangs: both are killed at the timeout', async () => {
    const { events, logs } = recordLogs();
    const error = await rejection(
      runIsolated('./spawner.mjs', 'resources', context, { cwd, events, timeoutMs: 1000 }),
    );
    expect(error).toBeInstanceOf(UpgradeKitTimeoutError);
    const helperPid = logs.find((log) => log.message === 'spawner: started a helper')?.fields?.helperPid;
    expect(typeof helperPid).toBe('number');
    expect(await waitUntilGone(helperPid as number)).toBe(true);
    expect(isGone(pidOf(error as UpgradeKitTimeoutError))).toBe(true);
  });

  it('process.exit(3): exited with code 3 before answering, with its last output', async () => {
    const { events, logs } = recordLogs();
    const error = await rejection(runIsolated('./exits.mjs', 'estimate', context, { cwd, events }));
    expect(isUpgradeKitError(error, 'UPGRADEKIT_PLUGIN_FAILED')).toBe(true);
    const e = error as UpgradeKitError;
    expect(e.message).toMatch(/^plugin "quitter" estimate\(\) exited with code 3 before answering/);
    expect(e.message).toContain('giving up on this one');
    expect(e.context).toMatchObject({ plugin: 'quitter', fault: 'exited', exitCode: 3, signal: null });
    // Its stderr was also forwarded as a log event.
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 'warn', message: 'quitter: giving up on this one' }),
    );
  });

  it('a memory blow-up under a 64 MB cap: ran out of memory', async () => {
    const error = await rejection(
      runIsolated('./memory.mjs', 'resources', context, { cwd, memoryMb: 64, timeoutMs: 15_000 }),
    );
    expect(isUpgradeKitError(error, 'UPGRADEKIT_PLUGIN_FAILED')).toBe(true);
    const e = error as UpgradeKitError;
    expect(e.message).toBe('plugin "hog" resources() ran out of memory (cap 64 MiB)');
    expect(e.context).toMatchObject({ fault: 'out-of-memory', memoryMb: 64 });
    expect(e.context.stderr).toMatch(/heap out of memory/);
    expect(String(e.context.stderr).length).toBeLessThanOrEqual(4096);
    expect(isGone(e.context.pid as number)).toBe(true);
  });

  it('a throw from a stray timer, while the method never settles: reported as a throw', async () => {
    const error = await rejection(runIsolated('./stray.mjs', 'cleanup', context, { cwd, timeoutMs: 5000 }));
    expect(isUpgradeKitError(error, 'UPGRADEKIT_PLUGIN_FAILED')).toBe(true);
    expect((error as Error).message).toBe('plugin "stray" cleanup() threw: late failure in a timer');
  });

  it('an answer of the wrong shape, or not JSON: bad-result, naming the field', async () => {
    const [shape, bigint] = await Promise.all([
      rejection(runIsolated('./bad-result.mjs', 'dataQuality', context, { cwd })),
      rejection(runIsolated('./bad-result.mjs', 'estimate', context, { cwd })),
    ]);
    expect((shape as UpgradeKitError).context.fault).toBe('bad-result');
    expect((shape as Error).message).toContain('`[0].severity`');
    expect((shape as Error).message).toContain('`[0].offending`');
    expect((shape as Error).message).toContain('Unrecognized key: "extra"');
    expect((bigint as UpgradeKitError).context.fault).toBe('bad-result');
    expect((bigint as Error).message).toContain('`[0].durationMs` is a bigint');
  });

  it('cancellation through the signal kills the child', async () => {
    const { events, logs } = recordLogs();
    const controller = new AbortController();
    const pending = runIsolated('./spawner.mjs', 'resources', context, {
      cwd,
      events,
      signal: controller.signal,
    });
    const deadline = Date.now() + 5000;
    while (!logs.some((log) => log.fields?.helperPid) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    controller.abort(new Error('operator pressed Ctrl-C'));
    const error = await rejection(pending);
    expect(isUpgradeKitError(error, 'UPGRADEKIT_ABORTED')).toBe(true);
    const childPid = logs.find((log) => log.fields?.pid)?.fields?.pid as number;
    const helperPid = logs.find((log) => log.fields?.helperPid)?.fields?.helperPid as number;
    expect(await waitUntilGone(childPid)).toBe(true);
    expect(await waitUntilGone(helperPid)).toBe(true);
  });

  it('this process survives all of the above and still runs plugins', async () => {
    expect(await runIsolated('./slow.mjs', 'compatibility', context, { cwd })).toEqual({
      rollingCompatible: true,
      incompatible: [],
    });
  });
});

describe('runIsolated: when the run itself dies', () => {
  it('a plugin stuck in a loop does not outlive a SIGKILLed parent', async () => {
    const parent = spawn(process.execPath, ['--import', 'tsx', join(fixtures, 'orphan-parent.ts')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const childPid = await new Promise<number>((resolve, reject) => {
      let out = '';
      parent.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
      parent.once('exit', () => reject(new Error(`the parent exited early: ${out}`)));
    });
    // The plugin pauses 20 ms before its loop; be sure it is in it, deaf to everything.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(isGone(childPid)).toBe(false);
    parent.kill('SIGKILL');
    // Its IPC channel closes, but a synchronous loop cannot hear that: the watchdog thread acts.
    expect(await waitUntilGone(childPid, 3000)).toBe(true);
  });
});
